#!/usr/bin/env python3
"""The CPU reference beside issue 17's round trip (bench/python_roundtrip.py): the same shape (16K tokens, Hq 8 / Hkv 2,
d 64, float32, causal) in PyTorch on this machine's CPU. SDPA where torch has it (2.0+); Debian's torch 1.13 does not,
so the eager composition (QKᵀ·scale, causal mask, softmax, ·V) one query head at a time (a 16K × 16K score matrix per
head is 1 GiB). One JSON line per measurement; medians of REPS.
  /usr/bin/python3 bench/torch_cpu_attention.py"""
import json, math, os, statistics, time

import numpy as np
import torch

TOKENS, HQ, HKV, D, REPS = int(os.environ.get("TOKENS", 16384)), 8, 2, 64, int(os.environ.get("REPS", 3))
rng = np.random.default_rng(1)
q = torch.from_numpy(rng.standard_normal((TOKENS, HQ, D)).astype(np.float32))
k = torch.from_numpy(rng.standard_normal((TOKENS, HKV, D)).astype(np.float32))
v = torch.from_numpy(rng.standard_normal((TOKENS, HKV, D)).astype(np.float32))
sdpa = getattr(torch.nn.functional, "scaled_dot_product_attention", None)
mask = torch.ones(TOKENS, TOKENS, dtype=torch.bool).triu(1)


def eager():
    o = torch.empty(TOKENS, HQ, D)
    for h in range(HQ):
        s = (q[:, h] @ k[:, h // (HQ // HKV)].T) * (1.0 / math.sqrt(D))
        s.masked_fill_(mask, float("-inf"))
        o[:, h] = torch.softmax(s, dim=-1) @ v[:, h // (HQ // HKV)]
    return o


def fused():
    qt, kt, vt = q.transpose(0, 1)[None], k.transpose(0, 1)[None], v.transpose(0, 1)[None]
    return sdpa(qt, kt.repeat_interleave(HQ // HKV, 1), vt.repeat_interleave(HQ // HKV, 1), is_causal=True)


run = fused if sdpa else eager
times = []
for _ in range(REPS):
    t0 = time.perf_counter()
    run()
    times.append(time.perf_counter() - t0)
print(json.dumps({"kind": "torch-sdpa-cpu" if sdpa else "torch-eager-cpu", "tokens": TOKENS, "hq": HQ, "hkv": HKV, "dim": D, "dtype": "f32",
                  "causal": True, "torch": torch.__version__, "threads": torch.get_num_threads(), "seconds": statistics.median(times), "runs": times}))
