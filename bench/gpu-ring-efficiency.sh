#!/usr/bin/env bash
# Ring efficiency on one GPU (issue 4, measurement 2, at 256K tokens): the same causal attention (Hq=32, Hkv=8, D=128,
# bf16) with R = 1, 2, 4, 8, 16 shard grains of an embedded one-silo cluster on the device, 3 warm runs each in one
# process (the first run of a process also loads the kernels), beside PyTorch SDPA on the same shape in the same call.
# Run on the device machine from the repo root with .device/cli (publish command in bench/results/gpu-ring-smoke.md).
set -euo pipefail
out=${OUT:-/tmp/out}; work=/tmp/ringattn-eff; mkdir -p "$out" "$work"
cli=.device/cli/ringattn
tokens=${TOKENS:-262144}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
/usr/bin/time -f "gen %e s" $cli gen --output $work/qkv.safetensors --tokens $tokens --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16
for r in 1 2 4 8 16; do
  echo "== R=$r" | tee -a "$out/efficiency.log"
  COLUMNS=200 $cli run --inputs $work/qkv.safetensors --output $work/o$r.safetensors --causal --shards $r --silos 1 \
    --repeat 3 --max-job-memory 60000000000 2>&1 | tee "$out/run-r$r.log" | grep -E "embedded|^run |median" | tee -a "$out/efficiency.log"
done
python3 .device/tools/torch_attention.py check --inputs $work/qkv.safetensors --output $work/o8.safetensors --causal --rows 512 2>&1 | tee "$out/check.log"
python3 .device/tools/torch_attention.py bench --tokens $tokens --hq 32 --hkv 8 --dim 128 --dtype bf16 --causal --reps 3 2>&1 | tee "$out/sdpa.log"
