#!/usr/bin/env python3
"""Independent PyTorch oracle for RingAttention, for the GPU machine (which has torch and safetensors).
(Kept in the repository so that every figure of bench/results can be reproduced from a clone.)

Tensor files use the safetensors format with batch-free, flash-attn style layouts:
  inputs : q [T, Hq, D], k [T, Hkv, D], v [T, Hkv, D]   (float16 | bfloat16 | float32)
  outputs: o [T, Hq, D] (same dtype as q, or float32), lse [Hq, T] float32 (natural log, -inf for empty rows)

  make   --tokens T --hq H --hkv H --dim D [--dtype bf16] [--seed S] --out inputs.safetensors
  check  --inputs inputs.safetensors --output out.safetensors [--causal] [--window W] [--scale S] [--rows N]
         float64 reference on N sampled query rows per head (all rows when N >= T); prints JSON with errors
  bench  --tokens T --hq H --hkv H --dim D [--dtype bf16] [--causal] [--window W]
         times torch SDPA backends (flash, cudnn, efficient) on random data; prints JSON with TFLOP/s
FLOP count convention: 4*Hq*D per visible (query, key) pair; causal counts T*T/2 pairs (what FlashAttention reports).
"""
import argparse, json, math, sys
import torch
from safetensors.torch import save_file, load_file

DT = {"bf16": torch.bfloat16, "fp16": torch.float16, "f16": torch.float16, "fp32": torch.float32, "f32": torch.float32}

def make(a):
    g = torch.Generator(device="cpu").manual_seed(a.seed)
    t = lambda h: torch.randn(a.tokens, h, a.dim, generator=g, dtype=torch.float32).to(DT[a.dtype])
    save_file({"q": t(a.hq), "k": t(a.hkv), "v": t(a.hkv)}, a.out)
    print(json.dumps({"wrote": a.out, "tokens": a.tokens, "hq": a.hq, "hkv": a.hkv, "dim": a.dim, "dtype": a.dtype}))

