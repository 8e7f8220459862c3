#!/usr/bin/env bash
# Tuning the tensor-core decode kernel and finding where a session attend's time goes (issue 15, NOTES v11), one
# device call, each part into its own folder of $OUT:
#   1. bench decode: the float and tensor-core kernels at several chunk targets (warps a launch aims at), 131072 and
#      1M keys of one shard, n = 1 and 16; outputs compared with the first kernel's.
#   2. ncu of the tensor-core kernel at 131072 keys, n = 1 and 16 (warp states, instructions, the memory workload).
#   3. a 1M-token session of 8 shards on one GPU: 6 attends of n = 1 (the per-turn split into lane wait, q upload,
#      accumulator, kernels and download in bench/results came from a build with timers in the shard's turn, not kept).
set -uo pipefail
out=${OUT:-/tmp/out}; bin=${BIN:-.device/ringattn/ringattn}; work=${WORK:-/tmp/tune}
mkdir -p "$out/bench" "$out/ncu" "$out/probe" "$work"
targets=${TARGETS:-4096,3168,6144,8192}
for rows in 1 16; do
  $bin bench decode --keys ${KEYS:-131072,1048576} --rows $rows --kernels ${KERNELS:-mma} --target-warps $targets --reps 20 --json \
    > "$out/bench/decode-$rows.json" 2> "$out/bench/decode-$rows.err"
  python3 -c "import json,sys; [print(f\"n={r['rows']} keys={r['keys']} {r['kernel']} warps={r['targetWarps']}: median {r['medianMs']:.3f} ms, {r['gBps']:.0f} GB/s, |o diff| {r['maxOutputDiff']:.1e}, finite {r['finite']}\") for r in json.load(open(sys.argv[1]))['results']]" \
    "$out/bench/decode-$rows.json" | tee -a "$out/bench/summary.txt"
done
for rows in 1 16; do
  for k in mma; do
    ncu --kernel-name regex:'Split' --launch-count 1 --launch-skip 1 --section SpeedOfLight --section Occupancy --section LaunchStats \
      --section WarpStateStats --section MemoryWorkloadAnalysis --section InstructionStats \
      $bin bench decode --keys 131072 --rows $rows --kernels $k --reps 1 > "$out/ncu/$k-$rows.txt" 2>&1
    echo "== $k n=$rows" >> "$out/ncu/summary.txt"
    grep -E "Duration|DRAM Throughput|Registers Per|Achieved Occupancy|Theoretical Occupancy|Executed Ipc A|Warp Cycles Per Issued|L1/TEX Hit|Executed Instructions  " "$out/ncu/$k-$rows.txt" >> "$out/ncu/summary.txt"
  done
done
cat "$out/ncu/summary.txt"
keys=1048576
common=(--device cuda:0 --silos 1 --session-root $work/root)
$bin gen --output $work/kv.safetensors --tokens $keys --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 > /dev/null
$bin gen --output $work/q.safetensors --tokens 1 --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 --seed 1 > /dev/null
$bin session create s --inputs $work/kv.safetensors --causal --shards 8 --page-tokens 16384 "${common[@]}" > /dev/null 2>&1
$bin session attend s --queries $work/q.safetensors --q-offset $((keys - 1)) --output $work/o.safetensors --force --repeat 6 "${common[@]}" \
  > "$out/probe/attend.txt" 2>&1
grep -E "median" "$out/probe/attend.txt" | tail -40
