#!/usr/bin/env python3
"""Issue 16's peer: linear attention in PyTorch, the standard chunkwise-parallel form (chunks of 64 tokens, fp32 state):
per chunk, the intra-chunk product (φ(Q)φ(K)ᵀ ⊙ decay mask)·V plus φ(Q)·S of the state at the chunk's start, then
S = γ^C S + φ(K)ᵀ(decay ⊙ V). Feature maps elu1 | relu | identity, per-head decay γ (retention) or none, normalised
(÷ φ(q)ᵀz) or not, causal, GQA (a kv head's k/v shared by its query heads). Layout [T, H, D] as our safetensors.
  --check        small random cases against a float64 token-by-token recurrence (CPU is enough)
  --impl         batched (default: all chunks of a group of heads in batched einsums, a loop over blocks of 64 chunks for
                 the state) or loop (a Python loop over chunks)
  --verify IN OUT   our output file against float64 on its inputs (options from the output's metadata)
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


def chunked_batched(q, k, v, gamma, kind="elu1", normalize=True, chunk=64, block=64, heads_at_once=4, dtype=torch.float32):
    """The same chunkwise form with every chunk of a group of heads at once (RetNet's chunkwise forward): intra-chunk
    products and chunk states as batched einsums, the state before each chunk from a block-level decay matrix (blocks of
    `block` chunks) plus one sequential carry per block. Returns o [T, Hq, D] float32."""
    t, hq, d = q.shape
    group = hq // k.shape[1]
    dev = q.device
    pad = (-t) % chunk
    n = (t + pad) // chunk
    nb = (n + block - 1) // block
    out = torch.empty(t, hq, d, device=dev, dtype=dtype)
    g_all = torch.ones(hq, device=dev, dtype=dtype) if gamma is None else gamma.to(dev).to(dtype)
    i = torch.arange(chunk, device=dev, dtype=dtype)
    bi = torch.arange(block, device=dev, dtype=dtype)
    for h0 in range(0, hq, heads_at_once):
        h1 = min(hq, h0 + heads_at_once)
        hh = h1 - h0
        kv_idx = torch.arange(h0, h1, device=dev) // group
        def prep(x, idx=None):
            x = x.to(dtype) if idx is None else x.index_select(1, idx).to(dtype)
            x = F.pad(x, (0, 0, 0, 0, 0, pad))
            return x.transpose(0, 1).reshape(hh, n, chunk, d)
        qf = phi(prep(q[:, h0:h1]), kind)
        kf = phi(prep(k, kv_idx), kind)
        if pad:  # padded keys must not contribute (φ(0) may be 1)
            kf.view(hh, n * chunk, d)[:, t:] = 0
        vf = prep(v, kv_idx)
        lg = torch.log(g_all[h0:h1])                                            # [H]
        diff = i[:, None] - i[None, :]
        decay = torch.exp(lg[:, None, None] * diff.clamp(min=0)) * (diff >= 0)  # [H, C, C]
        scores = torch.einsum("hnad,hnbd->hnab", qf, kf) * decay[:, None]
        num = torch.einsum("hnab,hnbd->hnad", scores, vf)
        den = scores.sum(-1) if normalize else None
        del scores
        kw = kf * torch.exp(lg[:, None] * (chunk - 1 - i))[:, None, :, None]   # key b weighted γ^(C-1-b)
        states = torch.einsum("hnbd,hnbe->hnde", kw, vf)                       # each chunk's own S [H, N, D, D]
        zs = kw.sum(2)                                                          # and z [H, N, D]
        del kw
        blockpad = nb * block - n
        states = F.pad(states, (0, 0, 0, 0, 0, blockpad)).view(hh, nb, block, d, d)
        zs = F.pad(zs, (0, 0, 0, blockpad)).view(hh, nb, block, d)
        bd = bi[:, None] - bi[None, :] - 1                                      # n - 1 - m
        dm = torch.exp(lg[:, None, None] * chunk * bd.clamp(min=0)) * (bd >= 0)  # [H, B, B]: γ^(C(n-1-m)), m < n
        prefix = torch.einsum("hnm,hbmde->hbnde", dm, states)                  # state before chunk n from its block's chunks
        pz = torch.einsum("hnm,hbmd->hbnd", dm, zs)
        tail = torch.exp(lg[:, None] * chunk * (block - 1 - bi))                # [H, B]
        block_s = torch.einsum("hm,hbmde->hbde", tail, states)
        block_z = torch.einsum("hm,hbmd->hbd", tail, zs)
        del states, zs
        gb = torch.exp(lg * chunk * block)[:, None, None]
        carry_s = torch.zeros(hh, d, d, device=dev, dtype=dtype)
        carry_z = torch.zeros(hh, d, device=dev, dtype=dtype)
        into = torch.exp(lg[:, None] * chunk * bi)                              # carry reaches chunk n of a block γ^(Cn)
        for b in range(nb):                                                    # one sequential step per block of chunks
            prefix[:, b] += into[:, :, None, None] * carry_s[:, None]
            pz[:, b] += into[:, :, None] * carry_z[:, None]
            carry_s = gb * carry_s + block_s[:, b]
            carry_z = gb[:, :, 0] * carry_z + block_z[:, b]
        prefix = prefix.reshape(hh, nb * block, d, d)[:, :n]
        pz = pz.reshape(hh, nb * block, d)[:, :n]
        inter = torch.exp(lg[:, None] * (i + 1))[:, None, :, None]              # γ^(a+1)
        num += inter * torch.einsum("hnad,hnde->hnae", qf, prefix)
        if normalize:
            den += inter[..., 0] * torch.einsum("hnad,hnd->hna", qf, pz)
            num = num / den[..., None]
        del prefix, pz
        out[:, h0:h1] = num.reshape(hh, n * chunk, d)[:, :t].transpose(0, 1)
    return out


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
        want = recurrence(q, k, v, gamma, kind, normalize)
        for name, impl in (("loop", chunked), ("batched", lambda *a: chunked_batched(*a, block=4, heads_at_once=3))):
            got = impl(q, k, v, gamma, kind, normalize)
            err = ((got.double() - want).abs().max() / want.abs().max()).item()
            worst = max(worst, err)
            assert err < 1e-4, f"{name} T={t} {kind} decay={decay} normalize={normalize}: relative error {err:.2e}"
            print(f"{name}: T={t} Hq={hq} Hkv={hkv} {kind} decay={'none' if decay is None else 'yes'} normalize={normalize}: max error {err:.2e} of max |o|")
    print(f"check passed: worst {worst:.2e}")


def read_safetensors(path, dev):
    """The format itself (8-byte header length, JSON header, raw data): no package needed."""
    types = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] not in types:
            continue
        b, e = info["data_offsets"]
        tensors[name] = torch.frombuffer(data[b:e], dtype=types[info["dtype"]]).reshape(info["shape"]).to(dev)
    return tensors, header.get("__metadata__", {})


def verify(a):
    """Our output file against the chunkwise form in float64 (itself checked against the recurrence by --check) on the
    inputs file: max |o - ref| / max |ref|, NaN counted. Options as the job's (read from the output's metadata)."""
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    inputs, _ = read_safetensors(a.verify[0], dev)
    outputs, meta = read_safetensors(a.verify[1], dev)
    o = outputs["o"].double()
    assert meta.get("attention") == "linear", f"{a.verify[1]} is not a linear-attention output: {meta}"
    causal = meta["mask"] == "causal"
    gamma = None
    if "decay" in meta:
        values = [float(x) for x in meta["decay"].split(",")]
        gamma = torch.tensor(values * (inputs["q"].shape[1] if len(values) == 1 else 1), dtype=torch.float64)
    normalize = meta["normalize"] == "true"
    q, k, v = (inputs[n].double() for n in ("q", "k", "v"))
    if causal:
        want = chunked_batched(q, k, v, gamma, meta["feature_map"], normalize, dtype=torch.float64)
    else:  # every row reads the whole sequence's state
        group = q.shape[1] // k.shape[1]
        qf, kf = phi(q, meta["feature_map"]), phi(k, meta["feature_map"]).repeat_interleave(group, 1)
        s_all = torch.einsum("thd,the->hde", kf, v.repeat_interleave(group, 1))
        want = torch.einsum("thd,hde->the", qf, s_all)
        if normalize:
            want = want / torch.einsum("thd,hd->th", qf, kf.sum(0))[..., None]
    nan = int(torch.isnan(o).sum())
    err = ((o - want).abs().max() / want.abs().max()).item()
    # The output dtype's rounding and float32 accumulation (TF32 operands on the GPU: 2^-11 each) set the bound.
    tolerance = a.tolerance if a.tolerance is not None else {torch.bfloat16: 1e-2, torch.float16: 2e-3}.get(outputs["o"].dtype, 2e-4)
    print(json.dumps({"kind": "linear-verify", "output": a.verify[1], "tokens": q.shape[0], "hq": q.shape[1], "hkv": k.shape[1], "dim": q.shape[2],
                      "dtype": str(inputs["q"].dtype), "causal": causal, "decay": meta.get("decay"), "normalize": normalize,
                      "shards": meta.get("shards"), "max_rel_error": err, "tolerance": tolerance, "nan": nan, "passed": nan == 0 and err <= tolerance}))


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
        if a.impl == "loop":
            chunked(q, k, v, gamma, a.feature_map, not a.no_normalize)
        else:
            chunked_batched(q, k, v, gamma, a.feature_map, not a.no_normalize, heads_at_once=a.heads_at_once)
        if dev == "cuda":
            torch.cuda.synchronize()
        if rep:
            times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    print(json.dumps({"kind": "linear-peer", "impl": f"torch chunked {a.impl} (64, fp32 state)", "device": torch.cuda.get_device_name() if dev == "cuda" else "cpu",
                      "tokens": a.tokens, "heads_at_once": a.heads_at_once, "hq": a.hq, "hkv": a.hkv, "dim": a.dim, "decay": a.decay, "feature_map": a.feature_map,
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
    p.add_argument("--heads-at-once", type=int, default=4, help="batched: query heads computed together (fewer: less memory)")
    p.add_argument("--verify", nargs=2, metavar=("INPUTS", "OUTPUT"), help="check our output file against float64")
    p.add_argument("--tolerance", type=float, default=None, help="--verify: largest max |o - ref| / max |ref| that passes (default by the output dtype: bf16 1e-2, f16 2e-3, f32 2e-4)")
    p.add_argument("--impl", choices=["batched", "loop"], default="batched", help="batched: every chunk at once (RetNet's form); loop: one chunk at a time")
    a = p.parse_args()
    if a.check:
        check()
    if a.verify:
        verify(a)
    if a.tokens:
        timed(a)
