#!/usr/bin/env bash
# Queries of another length on the GPU (issue 15's primitive), one device call: a K/V file of $KEYS tokens (32/8 heads,
# bf16 and f16, d 128 and 96) and query files of n rows, run on cuda:0 with --queries (default offset: the last n
# positions, causal), then `ringattn verify` (float64, every sampled row) on each output.
set -euo pipefail
out=${OUT:-/tmp/out}; work=${WORK:-/tmp/queries}; mkdir -p "$out" "$work"
bin=.device/ringattn/ringattn
keys=${KEYS:-65536}
for cfg in "bf16 128" "f16 96"; do
  set -- $cfg; dt=$1; d=$2
  $bin gen --output $work/kv-$dt-$d.safetensors --tokens $keys --heads 32 --kv-heads 8 --head-dim $d --dtype $dt > /dev/null
  for n in 1 16 1000; do
    shards=$(( n < 4 ? n : 4 ))
    $bin gen --output $work/q-$n.safetensors --tokens $n --heads 32 --kv-heads 8 --head-dim $d --dtype $dt > /dev/null
    $bin run --inputs $work/kv-$dt-$d.safetensors --queries $work/q-$n.safetensors --output $work/o.safetensors --causal \
      --shards $shards --device cuda:0 --silos 1 --force --json > "$out/run.json" 2> "$out/run.err" || { tail -5 "$out/run.err"; continue; }
    v=$($bin verify --output $work/o.safetensors --rows 64 2>&1 | grep -E "checked|passed|failed" | tr '\n' ' ')
    python3 - "$out/run.json" "$dt" "$d" "$n" "$shards" "$v" <<'PY' | tee -a "$out/summary.txt"
import json, sys
j = json.load(open(sys.argv[1]))["job"]
print(f"{sys.argv[2]} d={sys.argv[3]} keys={j['tokens']} n={sys.argv[4]} shards={sys.argv[5]} on {j['backends']}: wall {j['wallSeconds']:.3f} s, ring {j['ringSeconds']:.4f} s | {sys.argv[6]}")
PY
  done
done
