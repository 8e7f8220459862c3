#!/usr/bin/env bash
# The split-K decode kernels alone on one GPU (issue 15; NOTES.md v10): `ringattn bench decode` times the float
# kernel and the tensor-core one on the same paged K/V (32/8 heads, d 128, $KEYS keys of one shard, pages of $PAGE
# tokens, $ROWS query rows at the end of the context) and compares their outputs; PyTorch SDPA (flash, cuDNN) of the
# same q against the same-size K/V in the same call (q [1, 32, n, 128], k, v [1, 8, T, 128], enable_gqa, no mask).
set -euo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
bin=${BIN:-.device/ringattn/ringattn}
keys=${KEYS:-131072,1048576}; rows=${ROWS:-1,2}
# Rows the float kernel takes too (A/B), then rows only the tensor-core kernel takes (n = 16 at GQA 4: 64 vectors).
runs=("$rows float,mma" "${ROWS_MMA:-16} mma")
for dtype in ${DTYPES:-bf16}; do
  for i in "${!runs[@]}"; do
    set -- ${runs[$i]}
    $bin bench decode --keys $keys --rows $1 --kernels $2 --dtype $dtype --page-tokens ${PAGE:-16384} --reps ${REPS:-20} --json \
      > "$out/decode-$dtype-$i.json" 2> "$out/decode-$dtype-$i.err" || { cat "$out/decode-$dtype-$i.err"; exit 1; }
    python3 -c "import json,sys; [print(f\"ours {r['dtype']} keys={r['keys']} n={r['rows']} {r['kernel']}: median {r['medianMs']:.3f} ms, {r['gBps']:.0f} GB/s, |o diff| {r['maxOutputDiff']:.1e}, |lse diff| {r['maxLseDiff']:.1e}, finite {r['finite']}\") for r in json.load(open(sys.argv[1]))['results']]" \
      "$out/decode-$dtype-$i.json" | tee -a "$out/summary.txt"
  done
done
python3 bench/peers/sdpa_decode.py --keys "$keys" --rows "$rows,${ROWS_MMA:-16}" --backends flash,cudnn | tee -a "$out/summary.txt"
