#!/usr/bin/env python3
"""FP8 inputs on the GPU (issue 14), one device call: q/k/v in float8_e4m3fn with descale factors (q: one; k, v: one per
kv head) made by PyTorch, run through `ringattn run` on the GPU, and checked against float64 attention of the values
the FP8 file stands for (code x factor); PyTorch SDPA on the same values in bf16 gives the bf16 error to compare with.
usage (repo root on the GPU machine): python3 bench/fp8_check.py .device/ringattn/ringattn OUTDIR [T,D ...]
Prints one JSON line per shape and writes OUTDIR/fp8.jsonl."""
import json, math, os, subprocess, sys, time
import torch
import torch.nn.functional as F
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
import torch_attention as ta
from safetensors.torch import save_file, load_file

binary, out = sys.argv[1], sys.argv[2]
shapes = [tuple(map(int, s.split(","))) for s in sys.argv[3:]] or [(16384, 128), (4099, 256), (8192, 96)]
work = "/tmp/fp8"; os.makedirs(work, exist_ok=True)
hq, hkv = 32, 8
rows_out = []
for t, d in shapes:
    g = torch.Generator().manual_seed(t + d)
    def quant(h, per_head):
        x = torch.randn(t, h, d, generator=g)
        amax = x.abs().amax(dim=(0, 2)) if per_head else x.abs().amax().reshape(1)
        scale = (amax / 448.0).float()
        codes = (x / scale.repeat_interleave(h // scale.numel())[None, :, None]).to(torch.float8_e4m3fn)
        return codes, scale
    q8, qs = quant(hq, False)
    k8, ks = quant(hkv, True)
    v8, vs = quant(hkv, True)
    inp, o_path = f"{work}/fp8-{t}-{d}.safetensors", f"{work}/o-{t}-{d}.safetensors"
    save_file({"q": q8, "k": k8, "v": v8, "q_descale": qs.reshape(()), "k_descale": ks, "v_descale": vs}, inp)
    start = time.time()
    p = subprocess.run([binary, "run", "--inputs", inp, "--output", o_path, "--causal", "--shards", "4", "--device", "cuda:0",
                        "--silos", "1", "--force", "--json"], capture_output=True, text=True)
    wall = time.time() - start
    if p.returncode != 0:
        print(json.dumps({"tokens": t, "dim": d, "error": p.stderr[-800:] + p.stdout[-400:]})); continue
    job = json.loads(p.stdout)["job"]
    deq = lambda c, s, h: c.double() * s.double().repeat_interleave(h // s.numel())[None, :, None]
    q, k, v = deq(q8, qs, hq), deq(k8, ks, hkv), deq(v8, vs, hkv)
    rows = torch.unique(torch.cat([torch.tensor([0, t - 1]), torch.randint(0, t, (510,), generator=torch.Generator().manual_seed(1))]))
    o_ref, lse_ref = ta.reference_rows(q, k, v, rows, True, 0, 1.0 / math.sqrt(d))
    y = load_file(o_path)
    o = y["o"][rows].cuda().double()
    ours = float((o - o_ref).abs().max()); rel = float(torch.linalg.vector_norm(o - o_ref) / torch.linalg.vector_norm(o_ref))
    lse_err = float((y["lse"][:, rows].cuda().double() - lse_ref).abs().max())
    qb, kb, vb = (x.to(torch.bfloat16).cuda().transpose(0, 1)[None] for x in (q, k, v))
    with torch.no_grad():
        so = F.scaled_dot_product_attention(qb, kb, vb, is_causal=True, enable_gqa=True)[0].transpose(0, 1)
    so_rows = so[rows.cuda()].double()
    sdpa = float((so_rows - o_ref).abs().max())   # the max is the bf16 rounding of the largest outputs, the same in both
    sdpa_rel = float(torch.linalg.vector_norm(so_rows - o_ref) / torch.linalg.vector_norm(o_ref))
    row = dict(tokens=t, dim=d, hq=hq, hkv=hkv, causal=True, o_dtype=str(y["o"].dtype), rows_checked=len(rows), ours_max_abs=ours,
               ours_rel_l2=rel, lse_max_abs=lse_err, sdpa_bf16_max_abs=sdpa, sdpa_bf16_rel_l2=sdpa_rel, ratio=ours / sdpa,
               rel_l2_ratio=rel / sdpa_rel, nan=bool(torch.isnan(y["o"]).any()),
               ring_seconds=job["ringSeconds"], wall_seconds=job["wallSeconds"], input_bytes=os.path.getsize(inp))
    rows_out.append(row)
    print(json.dumps(row), flush=True)
with open(f"{out}/fp8.jsonl", "w") as f:
    for r in rows_out: f.write(json.dumps(r) + "\n")
