#!/usr/bin/env bash
# Ring efficiency on one GPU (issue 4, measurement 2, at 256K tokens): the same causal attention (Hq=32, Hkv=8, D=128,
# bf16) with R = 1, 2, 4, 8, 16 shard grains of an embedded one-silo cluster on the device, 3 warm runs each in one
# process (`ringattn bench ring`: the first run of a process also loads the kernels), beside PyTorch SDPA on the same
# shape in the same call, and the R=16 output checked by the PyTorch oracle too.
# Run on the device machine from the repo root with .device/ringattn (bench/device-prepare.sh).
set -euo pipefail
out=${OUT:-/tmp/out}; work=/tmp/ringattn-eff; mkdir -p "$out" "$work"
cli=.device/ringattn/ringattn
tokens=${TOKENS:-262144}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
COLUMNS=200 $cli bench ring --tokens "$tokens" --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 --causal \
  --shards 1,2,4,8,16 --repeat 3 --silos 1 --max-job-memory 60000000000 --check-rows 512 --dir "$work" --json \
  > "$out/ring.json" 2> >(tee "$out/efficiency.log" >&2)
python3 bench/peers/torch_attention.py check --inputs $work/qkv.safetensors --output $work/o16.safetensors --causal --rows 512 2>&1 | tee "$out/check.log"
python3 bench/peers/torch_attention.py bench --tokens "$tokens" --hq 32 --hkv 8 --dim 128 --dtype bf16 --causal --reps 3 2>&1 | tee "$out/sdpa.log"
