#!/usr/bin/env bash
# ncu of the split-K decode kernels on one H200 (issue 15): a context of $KEYS tokens (32/8 heads, d 128, bf16) in a
# session of $SHARDS shards on cuda:0, pages of $PAGE tokens, then one attend of n = 1 row under ncu (SpeedOfLight and
# occupancy of the split and merge launches).
set -euo pipefail
out=${OUT:-/tmp/out}; work=${WORK:-/tmp/ncu}; mkdir -p "$out" "$work"
bin=${BIN:-.device/ringattn/ringattn}
keys=${KEYS:-131072}
common=(--device cuda:0 --silos 1 --session-root $work/root)
$bin gen --output $work/kv.safetensors --tokens $keys --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 > /dev/null
$bin gen --output $work/q.safetensors --tokens 1 --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 --seed 1 > /dev/null
$bin session create s --inputs $work/kv.safetensors --causal --shards ${SHARDS:-1} --page-tokens ${PAGE:-16384} "${common[@]}" > /dev/null 2>&1
ncu --kernel-name regex:'Split|Run' --launch-count ${LAUNCHES:-2} --section SpeedOfLight --section Occupancy --section LaunchStats ${SECTIONS:-} \
  $bin session attend s --queries $work/q.safetensors --q-offset $((keys - 1)) --output $work/o.safetensors --force "${common[@]}" > "$out/ncu.txt" 2>&1 || true
grep -E "Split|Run|Duration|DRAM Throughput|Memory Throughput|Compute \(SM\)|Registers Per|Achieved Occupancy|Theoretical Occupancy|Grid Size|Block Size" "$out/ncu.txt" | tee -a "$out/summary.txt"
