#!/usr/bin/env bash
# Session attend latency on one H200 (issue 15's measurement, first figures): a context of $KEYS tokens (32/8 heads,
# d 128, bf16) in a session of R = 8 shards on $DEVICE (default cuda:0; cuda = every GPU of the host), pages of $PAGES tokens (each its own session), attends of
# n = 1 and 16 rows at the end of the context repeated in one process (median of the warm ones, timed at the session
# grain); PyTorch SDPA (flash, cuDNN, efficient) of the same shapes on the same GPU in the same call: q [1, 32, n, 128]
# against k, v [1, 8, KEYS, 128] with enable_gqa, no mask (the last n rows see all but at most 15 keys: same cost);
# SDPA=0 leaves it out (an A/B of two builds in one call runs it once). BIN: the binary (default .device/ringattn).
# TIMELINE=1: each attend command also prints where its last attend's time went (`session attend --timeline`), kept
# with its whole output in $OUT/attend-p<page>-n<n>.txt. REPEAT: attends per row count (default 20; the median is of all
# but the first, so a larger count weighs the steady state, after .NET's tiered JIT has optimised the host path).
# ROWS: the attends' row counts (default "1 16"; "4096" is a chunked prefill's size, the append's attend).
# TIERED: .NET's tiered JIT for the CLI's process, default 0 (off), as the silo images run it (deploy/Dockerfile.*):
# with it on, the host path of the first few dozen attends runs unoptimised (bench/NOTES.md v18: 4.65 vs 2.64 ms).
set -euo pipefail
export DOTNET_TieredCompilation=${TIERED:-0}
out=${OUT:-/tmp/out}; work=${WORK:-/tmp/decode}; mkdir -p "$out" "$work"
bin=${BIN:-.device/ringattn/ringattn}
keys=${KEYS:-1048576}
common=(--device ${DEVICE:-cuda:0} --silos 1 --session-root $work/root)
$bin gen --output $work/kv.safetensors --tokens $keys --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 > /dev/null
rows=${ROWS:-1 16}
for n in $rows; do $bin gen --output $work/q-$n.safetensors --tokens $n --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 --seed $n > /dev/null; done
for page in ${PAGES:-256 16384}; do
  $bin session create p$page --inputs $work/kv.safetensors --causal --shards ${SHARDS:-8} --page-tokens $page "${common[@]}" 2>&1 | grep "pages hold" | sed "s/^/page $page: /" | tee -a "$out/summary.txt"
  for n in $rows; do
    $bin session attend p$page --queries $work/q-$n.safetensors --q-offset $((keys - n)) --output $work/o.safetensors --force --repeat ${REPEAT:-20} \
      ${TIMELINE:+--timeline} "${common[@]}" > "$out/attend-p$page-n$n.txt" 2>&1
    grep -E "median" "$out/attend-p$page-n$n.txt" | sed "s/^/R=${SHARDS:-8} page $page n=$n: /" | tee -a "$out/summary.txt"
  done
  $bin session drop p$page "${common[@]}" > /dev/null 2>&1
done
[[ ${SDPA:-1} == 1 ]] && python3 bench/peers/sdpa_decode.py --keys "$keys" --rows "${rows// /,}" | tee -a "$out/summary.txt"
