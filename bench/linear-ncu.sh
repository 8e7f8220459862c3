#!/usr/bin/env bash
# ncu of the linear-attention kernels on one H200 (issue 16): one job of $TOKENS tokens (32/8 heads, d 128, bf16, causal,
# γ = 0.999) in one piece per 16,384 tokens; the first $LAUNCHES kernel launches named like the linear kernels, with
# duration, throughput, occupancy and launch statistics. Run from the repo root with .device/ringattn.
set -euo pipefail
out=${OUT:-/tmp/out}; work=${WORK:-/tmp/ncu-linear}; mkdir -p "$out" "$work"
bin=${BIN:-.device/ringattn/ringattn}
$bin gen --output $work/in.safetensors --tokens ${TOKENS:-16384} --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 > /dev/null
ncu --kernel-name regex:"${KERNELS:-ChunkStates|Scan|Output}" --launch-count ${LAUNCHES:-6} --section SpeedOfLight --section Occupancy --section LaunchStats ${SECTIONS:-} \
  $bin run --inputs $work/in.safetensors --output $work/o.safetensors --attention linear --causal --decay 0.999 --shards ${SHARDS:-1} \
  --device cuda:0 --silos 1 --force > "$out/ncu-linear.txt" 2>&1 || true
grep -E "ChunkStates|Scan|Output|Duration|DRAM Throughput|Memory Throughput|Compute \(SM\)|Registers Per|Achieved Occupancy|Theoretical Occupancy|Grid Size|Block Size|Shared Memory Config" "$out/ncu-linear.txt" | tee "$out/ncu-linear-summary.txt"
