#!/usr/bin/env bash
# Issue 13 on nvidia-h200-x2, one device call, from the repo root with .device/ringattn (bench/device-prepare.sh):
#  1. the data plane between GPUs: two `ringattn silo --no-ipc` processes (cuda:0, cuda:1), so every block between them
#     goes device -> pinned host -> TCP -> host -> device, as between hosts; TOKENS (default "262144 1048576")
#  2. ring size at 128K tokens on one silo owning both GPUs: SWEEP shards (default "2 4 8"), --repeat 2 each
# Results in $OUT: tcp-T.json, sweep-R.json, summary.txt.
set -euo pipefail
out=${OUT:-/tmp/out}; work=${WORK:-/tmp/multi}; mkdir -p "$out" "$work"
bin=$PWD/.device/ringattn/ringattn
tokens=${TOKENS:-262144 1048576}; shards=${SHARDS:-8}; repeat=${REPEAT:-2}
common=(--cluster-id tcp --allowed-root "$work" --max-job-memory 200000000000 --no-ipc)
(cd "$work" && exec "$bin" silo --device cuda:0 --silo-port 11111 --gateway-port 30000 "${common[@]}" > "$out/silo0.log" 2>&1) & s0=$!
for i in $(seq 1 120); do grep -q "silo of cluster" "$out/silo0.log" 2>/dev/null && break; sleep 0.5; done
(cd "$work" && exec "$bin" silo --device cuda:1 --silo-port 11112 --gateway-port 30001 --primary-port 11111 "${common[@]}" > "$out/silo1.log" 2>&1) & s1=$!
for i in $(seq 1 120); do grep -q "silo of cluster" "$out/silo1.log" 2>/dev/null && break; sleep 0.5; done
for t in $tokens; do
  input=$work/qkv-$t.safetensors
  [[ -f $input ]] || $bin gen --output $input --tokens $t --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 > /dev/null
  $bin run --cluster 127.0.0.1:30000 --cluster-id tcp --inputs $input --output $work/o-$t-tcp.safetensors --causal --shards $shards \
    --repeat $repeat --json > "$out/tcp-$t.json" 2> "$out/tcp-$t.err" || tail -n 5 "$out/tcp-$t.err"
  python3 - "$out/tcp-$t.json" "$t" <<'PY' | tee -a "$out/summary.txt"
import json, sys
r = json.load(open(sys.argv[1])); j = r["job"]
print(f"T={sys.argv[2]} two silo processes over the data plane: attention {j['ringSeconds']:.3f} s, walls {', '.join(f'{w:.2f}' for w in r['wallSeconds'])}, "
      f"{j['remoteTransfers']} transfers ({j['bytesMoved']/1e9:.2f} GB), K/V wait sum {j['waitSeconds']:.3f} s, IPC copies {j['processCopies']}")
PY
done
kill -INT $s1 $s0 2>/dev/null || true; wait $s1 $s0 2>/dev/null || true
input=$work/qkv-131072.safetensors
[[ -f $input ]] || $bin gen --output $input --tokens 131072 --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 > /dev/null
for r in ${SWEEP:-2 4 8}; do
  for dev in cuda:0 cuda; do
    $bin run --device $dev --inputs $input --output $work/o-sweep.safetensors --causal --shards $r --repeat $repeat \
      --max-job-memory 200000000000 --json > "$out/sweep-$r-$dev.json" 2> /dev/null
  done
  python3 - "$out" "$r" <<'PY' | tee -a "$out/summary.txt"
import json, sys
o, r = sys.argv[1], sys.argv[2]
one, two = (json.load(open(f"{o}/sweep-{r}-{d}.json"))["job"] for d in ("cuda:0", "cuda"))
flops = 4.0 * 131072 ** 2 * 32 * 128 * 0.5
print(f"T=131072 R={r}: 1 GPU attention {one['ringSeconds']:.3f} s, 2 GPUs {two['ringSeconds']:.3f} s, efficiency {one['ringSeconds']/(2*two['ringSeconds']):.3f}, "
      f"ours {flops/two['ringSeconds']/2e12:.0f} TF/GPU (torch context_parallel flash 339, cuDNN 589 at this shape)")
PY
done
