#!/usr/bin/env bash
# Issues 13 and 18 on nvidia-h200-x2/-x4/-x8 (G = every GPU of the host, or $GPUS), one device call, from the repo root with .device/ringattn (the trimmed
# ringattn of bench/device-prepare.sh) and bench/peers/*.py. PART selects what runs (default: all, cheapest first):
#   peer   our device-to-device hand-off (ringattn bench peer) beside torch's b.copy_(a) across the two GPUs
#   ring   for T in $TOKENS: gen, then the same job (Hq 32 / Hkv 8, d 128, bf16, causal, zigzag, $SHARDS shards) on one
#          GPU (--device cuda:0) and on all G (--device cuda: one silo owning them), --repeat $REPEAT each;
#          attention time = the ring phase of the slowest shard; efficiency = t(1 GPU) / (G t(G GPUs))
#   torch  PyTorch context_parallel with SDPA cuDNN and flash on the same G GPUs and shapes (torchrun)
#   check  the G-GPU output of the largest T against float64 (torch_attention.py check) and against the 1-GPU output
# Results: $OUT/*.json(l), one line per figure in $OUT/multi-gpu.jsonl.
set -euo pipefail
out=${OUT:-/tmp/out}; work=${WORK:-/tmp/multi}; mkdir -p "$out" "$work"
bin=.device/ringattn/ringattn
tokens=${TOKENS:-131072 262144 1048576}; shards=${SHARDS:-8}; repeat=${REPEAT:-2}; part=${PART:-all}
gpus=${GPUS:-$(nvidia-smi -L | wc -l)}
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
      tag=$([[ $dev == cuda ]] && echo ${gpus}gpu || echo 1gpu)
      $bin run --inputs $input --output $work/o-$t-$tag.safetensors --causal --shards $shards --device $dev --repeat $repeat \
        --max-job-memory 200000000000 --json > "$out/ring-$t-$tag.json" 2> "$out/ring-$t-$tag.err" || tail -5 "$out/ring-$t-$tag.err"
    done
    python3 - "$out" "$t" "$gpus" <<'PY' | tee -a "$out/summary.txt"
import json, sys
o, t, G = sys.argv[1], sys.argv[2], int(sys.argv[3])
one, two = (json.load(open(f"{o}/ring-{t}-{g}.json"))["job"] for g in ("1gpu", f"{G}gpu"))
w1, w2 = (json.load(open(f"{o}/ring-{t}-{g}.json"))["wallSeconds"] for g in ("1gpu", f"{G}gpu"))
eff = one["ringSeconds"] / (G * two["ringSeconds"])
flops = 4.0 * int(t) ** 2 * 32 * 128 * 0.5
print(f"ring T={t}: 1 GPU attention {one['ringSeconds']:.3f} s (wall {min(w1):.3f}), {G} GPUs attention {two['ringSeconds']:.3f} s (wall {min(w2):.3f}), "
      f"efficiency {eff:.3f}, ours {flops/two['ringSeconds']/G/1e12:.0f} TF/GPU, peer copies {two['peerCopies']} ({two['peerBytes']/1e9:.2f} GB), "
      f"staged {two['stagedCopies']}, data plane {two['bytesMoved']/1e9:.2f} GB, wall/attention {min(w2)/two['ringSeconds']:.2f}")
PY
  done
fi
if want torch; then
  torchrun --standalone --nproc-per-node $gpus bench/peers/torch_cp.py --tokens "$(echo $tokens | tr ' ' ,)" --backends cudnn,flash --reps 2 2> "$out/torch-cp.err" | tee "$out/torch-cp.jsonl" || tail -20 "$out/torch-cp.err"
fi
if want check; then
  last=${tokens##* }
  python3 bench/peers/torch_attention.py check --inputs $work/qkv-$last.safetensors --output $work/o-$last-${gpus}gpu.safetensors --causal --rows ${ROWS:-256} 2>&1 | tail -3 | tee "$out/check-${gpus}gpu.txt"
  python3 - "$work" "$last" "$gpus" <<'PY' | tee -a "$out/summary.txt"
import sys, torch
from safetensors.torch import load_file
w, t, G = sys.argv[1], sys.argv[2], sys.argv[3]
a, b = load_file(f"{w}/o-{t}-1gpu.safetensors"), load_file(f"{w}/o-{t}-{G}gpu.safetensors")
print(f"T={t}: {G}-GPU vs 1-GPU output: o bitwise equal {torch.equal(a['o'], b['o'])}, max |o diff| {(a['o'].float()-b['o'].float()).abs().max().item():.3g}, lse max diff {(a['lse']-b['lse']).abs().max().item():.3g}")
PY
fi
