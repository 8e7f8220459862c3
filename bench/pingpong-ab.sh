#!/usr/bin/env bash
# A/B of a generator change to the warp-specialized Hopper kernels (issue 14): two trimmed builds carried together,
# .device/base/ringattn (the commit before, `git worktree add /tmp/base REV && /tmp/base/scripts/release.sh
# .device/base`) and .device/ringattn/ringattn (bench/device-prepare.sh), timed alternately in one call on nvidia-h200
# (our kernel only: the peers of the same shapes come from bench/hopper-ws.sh's speed part, run after it).
# First the new PTX is assembled (ptxas) and launched small with a timeout: a wrong barrier protocol hangs.
# usage: bash bench/pingpong-ab.sh            (repo root on the GPU machine; ROUNDS, default 2)
set -uo pipefail
PART=smoke,fp8smoke DIMS=128 bash bench/hopper-ws.sh 2>&1 | grep -E "Used|spill|rror|T=|exit" | sort | uniq -c | sort -rn | head -30
for round in $(seq 1 "${ROUNDS:-2}"); do
  for build in base ringattn; do
    bin=.device/$build/ringattn
    timeout 240 $bin bench kernel --ws 1 --dims 64,128,256 --tokens 4096,16384 --heads 32/8 --dtypes bf16 --causal 0,1 --reps 10 2>&1 \
      | grep -E "T=|rror" | sed "s/^/$build r$round /"
    timeout 240 $bin bench kernel --ws 1 --dims 128,256 --tokens 16384 --heads 32/8 --dtypes fp8 --causal 0,1 --reps 10 2>&1 \
      | grep -E "T=|rror" | sed "s/^/$build r$round /"
  done
done
