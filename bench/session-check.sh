#!/usr/bin/env bash
# Sessions on the GPU (issue 15), one device call: a context of $KEYS tokens (32/8 heads, d 128, bf16) made a session
# on cuda:0 (R = 4 shards, pages of $PAGE tokens), then attends of n = 1 and 16 rows at the last n positions, each
# compared with the one-shot job of the same queries (`run --queries`, float64-verified) on the same device. Each
# command is its own process (the session reloads its pages from storage), so the attend time printed includes that
# reload: a correctness check, not a latency measurement.
set -euo pipefail
out=${OUT:-/tmp/out}; work=${WORK:-/tmp/sessions}; mkdir -p "$out" "$work"
bin=.device/ringattn/ringattn
keys=${KEYS:-65536}; page=${PAGE:-4096}
common=(--device cuda:0 --silos 1 --session-root $work/root)
$bin gen --output $work/kv.safetensors --tokens $keys --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 > /dev/null
$bin session create ctx --inputs $work/kv.safetensors --causal --shards 4 --page-tokens $page "${common[@]}" 2>&1 | grep -v "^embedded" | tee -a "$out/summary.txt"
for n in ${ROWS:-1 16}; do
  $bin gen --output $work/q-$n.safetensors --tokens $n --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 --seed $((n + 7)) > /dev/null
  $bin session attend ctx --queries $work/q-$n.safetensors --q-offset $((keys - n)) --output $work/s-$n.safetensors --force "${common[@]}" 2>&1 \
    | grep attended | sed "s/^/session n=$n: /" | tee -a "$out/summary.txt"
  $bin run --inputs $work/kv.safetensors --queries $work/q-$n.safetensors --output $work/j-$n.safetensors --causal --shards 1 \
    --device cuda:0 --silos 1 --force > /dev/null 2>&1
  v=$($bin verify --output $work/j-$n.safetensors --rows 64 2>&1 | grep -E "checked|passed|failed" | tr '\n' ' ')
  python3 bench/peers/outputs.py $work/j-$n.safetensors $work/s-$n.safetensors "n=$n: session vs one-shot job" " | job $v" | tee -a "$out/summary.txt"
done
$bin session stats ctx "${common[@]}" 2>&1 | grep -E "pages hold" | tee -a "$out/summary.txt"
