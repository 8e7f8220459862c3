#!/usr/bin/env bash
# A/B of generator changes to the warp-specialized Hopper kernels (issue 14): trimmed builds carried together in
# .device/<build>/ringattn (bench/device-prepare.sh makes .device/ringattn; a variant: scripts/release.sh .device/NAME,
# or `git worktree add /tmp/base REV && /tmp/base/scripts/release.sh .device/base` for the commit before), timed
# alternately in one call on nvidia-h200 (our kernel only: the peers of the same shapes come from bench/hopper-ws.sh's
# speed part). First each build's small launches with a timeout (a wrong barrier protocol hangs rather than fails) and
# the new PTX through ptxas.
#   BUILDS  builds in .device, default "base ringattn"
#   CASES   ';'-separated `ringattn bench kernel` argument sets, default the ping-pong A/B of NOTES v14
#   ROUNDS  default 2
#   PTX     kernels to run through ptxas, default "ring_ws_e4m3_d128 ring_ws_bf16_d128"
# usage: bash bench/kernel-ab.sh            (repo root on the GPU machine)
set -uo pipefail
builds=${BUILDS:-base ringattn}
cases=${CASES:-"--dims 64,128,256 --tokens 4096,16384 --heads 32/8 --dtypes bf16 --causal 0,1;--dims 128,256 --tokens 16384 --heads 32/8 --dtypes fp8 --causal 0,1"}
ptxas=$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)
for k in ${PTX:-ring_ws_e4m3_d128 ring_ws_bf16_d128}; do   # the working tree's PTX (that of .device/ringattn)
  echo "ptxas $k: $("$ptxas" -arch=sm_90a -v src/Kernels/RingAttention.Kernels.Gpu/Hopper/$k.g.ptx -o /dev/null 2>&1 | grep -E "Used|spill|rror|C7" | tr '\n' ' ')"
done
for build in $builds; do
  timeout 120 .device/$build/ringattn bench kernel --ws 1 --dims 128 --tokens 1000 --heads 8/2 --dtypes bf16,fp8 --causal 0,1 --reps 3 2>&1 \
    | grep -E "T=|rror|xception" | sed "s/^/$build smoke /"
done
IFS=';' read -ra sets <<< "$cases"
for round in $(seq 1 "${ROUNDS:-2}"); do
  for build in $builds; do
    for set in "${sets[@]}"; do
      timeout 240 .device/$build/ringattn bench kernel --ws 1 $set --reps 10 2>&1 | grep -E "T=|rror" | sed "s/^/$build r$round /"
    done
  done
done
