"""The Python client against a real silo: attention in both layouts, batch and GQA, numpy and torch, against a float64
reference; job handles; refusals naming the field; the file format round trip."""
import os

import numpy as np
import pytest

from ringattention import Client, RingAttentionError, read_safetensors, write_safetensors
from ringattention.safetensors_io import bf16_bits_to_float32, float32_to_bf16_bits


def reference(q, k, v, causal, window=None):
    """float64 attention of [B, T, H, D] q and [B, T, Hkv, D] k, v: (o [B, T, H, D], lse [B, H, T])."""
    b, t, h, d = q.shape
    group = h // k.shape[2]
    k = np.repeat(k.astype(np.float64), group, axis=2)
    v = np.repeat(v.astype(np.float64), group, axis=2)
    s = np.einsum("bqhd,bkhd->bhqk", q.astype(np.float64), k) / np.sqrt(d)
    i, j = np.arange(t)[:, None], np.arange(t)[None, :]
    visible = np.ones((t, t), bool)
    if causal:
        visible &= j <= i
    if window is not None:  # our window W: |query - key| < W (causal: 0 <= query - key < W)
        visible &= np.abs(i - j) < window
    s = np.where(visible, s, -np.inf)
    m = s.max(-1, keepdims=True)
    p = np.exp(s - m)
    lse = (np.log(p.sum(-1)) + m[..., 0])
    o = np.einsum("bhqk,bkhd->bqhd", p / p.sum(-1, keepdims=True), v)
    return o, lse


def random(shape, dtype, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("layout", ["bshd", "bhsd"])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-4), (np.float16, 3e-3)])
def test_attention_matches_float64(silo, layout, dtype, tol):
    b, t, h, hkv, d = 2, 301, 4, 2, 32
    q, k, v = random((b, t, h, d), dtype, 1), random((b, t, hkv, d), dtype, 2), random((b, t, hkv, d), dtype, 3)
    want_o, want_lse = reference(q, k, v, causal=True)
    client = Client(silo["url"], data_dir=silo["data"])
    args = (q, k, v) if layout == "bshd" else tuple(x.transpose(0, 2, 1, 3) for x in (q, k, v))

    o, lse = client.attention(*args, causal=True, shards=3, layout=layout, progress=False)

    assert o.dtype == dtype
    got = o if layout == "bshd" else o.transpose(0, 2, 1, 3)
    assert got.shape == (b, t, h, d) and lse.shape == (b, h, t)
    assert np.abs(got.astype(np.float64) - want_o).max() <= tol * np.abs(v).max()
    assert np.abs(lse - want_lse).max() <= 1e-3
    assert not [f for f in os.listdir(silo["data"]) if f.startswith("ringattn-")], "temporary files left behind"


def test_torch_bfloat16_comes_back_as_torch_bfloat16(silo):
    torch = pytest.importorskip("torch")
    q, k, v = (torch.from_numpy(random((1, 200, h, 16), np.float32, s)).to(torch.bfloat16) for h, s in ((4, 4), (1, 5), (1, 6)))
    want_o, _ = reference(q.float().numpy(), k.float().numpy(), v.float().numpy(), causal=False, window=17)

    o, lse = Client(silo["url"], data_dir=silo["data"]).attention(q, k, v, window=17, shards=2, progress=False)

    assert o.dtype == torch.bfloat16 and tuple(o.shape) == (1, 200, 4, 16) and lse.dtype == torch.float32
    assert np.abs(o.float().numpy() - want_o).max() <= 1.6e-2 * float(v.float().abs().max())


def test_submit_wait_result_and_the_job_list(silo):
    client = Client(silo["url"], data_dir=silo["data"])
    q = random((1, 64, 2, 16), np.float32, 7)
    job = client.submit(q, q[:, :, :1], q[:, :, :1], causal=True)

    final = job.wait()

    assert final["state"] == "Completed" and job.progress() == 1.0
    assert job.id in [j["jobId"] for j in client.jobs()]
    o, _ = job.result()
    assert o.shape == (1, 64, 2, 16)


def test_refusals_name_the_field(silo):
    client = Client(silo["url"], data_dir=silo["data"])
    q = random((1, 8, 2, 16), np.float32, 8)
    with pytest.raises(RingAttentionError) as refused:
        client.attention(q, q, q, shards=9, progress=False)
    assert refused.value.field == "shards" and refused.value.status_code == 400
    with pytest.raises(RingAttentionError) as layout:
        client.attention(q, q, q, layout="sbhd", progress=False)
    assert layout.value.field == "layout"
    with pytest.raises(RingAttentionError) as dtype:
        client.attention(q.astype(np.float64), q, q, progress=False)
    assert dtype.value.field == "dtype"
    assert not [f for f in os.listdir(silo["data"]) if f.startswith("ringattn-")]


def test_safetensors_round_trip_and_bf16_rounding(tmp_path):
    x = np.array([1.0, -2.5, 3.00390625, 1e-3, np.inf], np.float32)
    bits = float32_to_bf16_bits(x)
    assert bits[2] == 0x4040  # 3.00390625 is halfway between 3.0 and 3.015625: ties to even -> 3.0
    path = str(tmp_path / "t.safetensors")
    write_safetensors(path, {"a": ("BF16", bits), "b": ("F16", x.astype(np.float16))}, {"k": "v"})
    tensors, meta = read_safetensors(path)
    assert meta == {"k": "v"}
    assert np.array_equal(bf16_bits_to_float32(tensors["a"][1]), bf16_bits_to_float32(bits))
    assert tensors["b"][0] == "F16" and np.array_equal(tensors["b"][1], x.astype(np.float16))
