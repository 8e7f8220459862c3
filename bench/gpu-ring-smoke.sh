#!/usr/bin/env bash
# First end-to-end ring job on a GPU silo: an embedded cluster of one silo on the H100 (Silo:Device=auto picks CUDA),
# 64K tokens, Hq=32, Hkv=8, D=128, bf16, causal, R = 1 and 4 shards; checked with torch_attention.py and timed beside
# SDPA in the same call. Run on the device machine from the repo root with .device/ringattn (the trimmed self-contained
# ringattn of bench/device-prepare.sh) and bench/peers/torch_attention.py.
set -euo pipefail
out=${OUT:-/tmp/out}; work=/tmp/ringattn-smoke; mkdir -p "$out" "$work"
cli=.device/ringattn/ringattn
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
/usr/bin/time -f "gen %e s" $cli gen --output $work/qkv.safetensors --tokens 65536 --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16
for r in 1 8; do
  COLUMNS=200 $cli run --inputs $work/qkv.safetensors --output $work/o$r.safetensors --causal --shards $r --silos 1 2>&1 | tee "$out/run-r$r.log" | grep -E "embedded|wall time|kernel time|GFLOP|shards|wait for"
done
python3 bench/peers/torch_attention.py check --inputs $work/qkv.safetensors --output $work/o8.safetensors --causal --rows 1024 2>&1 | tee "$out/check.log"
python3 bench/peers/torch_attention.py bench --tokens 65536 --hq 32 --hkv 8 --dim 128 --dtype bf16 --causal --reps 5 2>&1 | tee "$out/sdpa.log"
