#!/usr/bin/env bash
# Issue 13, one silo per GPU on nvidia-h200-x2: two `ringattn silo` processes (cuda:0 and cuda:1) of one loopback
# cluster, K/V blocks between them device to device through CUDA IPC, beside the same job on one silo owning both GPUs
# (embedded) in the same call. From the repo root with .device/ringattn (bench/device-prepare.sh).
# TOKENS (default "262144 1048576"), SHARDS (8), REPEAT (2). Results in $OUT: ipc-T.json, one-silo-T.json, summary.txt.
set -euo pipefail
out=${OUT:-/tmp/out}; work=${WORK:-/tmp/multi}; mkdir -p "$out" "$work"
bin=$PWD/.device/ringattn/ringattn
tokens=${TOKENS:-262144 1048576}; shards=${SHARDS:-8}; repeat=${REPEAT:-2}
nvidia-smi --query-gpu=index,name,pci.bus_id --format=csv,noheader | tee "$out/device.txt"
common=(--cluster-id ipc --allowed-root "$work" --max-job-memory 200000000000)
(cd "$work" && exec "$bin" silo --device cuda:0 --silo-port 11111 --gateway-port 30000 "${common[@]}" > "$out/silo0.log" 2>&1) & s0=$!
for i in $(seq 1 120); do grep -q "silo of cluster" "$out/silo0.log" 2>/dev/null && break; sleep 0.5; done
(cd "$work" && exec "$bin" silo --device cuda:1 --silo-port 11112 --gateway-port 30001 --primary-port 11111 "${common[@]}" > "$out/silo1.log" 2>&1) & s1=$!
for i in $(seq 1 120); do grep -q "silo of cluster" "$out/silo1.log" 2>/dev/null && break; sleep 0.5; done
head -2 "$out/silo0.log" "$out/silo1.log"
for t in $tokens; do
  input=$work/qkv-$t.safetensors
  [[ -f $input ]] || $bin gen --output $input --tokens $t --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 > /dev/null
  $bin run --cluster 127.0.0.1:30000 --cluster-id ipc --inputs $input --output $work/o-$t-ipc.safetensors --causal --shards $shards \
    --repeat $repeat --json > "$out/ipc-$t.json" 2> "$out/ipc-$t.err" || tail -5 "$out/ipc-$t.err"
  $bin run --device cuda --inputs $input --output $work/o-$t-one.safetensors --causal --shards $shards --repeat $repeat \
    --max-job-memory 200000000000 --json > "$out/one-silo-$t.json" 2> "$out/one-silo-$t.err" || tail -5 "$out/one-silo-$t.err"
  python3 - "$out" "$work" "$t" <<'PY' | tee -a "$out/summary.txt"
import json, sys, torch
from safetensors.torch import load_file
o, w, t = sys.argv[1], sys.argv[2], sys.argv[3]
ipc, one = (json.load(open(f"{o}/{n}-{t}.json")) for n in ("ipc", "one-silo"))
a, b = ipc["job"], one["job"]
print(f"T={t}: two silo processes attention {a['ringSeconds']:.3f} s (walls {', '.join(f'{x:.2f}' for x in ipc['wallSeconds'])}), "
      f"IPC copies {a['processCopies']} ({a['processBytes']/1e9:.2f} GB), data plane {a['remoteTransfers']} ({a['bytesMoved']/1e9:.2f} GB), in-process {a['localHandoffs']}, peer {a['peerCopies']}; "
      f"one silo owning both attention {b['ringSeconds']:.3f} s (walls {', '.join(f'{x:.2f}' for x in one['wallSeconds'])}), peer copies {b['peerCopies']}; ratio {b['ringSeconds']/a['ringSeconds']:.3f}")
x, y = load_file(f"{w}/o-{t}-ipc.safetensors"), load_file(f"{w}/o-{t}-one.safetensors")
print(f"T={t}: outputs bitwise equal: o {torch.equal(x['o'], y['o'])}, lse {torch.equal(x['lse'], y['lse'])}, max |o diff| {(x['o'].float()-y['o'].float()).abs().max().item():.3g}")
PY
done
kill -INT $s1 $s0 2>/dev/null || true; wait $s1 $s0 2>/dev/null || true
tail -n 3 "$out/silo0.log" "$out/silo1.log"
