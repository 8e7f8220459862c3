#!/usr/bin/env bash
# Issue 16 on one GPU: causal linear attention with decay (Hq 32 / Hkv 8, d 128, bf16, γ = 0.999) through the job path
# (synthetic inputs: each shard makes its rows on the device's host; the ring phase is what is compared), beside the
# PyTorch chunkwise peer (bench/peers/torch_linear.py) on the same shape in the same call. Run on the device machine
# from the repo root with .device/ringattn (bench/device-prepare.sh).
#   PART=verify  linear jobs on the GPU (R 1, 3, 8; causal with decay and not; gather and ring) against float64, head dims
#                $DIMS, dtypes $DTYPES (bf16, f16, f32)
#   PART=bench   ours at $TOKENS (R in $SHARDS, both exchanges), softmax at $SOFTMAX_TOKENS, the peer at $PEER_TOKENS
set -euo pipefail
out=${OUT:-/tmp/out}; work=${WORK:-/tmp/ringattn-linear}; mkdir -p "$out" "$work"
cli=.device/ringattn/ringattn
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
case ${PART:-bench} in
  verify)
    for dtype in ${DTYPES:-bf16}; do for dim in ${DIMS:-128 64}; do
      in=$work/v$dim.safetensors
      $cli gen --output $in --tokens 4099 --heads 8 --kv-heads 2 --head-dim $dim --dtype $dtype > /dev/null
      for args in "--causal --decay 0.99 --shards 1" "--causal --decay 0.999 --shards 3 --exchange ring" "--shards 8" "--causal --shards 8 --no-normalize --feature-map identity"; do
        $cli run --inputs $in --output $work/o.safetensors --attention linear $args --force > "$out/verify-run.log" 2>&1 || { cat "$out/verify-run.log"; exit 1; }
        python3 bench/peers/torch_linear.py --verify $in $work/o.safetensors | tee -a "$out/verify.jsonl"
      done
    done; done
    ;;
  bench)
    for t in ${PEER_TOKENS:-1048576}; do
      python3 bench/peers/torch_linear.py --tokens $t --decay 0.999 --reps ${PEER_REPS:-3} --heads-at-once $(( t > 2000000 ? 1 : 4 )) | tee -a "$out/peer.jsonl"
    done
    COLUMNS=200 $cli bench linear --tokens ${TOKENS:-131072,1048576} --shards ${SHARDS:-1,8} --exchange ${EXCHANGE:-gather,ring} \
      --repeat ${REPEAT:-3} --max-job-memory 400000000000 --dir $work --json > "$out/linear.json" 2> "$out/linear.log"
    grep -E "^(linear|softmax) T=" "$out/linear.log" || true
    if [[ -n ${SOFTMAX_TOKENS:-} ]]; then
      COLUMNS=200 $cli bench linear --tokens $SOFTMAX_TOKENS --shards 8 --exchange gather --softmax \
        --repeat ${REPEAT:-3} --max-job-memory 400000000000 --dir $work --json > "$out/softmax.json" 2> "$out/softmax.log"
      grep -E "^(linear|softmax) T=" "$out/softmax.log" || true
    fi
    ;;
esac
