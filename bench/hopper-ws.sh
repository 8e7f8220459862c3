#!/usr/bin/env bash
# Issue 14, the warp-specialized Hopper kernel (ADR 22), one device call on nvidia-h200 (repo root, .device/ringattn carried):
#   ptxas   the generated PTX assembled for sm_90a (registers, spills, errors) before anything runs
#   smoke   one small launch of each path with a timeout (a wrong mbarrier protocol hangs rather than fails)
#   speed   ours (--ws 1: warp-specialized; --ws 0: the ILGPU wgmma kernel) vs PyTorch SDPA flash and cuDNN in the
#           same run (bench/device_bench.py), TOKENS x HEADS x causal 0/1, DTYPES
# Results: $OUT/ptxas.txt, $OUT/{ws,ilgpu}/kernel.jsonl, one line per figure on stdout.
set -uo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out/ws" "$out/ilgpu"
bin=.device/ringattn/ringattn
ptxas=$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)
for f in src/Kernels/RingAttention.Kernels.Gpu/Hopper/*.g.ptx; do
  echo "== $f" | tee -a "$out/ptxas.txt"
  "$ptxas" -arch=sm_90a -v "$f" -o "$out/$(basename "$f" .ptx).cubin" 2>&1 | tail -8 | tee -a "$out/ptxas.txt"
done
part=${PART:-smoke,speed}
tokens=${TOKENS:-4096,16384,32768}; heads=${HEADS:-32/32,32/8}; dtypes=${DTYPES:-bf16,f16}
if [[ $part == *smoke* ]]; then
  for ws in 1 0; do
    timeout 120 $bin bench kernel --ws $ws --dims 128 --tokens 1000,4096 --heads 8/2 --dtypes bf16 --causal 0,1 --reps 3 2>&1 | grep -E "T=|rror|xception" | head -20
    echo "smoke ws=$ws exit $?"
  done
fi
if [[ $part == *speed* ]]; then
  for ws in 1 0; do
    dir=$([[ $ws == 1 ]] && echo ws || echo ilgpu)
    timeout 400 python3 bench/device_bench.py $bin "$out/$dir" --ws $ws --dims 128 --tokens $tokens --heads $heads --dtypes $dtypes --causal 0,1 --reps 10 2>&1 | grep -E "^bf16|^f16|exit code|rror"
  done
fi
