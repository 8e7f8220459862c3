#!/usr/bin/env python3
"""Device correctness run (one call): makes inputs, runs our verify mode, checks ours and PyTorch SDPA (same dtype)
against the float64 reference of torch_attention.py. Pass: max|O - O64| <= 2 x SDPA's, LSE within 1e-3, no NaN.
usage (repo root on the GPU machine): python3 bench/device_verify.py .device/ringattn/ringattn OUTDIR [quick | dims]
(dims: only the cases of head dims other than 64 and 128)
(BIN is the trimmed ringattn of scripts/release.sh; it runs `ringattn bench verify --dir`.)"""
import json, math, os, subprocess, sys
import torch
import torch.nn.functional as F
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
import torch_attention as ta
from safetensors.torch import save_file, load_file

binary, out = sys.argv[1], sys.argv[2]
quick = "quick" in sys.argv[3:]
extra = [a for a in sys.argv[3:] if a not in ("quick", "dims")]
work = "/tmp/verify"; os.makedirs(work, exist_ok=True)
DT = {"bf16": torch.bfloat16, "fp16": torch.float16}
MASKS = [("none", 0), ("causal", 0), ("causal", 256), ("window", 1000)]
DIMS = [40, 64, 128, 111]
TOKENS = [1, 77, 4099, 16384]
HEADS = [(16, 16), (16, 4), (16, 2), (16, 1)]
cases = []
for dt in ("bf16", "fp16"):
    for i, (mask, w) in enumerate(MASKS):
        for j, dim in enumerate(DIMS):
            t = TOKENS[(i + j + (dt == "fp16")) % 4]
            hq, hkv = HEADS[(i + 2 * j + (dt == "fp16")) % 4]
            if t == 16384 and dim not in (64, 128): hq, hkv = 8, max(1, 8 // (16 // hkv))
            cases.append((dt, t, hq, hkv, dim, mask, w))
for k, (mask, w) in enumerate(MASKS):
    cases.append(("bf16" if k % 2 == 0 else "fp16", 16384, 16, (16, 2, 4, 1)[k], 128, mask, w))
cases.append(("bf16", 4099, 32, 8, 64, "causal", 0))
# Every head-dim class of the tensor-core kernels (issue 14): each dim in both dtypes, masks and GQA ratios rotating.
for j, dim in enumerate((32, 48, 80, 96, 104, 160, 192, 224, 256)):
    for dt in ("bf16", "fp16"):
        mask, w = MASKS[(j + (dt == "fp16")) % 4]
        hq, hkv = HEADS[(2 * j + (dt == "fp16")) % 4]
        cases.append((dt, (77, 4099, 1000, 3001)[(j + 2 * (dt == "fp16")) % 4], hq, hkv, dim, mask, w))
if quick: cases = [c for c in cases if c[4] in (64, 128)][:8]
if "dims" in sys.argv[3:]: cases = [c for c in cases if c[4] not in (64, 128)]
lines = []
for n, (dt, t, hq, hkv, dim, mask, w) in enumerate(cases):
    name = f"c{n:02d}"
    g = torch.Generator().manual_seed(100 + n)
    r = lambda h: torch.randn(t, h, dim, generator=g).to(DT[dt])
    save_file({"q": r(hq), "k": r(hkv), "v": r(hkv)}, f"{work}/{name}.in.safetensors")
    lines.append(f"{name} {dt} {mask} {w}")
open(f"{work}/cases.txt", "w").write("\n".join(lines) + "\n")
rc = subprocess.run([binary, "bench", "verify", "--dir", work] + extra).returncode
print("verify exit code", rc, flush=True)
results = []; bad = 0
for n, (dt, t, hq, hkv, dim, mask, w) in enumerate(cases):
    name = f"c{n:02d}"; causal = mask == "causal"
    x = load_file(f"{work}/{name}.in.safetensors")
    if not os.path.exists(f"{work}/{name}.out.safetensors"):
        print(name, "missing output"); bad += 1; continue
    y = load_file(f"{work}/{name}.out.safetensors")
    rows = torch.arange(t) if t <= 1024 else torch.unique(torch.cat([torch.tensor([0, t - 1]), torch.randint(0, t, (1024,), generator=torch.Generator().manual_seed(1))]))
    o_ref, lse_ref = ta.reference_rows(x["q"], x["k"], x["v"], rows, causal, w, 1.0 / math.sqrt(dim))
    q, k, v = (x[s].cuda().transpose(0, 1)[None] for s in "qkv")
    am = None
    if w:
        i = torch.arange(t, device="cuda"); d = i[:, None] - i[None, :]
        am = (d < w) & ((d >= 0) if causal else (d > -w))
    with torch.no_grad():
        so = F.scaled_dot_product_attention(q, k, v, attn_mask=am, is_causal=causal and am is None, enable_gqa=hq != hkv)[0].transpose(0, 1)
    sdpa_err = float((so[rows.cuda()].double() - o_ref).abs().max())
    o = y["o"][rows].cuda().double()
    ours_err = float((o - o_ref).abs().max())
    rel = float(torch.linalg.vector_norm(o - o_ref) / torch.linalg.vector_norm(o_ref).clamp_min(1e-30))
    lse = y["lse"][:, rows].cuda().double(); fin = torch.isfinite(lse_ref)
    lse_err = float((lse[fin] - lse_ref[fin]).abs().max()) if fin.any() else 0.0
    lse_mis = int((torch.isfinite(lse) != fin).sum())
    nan = bool(torch.isnan(y["o"]).any() or torch.isnan(y["lse"]).any())
    ok = ours_err <= 2 * sdpa_err + 1e-6 and lse_err <= 1e-3 and not nan and lse_mis == 0
    bad += not ok
    res = dict(case=name, dtype=dt, tokens=t, hq=hq, hkv=hkv, dim=dim, mask=mask, window=w, ours_max_abs=ours_err,
               sdpa_max_abs=sdpa_err, ratio=ours_err / max(sdpa_err, 1e-30), o_rel_l2=rel, lse_max_abs=lse_err, lse_inf_mismatch=lse_mis, nan=nan, ok=ok)
    results.append(res)
    print(f"{name} {dt} T={t:5d} {hq:2d}/{hkv:2d} d={dim:3d} {mask:6s} w={w:4d} ours={ours_err:.2e} sdpa={sdpa_err:.2e} ratio={res['ratio']:.2f} rel={rel:.1e} lse={lse_err:.1e} {'OK' if ok else 'FAIL'}", flush=True)
with open(f"{out}/verify.jsonl", "w") as f:
    for r in results: f.write(json.dumps(r) + "\n")
print(f"SUMMARY: {len(results) - bad}/{len(cases)} cases pass; csharp verify rc={rc}")
