#!/usr/bin/env bash
# Issue 4 on one GPU: the 1M-token job (Hq=32, Hkv=8, D=128, bf16, causal, zigzag) from a safetensors file to a
# safetensors output, on an embedded one-silo cluster whose shards all use the device, beside PyTorch SDPA on the
# same shape in the same call. Run on the device machine from the repo root with .device/ringattn (the trimmed ringattn of
# bench/device-prepare.sh) and bench/peers/torch_attention.py.
#   PART=job         gen + the R=8 job (--repeat $REPEAT) + float64 check of its output + SDPA's own error on the same rows
#   PART=efficiency  the same attention with R in $SHARDS (--repeat $REPEAT each) on $SILOS silos (default 1; with 2,
#                    K/V blocks cross silos through the data plane); CHECK=1 checks each output against float64
#   PART=sdpa        torch_attention.py bench (flash, cuDNN) on the same shape
set -euo pipefail
out=${OUT:-/tmp/out}; work=${WORK:-/tmp/ringattn-million}; mkdir -p "$out" "$work"
cli=.device/ringattn/ringattn
tokens=${TOKENS:-1048576}; repeat=${REPEAT:-2}; part=${PART:-job}
input=$work/qkv-$tokens.safetensors
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
if [[ $part != sdpa && ! -f $input ]]; then
  /usr/bin/time -f "gen %e s" $cli gen --output $input --tokens $tokens --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 2>&1 | tee -a "$out/gen.log"
fi
silos=${SILOS:-1}
run() { # shards, output
  echo "== R=$1 on $silos silo(s)" | tee -a "$out/runs.log"
  COLUMNS=200 $cli run --inputs $input --output $2 --causal --shards $1 --silos $silos --repeat $repeat --max-job-memory 200000000000 2>&1 \
    | tee "$out/run-r$1-s$silos.log" | grep -E "embedded|^run |median|moved|error|rror" | tee -a "$out/runs.log"
}
case $part in
  job)
    run 8 $work/o8.safetensors
    rows=${ROWS:-2048}
    /usr/bin/time -f "check %e s" python3 bench/peers/torch_attention.py check --inputs $input --output $work/o8.safetensors --causal --rows $rows 2>&1 | tee "$out/check.log"
    /usr/bin/time -f "sdpa-check %e s" python3 bench/sdpa_rows_check.py --inputs $input --causal --rows $rows 2>&1 | tee "$out/sdpa-check.log"
    ;;
  efficiency)
    for r in ${SHARDS:-1 2 4 8 16}; do
      run $r $work/o$r.safetensors
      if [[ ${CHECK:-0} == 1 ]]; then
        python3 bench/peers/torch_attention.py check --inputs $input --output $work/o$r.safetensors --causal --rows ${ROWS:-512} 2>&1 | tee "$out/check-r$r-s$silos.log"
      fi
      rm -f $work/o$r.safetensors
    done
    ;;
  sdpa)
    python3 bench/peers/torch_attention.py bench --tokens $tokens --hq 32 --hkv 8 --dim 128 --dtype bf16 --causal --reps ${SDPA_REPS:-1} 2>&1 | tee "$out/sdpa.log"
    ;;
esac
