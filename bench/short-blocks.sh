#!/usr/bin/env bash
# Issue 14, short query blocks on the warp-specialized Hopper kernel (GQA heads packed into a tile, keys split over
# blocks: WarpSpecializedPlan), one device call on nvidia-h200 (repo root, .device/ringattn carried):
#   check   (PART=check) jobs of n queries against $KEYS keys (`run --queries`, the last n positions) on cuda:0 through
#           the kernel, each output checked by `ringattn verify` against float64 (every row: n <= 64 sampled rows);
#           CASES lines "dtype dim hq/hkv n shards mask" (mask: causal, none or wN, a causal window of N)
#   speed   (PART=speed) `bench kernel --queries` with the plan on and off (--short-blocks 1 / 0), then PyTorch SDPA
#           (flash, cuDNN) on the same shapes (bench/peers/sdpa_decode.py: q [1, 32, n, 128] against k, v [1, 8, T,
#           128], no mask), all in this call; ROWS x SPEED_KEYS
#   decode  (PART=decode) the rows the split-K decode kernels take (n x group <= 64) timed on them (--decode 1), on
#           the planned warp-specialized kernel (--decode 0) and as the backend chooses (one run of K/V from 16K keys:
#           the latter), DECODE_ROWS x DECODE_KEYS, then SDPA on the same shapes
# Results: one line per figure on stdout and $OUT/summary.txt; $OUT/plan<0|1>.json (the bench's JSON).
set -uo pipefail
out=${OUT:-/tmp/out}; work=${WORK:-/tmp/short}; mkdir -p "$out" "$work"
bin=.device/ringattn/ringattn
part=${PART:-check,speed}
has() { [[ ",$part," == *",$1,"* ]]; }
keys=${KEYS:-20011}
cases=${CASES:-"bf16 128 32/8 1 1 causal;bf16 64 32/4 4 1 w3000;bf16 128 32/8 24 1 causal;bf16 128 32/8 48 3 none;f16 128 32/4 16 1 causal;bf16 64 32/8 32 1 w5000;f16 64 32/16 8 2 causal;bf16 256 16/4 30 1 causal;bf16 96 32/8 100 1 none;bf16 128 8/8 64 1 causal;bf16 128 32/8 1000 3 causal"}
if has check; then
  IFS=';' read -ra list <<< "$cases"
  for c in "${list[@]}"; do
    read -r dt d heads n shards mask <<< "$c"
    hq=${heads%/*}; hkv=${heads#*/}
    kv=$work/kv-$dt-$d-$hq-$hkv.safetensors
    [[ -f $kv ]] || $bin gen --output $kv --tokens $keys --heads $hq --kv-heads $hkv --head-dim $d --dtype $dt > /dev/null
    $bin gen --output $work/q.safetensors --tokens $n --heads $hq --kv-heads $hkv --head-dim $d --dtype $dt --seed $((n + 3)) > /dev/null
    flags=(); case $mask in causal) flags=(--causal);; w*) flags=(--causal --window ${mask#w});; esac
    if ! $bin run --inputs $kv --queries $work/q.safetensors --output $work/o.safetensors "${flags[@]}" --shards $shards \
        --device cuda:0 --silos 1 --force > "$out/run.txt" 2>&1; then
      echo "check $c: run failed: $(tail -3 "$out/run.txt" | tr '\n' ' ')" | tee -a "$out/summary.txt"; continue
    fi
    v=$($bin verify --output $work/o.safetensors --rows 64 2>&1 | grep -E "checked|passed|failed|error" | tr '\n' ' ')
    echo "check $c (keys $keys): $v" | tee -a "$out/summary.txt"
  done
fi
# ours NAME ROWS KEYS FLAGS...: `bench kernel --queries ROWS --tokens KEYS FLAGS` into $out/NAME.json, one line a figure
ours() {
  local name=$1 rows=$2 keys=$3; shift 3
  timeout 240 $bin bench kernel "$@" --queries $rows --tokens $keys --heads 32/8 --dims 128 --dtypes bf16 \
    --causal 0 --reps 20 --json > "$out/$name.json" 2> "$out/$name.err"
  echo "== $name (exit $?)" | tee -a "$out/summary.txt"
  python3 - "$out/$name.json" <<'PY' | tee -a "$out/summary.txt"
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"ours n={r['queryRows']} keys={r['tokens']} {r['kernel']}: median {r['medianMs']:.4f} ms, {r['tflops']:.0f} TFLOP/s, max rel err {r['maxRelErr']:.1e}")
PY
}
rows=${ROWS:-16,32,64,128}; skeys=${SPEED_KEYS:-16384,131072}
if has speed; then
  for plan in 1 0; do ours plan$plan $rows $skeys --short-blocks $plan; done
  python3 bench/peers/sdpa_decode.py --keys $skeys --rows $rows --backends flash,cudnn 2>&1 | tee -a "$out/summary.txt"
fi
drows=${DECODE_ROWS:-1,4,16}; dkeys=${DECODE_KEYS:-16384,131072,1048576}
if has decode; then
  ours decode1 $drows $dkeys --decode 1
  ours decode0 $drows $dkeys --decode 0
  ours decode-default $drows $dkeys
  python3 bench/peers/sdpa_decode.py --keys $dkeys --rows $drows --backends flash,cudnn 2>&1 | tee -a "$out/summary.txt"
fi