def reference_rows(q, k, v, rows, causal, window, scale):
    """float64 attention for the given query rows; q [T,Hq,D], k/v [T,Hkv,D]; returns o [n,Hq,D], lse [Hq,n]."""
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    T, Hq, D = q.shape; Hkv = k.shape[1]; g = Hq // Hkv
    kpos = torch.arange(T, device=dev)
    outs, lses = [], []
    for h in range(Hq):
        kh = k[:, h // g, :].to(dev, torch.float64); vh = v[:, h // g, :].to(dev, torch.float64)
        o_h, l_h = [], []
        for chunk in rows.split(1024):
            qc = q[chunk, h, :].to(dev, torch.float64)
            s = (qc @ kh.T) * scale
            qp = chunk.to(dev)[:, None]
            mask = torch.ones_like(s, dtype=torch.bool)
            if causal: mask &= kpos[None, :] <= qp
            if window:  # causal: 0 <= i-j < W; otherwise |i-j| < W
                d = qp - kpos[None, :]
                mask &= (d < window) if causal else (d.abs() < window)
            s = s.masked_fill(~mask, float("-inf"))
            lse = torch.logsumexp(s, dim=-1)
            p = torch.exp(s - lse[:, None]).nan_to_num(0.0)
            o_h.append(p @ vh); l_h.append(lse)
        outs.append(torch.cat(o_h)); lses.append(torch.cat(l_h))
    return torch.stack(outs, dim=1), torch.stack(lses)

def check(a):
    x = load_file(a.inputs); y = load_file(a.output)
    q, k, v = x["q"], x["k"], x["v"]; T, Hq, D = q.shape
    scale = a.scale if a.scale else 1.0 / math.sqrt(D)
    if a.rows >= T: rows = torch.arange(T)
    else:
        g = torch.Generator().manual_seed(1234)
        rows = torch.unique(torch.cat([torch.tensor([0, T - 1]), torch.randint(0, T, (a.rows,), generator=g)]))
    o_ref, lse_ref = reference_rows(q, k, v, rows, a.causal, a.window, scale)
    o = y["o"][rows].to(o_ref.device, torch.float64)
    res = {"rows_checked": int(rows.numel()), "tokens": T, "hq": Hq, "hkv": k.shape[1], "dim": D,
           "o_rel_l2": float(torch.linalg.vector_norm(o - o_ref) / torch.linalg.vector_norm(o_ref).clamp_min(1e-30)),
           "o_max_abs": float((o - o_ref).abs().max()),
           "o_has_nan": bool(torch.isnan(y["o"]).any())}
    if "lse" in y:
        lse = y["lse"][:, rows].to(lse_ref.device, torch.float64)
        fin = torch.isfinite(lse_ref)
        res["lse_max_abs"] = float((lse[fin] - lse_ref[fin]).abs().max()) if fin.any() else 0.0
        res["lse_inf_mismatch"] = int((torch.isfinite(lse) != fin).sum())
    else:
        res["lse"] = "missing"
    print(json.dumps(res))

def visible_pairs(T, causal, window):
    """(query, key) pairs that a mask lets through; causal alone counts T*T/2 as FlashAttention reports."""
    if not window: return T * T * (0.5 if causal else 1.0)
    w = min(window, T)
    one_side = T * w - w * (w - 1) / 2          # pairs with 0 <= i - j < w
    return one_side if causal else 2 * one_side - T

def bench(a):
    import warnings; warnings.filterwarnings("ignore")
    from torch.nn.attention import sdpa_kernel, SDPBackend
    import torch.nn.functional as F
    dt = DT[a.dtype]
    q = torch.randn(1, a.hq, a.tokens, a.dim, device="cuda", dtype=dt)
    k = torch.randn(1, a.hkv, a.tokens, a.dim, device="cuda", dtype=dt)
    v = torch.randn(1, a.hkv, a.tokens, a.dim, device="cuda", dtype=dt)
    mask = None
    if a.window:
        i = torch.arange(a.tokens, device="cuda")
        d = i[:, None] - i[None, :]
        mask = (d < a.window) & ((d >= 0) if a.causal else (d > -a.window))
    flops = 4.0 * visible_pairs(a.tokens, a.causal, a.window) * a.hq * a.dim
    for name, be in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION), ("efficient", SDPBackend.EFFICIENT_ATTENTION)):
        try:
            with sdpa_kernel([be]):
                f = lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=a.causal and mask is None, enable_gqa=a.hq != a.hkv)
                for _ in range(3): f()
                torch.cuda.synchronize(); ts = []
                for _ in range(a.reps):
                    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    s.record(); f(); e.record(); torch.cuda.synchronize(); ts.append(s.elapsed_time(e))
            ms = sorted(ts)[len(ts) // 2]
            print(json.dumps({"backend": name, "tokens": a.tokens, "hq": a.hq, "hkv": a.hkv, "dim": a.dim, "dtype": a.dtype,
                              "causal": a.causal, "window": a.window, "median_ms": round(ms, 3), "tflops": round(flops / ms / 1e9, 1)}))
        except Exception as ex:
            print(json.dumps({"backend": name, "error": str(ex).splitlines()[0][:120]}))

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("make", "bench"):
        s = sub.add_parser(name)
        s.add_argument("--tokens", type=int, required=True); s.add_argument("--hq", type=int, required=True)
        s.add_argument("--hkv", type=int, required=True); s.add_argument("--dim", type=int, required=True)
        s.add_argument("--dtype", default="bf16", choices=sorted(DT))
    sub.choices["make"].add_argument("--seed", type=int, default=0); sub.choices["make"].add_argument("--out", required=True)
    b = sub.choices["bench"]; b.add_argument("--causal", action="store_true"); b.add_argument("--window", type=int, default=0); b.add_argument("--reps", type=int, default=10)
    c = sub.add_parser("check"); c.add_argument("--inputs", required=True); c.add_argument("--output", required=True)
    c.add_argument("--causal", action="store_true"); c.add_argument("--window", type=int, default=0)
    c.add_argument("--scale", type=float, default=0.0); c.add_argument("--rows", type=int, default=4096)
    a = p.parse_args()
    {"make": make, "check": check, "bench": bench}[a.cmd](a)
