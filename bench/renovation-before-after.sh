#!/usr/bin/env bash
# Issue 12 items 1 and 4 on the GPU, one device call: .device/before/ringattn (the build before the one backend
# contract and the one merge) and .device/ringattn/ringattn (after).
#  1. correctness: the full device verify sweep (bench/device_verify.py) of the after build;
#  2. kernel speed: bench kernel, 16K tokens, 32/8 heads, d 128 and 64, bf16, causal and not, builds alternated twice;
#  3. the ring: 256K tokens, Hq 32 / Hkv 8, d 128, bf16, causal, 8 zigzag shards, --silos 1 and 2, 3 warm runs each;
#     outputs compared bitwise between the builds (the merge changed formula on the host only; the GPU epilogue's
#     arithmetic is the same, so its output should be bitwise equal).
set -euo pipefail
out=${OUT:-/tmp/out}; work=/tmp/renovation; mkdir -p "$out" "$work"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
mkdir -p "$out/verify"
python3 bench/device_verify.py .device/ringattn/ringattn "$out/verify" > "$out/verify.txt" 2>&1 || true
tail -4 "$out/verify.txt"
for round in 1 2; do
  for build in before after; do
    bin=.device/ringattn/ringattn; [ $build = before ] && bin=.device/before/ringattn
    $bin bench kernel --json --tokens 16384 --heads 32/8 --dims 128,64 --dtypes bf16 --causal 0,1 > "$out/kernel-$build-$round.json" 2> /dev/null
  done
done
python3 - "$out" <<'PY' | tee "$out/kernel.txt"
import json, sys, statistics
o = sys.argv[1]
def load(b, r): return {(x["dim"], x["causal"]): x["tflops"] for x in json.load(open(f"{o}/kernel-{b}-{r}.json"))["results"]}
for key in sorted(load("after", 1)):
    b = [load("before", r)[key] for r in (1, 2)]; a = [load("after", r)[key] for r in (1, 2)]
    print(f"d={key[0]} causal={key[1]}: before {b[0]:.1f}/{b[1]:.1f} TFLOP/s, after {a[0]:.1f}/{a[1]:.1f} TFLOP/s, after/before {statistics.mean(a)/statistics.mean(b):.3f}")
PY
.device/ringattn/ringattn gen --output $work/qkv.safetensors --tokens 262144 --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 > /dev/null
for silos in 1 2; do
  for build in before after; do
    bin=.device/ringattn/ringattn; [ $build = before ] && bin=.device/before/ringattn
    $bin run --inputs $work/qkv.safetensors --output $work/o-$build-$silos.safetensors --causal --shards 8 --silos $silos \
      --repeat 3 --max-job-memory 60000000000 --json > "$out/ring-$build-silos$silos.json" 2> "$out/ring-$build-silos$silos.err"
    python3 - "$out/ring-$build-silos$silos.json" "$build" "$silos" <<'PY' | tee -a "$out/ring.txt"
import json, statistics, sys
r = json.load(open(sys.argv[1])); j = r["job"]
print(f"{sys.argv[2]:6s} silos={sys.argv[3]} wall median {statistics.median(r['wallSeconds']):.3f} s (runs {', '.join(f'{w:.3f}' for w in r['wallSeconds'])}), "
      f"last run: K/V wait sum {j['waitSeconds']:.3f} s, kernel sum {j['kernelSeconds']:.3f} s, {j['bytesMoved']/1e9:.2f} GB in {j['remoteTransfers']} transfers, {j['localHandoffs']} hand-offs")
PY
  done
done
python3 - "$work" <<'PY' | tee -a "$out/ring.txt"
import sys, torch
from safetensors.torch import load_file
w = sys.argv[1]
for s in (1, 2):
    a, b = load_file(f"{w}/o-before-{s}.safetensors"), load_file(f"{w}/o-after-{s}.safetensors")
    print(f"silos={s}: o bitwise equal before/after: {torch.equal(a['o'], b['o'])}, lse equal: {torch.equal(a['lse'], b['lse'])}, max|o diff| {(a['o'].float()-b['o'].float()).abs().max().item():.3g}")
PY
.device/ringattn/ringattn verify --output $work/o-after-2.safetensors --rows 256 2>&1 | tail -2 | tee -a "$out/ring.txt"
