#!/usr/bin/env bash
# Issue 13 on nvidia-h200-x2 (2 x H200, NVLink), one device call, from the repo root with .device/ringattn (the trimmed
# ringattn of bench/device-prepare.sh) and bench/peers/*.py. PART selects what runs (default: all, cheapest first):
#   peer   our device-to-device hand-off (ringattn bench peer) beside torch's b.copy_(a) across the two GPUs
#   ring   for T in $TOKENS: gen, then the same job (Hq 32 / Hkv 8, d 128, bf16, causal, zigzag, $SHARDS shards) on one
#          GPU (--device cuda:0) and on both (--device cuda: one silo owning the two GPUs), --repeat $REPEAT each;
#          attention time = the ring phase of the slowest shard; efficiency = t(1 GPU) / (2 t(2 GPUs))
#   torch  PyTorch context_parallel with SDPA cuDNN and flash on the same 2 GPUs and shapes (torchrun)
#   check  the 2-GPU output of the largest T against float64 (torch_attention.py check) and against the 1-GPU output
# Results: $OUT/*.json(l), one line per figure in $OUT/multi-gpu.jsonl.
set -euo pipefail
out=${OUT:-/tmp/out}; work=${WORK:-/tmp/multi}; mkdir -p "$out" "$work"
bin=.device/ringattn/ringattn
tokens=${TOKENS:-131072 262144 1048576}; shards=${SHARDS:-8}; repeat=${REPEAT:-2}; part=${PART:-all}
nvidia-smi --query-gpu=index,name,pci.bus_id,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
want() { [[ $part == all || $part == *$1* ]]; }
if want peer; then
  $bin bench peer --mib 64,256,1024 --reps 10 --json > "$out/peer.json" 2> "$out/peer.err" || cat "$out/peer.err"
  python3 bench/peers/torch_p2p.py --mib 64,256,1024 --reps 10 | tee "$out/torch-p2p.jsonl"
  python3 - "$out" <<'PY' | tee -a "$out/summary.txt"
import json, sys
o = sys.argv[1]
ours = json.load(open(f"{o}/peer.json"))["results"]
torch = [json.loads(l) for l in open(f"{o}/torch-p2p.jsonl")]
for r in ours:
    t = next(x for x in torch if x["mib"] == r["mib"] and x["from"] == r["from"] and x["to"] == r["to"])
    print(f"hand-off {r['from']}->{r['to']} {r['mib']} MiB: ours {r['gbps']:.1f} GB/s (staged={r['staged']}), torch copy_ {t['gbps']:.1f} GB/s, ratio {r['gbps']/t['gbps']:.3f}")
PY
fi
if want ring; then
  for t in $tokens; do
    input=$work/qkv-$t.safetensors
    [[ -f $input ]] || $bin gen --output $input --tokens $t --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 > /dev/null
    for dev in cuda:0 cuda; do
      tag=$([[ $dev == cuda ]] && echo 2gpu || echo 1gpu)
      $bin run --inputs $input --output $work/o-$t-$tag.safetensors --causal --shards $shards --device $dev --repeat $repeat \
        --max-job-memory 200000000000 --json > "$out/ring-$t-$tag.json" 2> "$out/ring-$t-$tag.err" || tail -5 "$out/ring-$t-$tag.err"
    done
    python3 - "$out" "$t" <<'PY' | tee -a "$out/summary.txt"
import json, sys
o, t = sys.argv[1], sys.argv[2]
one, two = (json.load(open(f"{o}/ring-{t}-{g}.json"))["job"] for g in ("1gpu", "2gpu"))
w1, w2 = (json.load(open(f"{o}/ring-{t}-{g}.json"))["wallSeconds"] for g in ("1gpu", "2gpu"))
eff = one["ringSeconds"] / (2 * two["ringSeconds"])
flops = 4.0 * int(t) ** 2 * 32 * 128 * 0.5
print(f"ring T={t}: 1 GPU attention {one['ringSeconds']:.3f} s (wall {min(w1):.3f}), 2 GPUs attention {two['ringSeconds']:.3f} s (wall {min(w2):.3f}), "
      f"efficiency {eff:.3f}, ours {flops/two['ringSeconds']/2e12:.0f} TF/GPU, peer copies {two['peerCopies']} ({two['peerBytes']/1e9:.2f} GB), "
      f"staged {two['stagedCopies']}, data plane {two['bytesMoved']/1e9:.2f} GB, wall/attention {min(w2)/two['ringSeconds']:.2f}")
PY
  done
fi
if want torch; then
  torchrun --standalone --nproc-per-node 2 bench/peers/torch_cp.py --tokens "$(echo $tokens | tr ' ' ,)" --backends cudnn,flash --reps 2 2> "$out/torch-cp.err" | tee "$out/torch-cp.jsonl" || tail -20 "$out/torch-cp.err"
fi
if want check; then
  last=${tokens##* }
  python3 bench/peers/torch_attention.py check --inputs $work/qkv-$last.safetensors --output $work/o-$last-2gpu.safetensors --causal --rows ${ROWS:-256} 2>&1 | tail -3 | tee "$out/check-2gpu.txt"
  python3 - "$work" "$last" <<'PY' | tee -a "$out/summary.txt"
import sys, torch
from safetensors.torch import load_file
w, t = sys.argv[1], sys.argv[2]
a, b = load_file(f"{w}/o-{t}-1gpu.safetensors"), load_file(f"{w}/o-{t}-2gpu.safetensors")
print(f"T={t}: 2-GPU vs 1-GPU output: o bitwise equal {torch.equal(a['o'], b['o'])}, max |o diff| {(a['o'].float()-b['o'].float()).abs().max().item():.3g}, lse max diff {(a['lse']-b['lse']).abs().max().item():.3g}")
PY
fi
