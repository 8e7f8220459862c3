#!/usr/bin/env bash
# Issue 12 item 3: does a remote K/V piece upload wait behind the kernel? Same job, two builds in one device call:
# .device/before/ringattn (uploads of remote pieces on the compute lane) and .device/ringattn/ringattn (typed lanes:
# uploads always on the copy lane). 256K tokens, Hq 32 / Hkv 8, d 128, bf16, causal, 8 zigzag shards, one H200,
# --silos 1 (every hand-off in-process) vs --silos 2 (half the blocks cross the data plane and are uploaded in
# pieces). 3 warm runs each in one process; outputs compared bitwise between the builds.
set -euo pipefail
out=${OUT:-/tmp/out}; work=/tmp/lanes; mkdir -p "$out" "$work"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
.device/ringattn/ringattn gen --output $work/qkv.safetensors --tokens 262144 --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 > /dev/null
for silos in 1 2; do
  for build in before after; do
    bin=.device/ringattn/ringattn; [ $build = before ] && bin=.device/before/ringattn
    $bin run --inputs $work/qkv.safetensors --output $work/o-$build-$silos.safetensors --causal --shards 8 --silos $silos \
      --repeat 3 --max-job-memory 60000000000 --json > "$out/$build-silos$silos.json" 2> "$out/$build-silos$silos.err"
    python3 - "$out/$build-silos$silos.json" "$build" "$silos" <<'PY' | tee -a "$out/lanes.txt"
import json, statistics, sys
r = json.load(open(sys.argv[1])); j = r["job"]
print(f"{sys.argv[2]:6s} silos={sys.argv[3]} wall median {statistics.median(r['wallSeconds']):.3f} s (runs {', '.join(f'{w:.3f}' for w in r['wallSeconds'])}), "
      f"last run: K/V wait sum {j['waitSeconds']:.3f} s, kernel sum {j['kernelSeconds']:.3f} s, {j['bytesMoved']/1e9:.2f} GB in {j['remoteTransfers']} transfers, {j['localHandoffs']} hand-offs")
PY
  done
done
python3 - "$work" <<'PY' | tee -a "$out/lanes.txt"
import sys, torch
from safetensors.torch import load_file
w = sys.argv[1]
for s in (1, 2):
    a, b = load_file(f"{w}/o-before-{s}.safetensors"), load_file(f"{w}/o-after-{s}.safetensors")
    print(f"silos={s}: o bitwise equal before/after: {torch.equal(a['o'], b['o'])}, lse equal: {torch.equal(a['lse'], b['lse'])}")
PY
.device/ringattn/ringattn verify --output $work/o-after-2.safetensors --rows 256 2>&1 | tail -2 | tee -a "$out/lanes.txt"
