#!/usr/bin/env python3
"""Issue 16's peer: linear attention in PyTorch, the standard chunkwise-parallel form (chunks of 64 tokens, fp32 state):
per chunk, the intra-chunk product (φ(Q)φ(K)ᵀ ⊙ decay mask)·V plus φ(Q)·S of the state at the chunk's start, then
S = γ^C S + φ(K)ᵀ(decay ⊙ V). Feature maps elu1 | relu | identity, per-head decay γ (retention) or none, normalised
(÷ φ(q)ᵀz) or not, causal, GQA (a kv head's k/v shared by its query heads). Layout [T, H, D] as our safetensors.
  --check        small random cases against a float64 token-by-token recurrence (CPU is enough)
  --tokens T     time it on the GPU (or CPU) at Hq/Hkv/D/bf16 inputs: median seconds and tokens/s as one JSON line
"""
import argparse, json, statistics, time
import torch
import torch.nn.functional as F


def phi(x, kind):
    if kind == "elu1":
        return F.elu(x) + 1
    if kind == "relu":
        return F.relu(x)
    return x


def chunked(q, k, v, gamma, kind="elu1", normalize=True, chunk=64):
    """q [T, Hq, D], k/v [T, Hkv, D] (any float dtype); gamma [Hq] float or None. Returns o [T, Hq, D] in float32."""
    t, hq, d = q.shape
    group = hq // k.shape[1]
    qf = phi(q.float(), kind).transpose(0, 1)                                   # [Hq, T, D]
    kf = phi(k.float(), kind).repeat_interleave(group, dim=1).transpose(0, 1)   # [Hq, T, D]
    vf = v.float().repeat_interleave(group, dim=1).transpose(0, 1)
    g = torch.ones(hq, device=q.device) if gamma is None else gamma.to(q.device).float()
    s = torch.zeros(hq, d, d, device=q.device)
    z = torch.zeros(hq, d, device=q.device)
    out = torch.empty(hq, t, d, device=q.device)
    idx = torch.arange(chunk, device=q.device, dtype=torch.float32)
    for c0 in range(0, t, chunk):
        c1 = min(t, c0 + chunk)
        n = c1 - c0
        i = idx[:n]
        # decay[h, a, b] = γ^(a - b) for a >= b, else 0 (causal inside the chunk)
        diff = i[:, None] - i[None, :]
        mask = (diff >= 0).float()
        decay = torch.pow(g[:, None, None], diff.clamp(min=0)[None]) * mask[None]
        qc, kc, vc = qf[:, c0:c1], kf[:, c0:c1], vf[:, c0:c1]
        scores = torch.einsum("had,hbd->hab", qc, kc) * decay
        inter = torch.pow(g[:, None], (i + 1)[None])                            # γ^(a+1): the state is at c0 - 1
        num = torch.einsum("hab,hbd->had", scores, vc) + inter[..., None] * torch.einsum("had,hde->hae", qc, s)
        if normalize:
            den = scores.sum(-1) + inter * torch.einsum("had,hd->ha", qc, z)
            num = num / den[..., None]
        out[:, c0:c1] = num
        tail = torch.pow(g[:, None], (n - 1 - i)[None])                         # γ^(c1 - 1 - b)
        s = torch.pow(g, n)[:, None, None] * s + torch.einsum("hbd,hbe->hde", kc * tail[..., None], vc)
        z = torch.pow(g, n)[:, None] * z + (kc * tail[..., None]).sum(1)
    return out.transpose(0, 1)


def recurrence(q, k, v, gamma, kind="elu1", normalize=True):
    """The definition, token by token, in float64."""
    t, hq, d = q.shape
    group = hq // k.shape[1]
    o = torch.zeros(t, hq, d, dtype=torch.float64)
    for h in range(hq):
        gh = 1.0 if gamma is None else float(gamma[h])
        s = torch.zeros(d, d, dtype=torch.float64)
        z = torch.zeros(d, dtype=torch.float64)
        for i in range(t):
            kp = phi(k[i, h // group].double(), kind)
            s = gh * s + torch.outer(kp, v[i, h // group].double())
            z = gh * z + kp
            qp = phi(q[i, h].double(), kind)
            o[i, h] = qp @ s / (qp @ z) if normalize else qp @ s
    return o


def check():
    torch.manual_seed(0)
    worst = 0.0
    for t, hq, hkv, kind, decay, normalize in [(1, 2, 1, "elu1", None, True), (7, 4, 2, "elu1", [0.9, 0.95, 0.99, 1.0], True),
                                               (130, 4, 1, "relu", [0.99] * 4, False), (300, 2, 2, "identity", None, False),
                                               (257, 6, 2, "elu1", [0.999] * 6, True)]:
        q, k, v = (torch.randn(t, h, 16) for h in (hq, hkv, hkv))
        gamma = None if decay is None else torch.tensor(decay)
        got = chunked(q, k, v, gamma, kind, normalize)
        want = recurrence(q, k, v, gamma, kind, normalize)
        err = ((got.double() - want).abs().max() / want.abs().max()).item()
        worst = max(worst, err)
        assert err < 1e-4, f"T={t} {kind} decay={decay} normalize={normalize}: relative error {err:.2e}"
        print(f"T={t} Hq={hq} Hkv={hkv} {kind} decay={'none' if decay is None else 'yes'} normalize={normalize}: max error {err:.2e} of max |o|")
    print(f"check passed: worst {worst:.2e}")


def timed(a):
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    q = torch.randn(a.tokens, a.hq, a.dim, device=dev, dtype=torch.bfloat16)
    k = torch.randn(a.tokens, a.hkv, a.dim, device=dev, dtype=torch.bfloat16)
    v = torch.randn_like(k)
    gamma = torch.full((a.hq,), a.decay) if a.decay else None
    times = []
    for rep in range(a.reps + 1):
        if dev == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        chunked(q, k, v, gamma, a.feature_map, not a.no_normalize)
        if dev == "cuda":
            torch.cuda.synchronize()
        if rep:
            times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    print(json.dumps({"kind": "linear-peer", "impl": "torch chunked (64, fp32 state)", "device": torch.cuda.get_device_name() if dev == "cuda" else "cpu",
                      "tokens": a.tokens, "hq": a.hq, "hkv": a.hkv, "dim": a.dim, "decay": a.decay, "feature_map": a.feature_map,
                      "normalize": not a.no_normalize, "seconds": sec, "tokens_per_s": a.tokens / sec}))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--check", action="store_true")
    p.add_argument("--tokens", type=int, default=0)
    p.add_argument("--hq", type=int, default=32)
    p.add_argument("--hkv", type=int, default=8)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--decay", type=float, default=0.999)
    p.add_argument("--feature-map", default="elu1")
    p.add_argument("--no-normalize", action="store_true")
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    if a.check:
        check()
    if a.tokens:
        timed(a)
