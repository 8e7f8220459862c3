#!/usr/bin/env bash
# Issue 14, head dims other than 64/128, one device call on nvidia-h200 (repo root, .device/ringattn carried):
#   verify  the dims cases of bench/device_verify.py (every head-dim class, both dtypes, masks, GQA; float64 reference)
#   speed   our kernel vs PyTorch SDPA flash and cuDNN in the same run (bench/device_bench.py): DIMS at TOKENS, 32/8
#           heads, bf16, causal and not; then ours alone with 1 and 2 warpgroups per block for the 256-column tiles
# Results: $OUT/verify.jsonl, $OUT/kernel.jsonl, $OUT/wg.json, and one line per figure on stdout.
set -euo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
bin=.device/ringattn/ringattn
part=${PART:-verify,speed}
dims=${DIMS:-80,96,160,192,256}; tokens=${TOKENS:-8192,16384}
if [[ $part == *verify* ]]; then
  python3 bench/device_verify.py $bin "$out" dims 2>&1 | grep -E "^c[0-9]|SUMMARY|kernel .*Dx|exit code" | tee "$out/verify.txt"
fi
if [[ $part == *speed* ]]; then
  python3 bench/device_bench.py $bin "$out" --dims $dims --tokens $tokens --heads 32/8 --dtypes bf16 --causal 0,1 --reps 10 2>&1 | grep -E "^bf16|^f16|exit code" | tee "$out/speed.txt"
  for wg in 1 2; do
    $bin bench kernel --json --wg $wg --dims ${WG_DIMS:-160,192,256} --tokens 16384 --heads 32/8 --dtypes bf16 --causal 0,1 --reps 10 > "$out/wg$wg.json" 2> /dev/null || true
    python3 - "$out/wg$wg.json" $wg <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"wg={sys.argv[2]} d={r['dim']} causal={int(r['causal'])} {r.get('kernel')}: {r['tflops']:.1f} TFLOP/s")
PY
  done
fi
