#!/usr/bin/env python3
"""SDPA's own error on the rows `torch_attention.py check` samples: runs PyTorch SDPA (flash backend) once on the whole
inputs file, then compares the same sampled rows against the same float64 reference (imported from the tool), so that
our o_rel_l2 can be read beside the error of a single-call SDPA (issue 4, measurement 4). Prints one JSON line."""
import argparse, json, math, os, sys, time
import torch
import torch.nn.functional as F
from torch.nn.attention import sdpa_kernel, SDPBackend
from safetensors.torch import load_file

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".device", "tools"))
from torch_attention import reference_rows  # noqa: E402  (the tool's float64 reference, not a copy)

p = argparse.ArgumentParser()
p.add_argument("--inputs", required=True); p.add_argument("--causal", action="store_true"); p.add_argument("--rows", type=int, default=2048)
a = p.parse_args()
x = load_file(a.inputs); q, k, v = x["q"], x["k"], x["v"]; T, Hq, D = q.shape
scale = 1.0 / math.sqrt(D)
# The tool's row sample (same generator seed and construction).
if a.rows >= T: rows = torch.arange(T)
else:
    g = torch.Generator().manual_seed(1234)
    rows = torch.unique(torch.cat([torch.tensor([0, T - 1]), torch.randint(0, T, (a.rows,), generator=g)]))
dev = lambda t: t.to("cuda").permute(1, 0, 2).unsqueeze(0).contiguous()
qd, kd, vd = dev(q), dev(k), dev(v)
with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
    torch.cuda.synchronize(); t0 = time.perf_counter()
    o = F.scaled_dot_product_attention(qd, kd, vd, is_causal=a.causal, enable_gqa=Hq != k.shape[1])
    torch.cuda.synchronize(); seconds = time.perf_counter() - t0
o_rows = o[0].permute(1, 0, 2)[rows.to("cuda")].to(torch.float64)
del qd, kd, vd, o; torch.cuda.empty_cache()
o_ref, _ = reference_rows(q, k, v, rows, a.causal, 0, scale)
o_rows = o_rows.to(o_ref.device)
print(json.dumps({"backend": "flash", "rows_checked": int(rows.numel()), "tokens": T, "first_call_s": round(seconds, 3),
                  "sdpa_rel_l2": float(torch.linalg.vector_norm(o_rows - o_ref) / torch.linalg.vector_norm(o_ref).clamp_min(1e-30)),
                  "sdpa_max_abs": float((o_rows - o_ref).abs().max()), "sdpa_has_nan": bool(torch.isnan(o_rows).any())}))
