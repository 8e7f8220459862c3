#!/usr/bin/env python3
"""Issue 17's round trip: on a local cluster of 3 silo processes (CPU), the same attention from Python
(Client.attention, numpy in and out) and from `ringattn run` (files in, file out), wall time of each, medians; and
PyTorch's SDPA on the same CPU for reference. One JSON line per measurement on stdout.
  RINGATTN_CMD="dotnet src/Cli/RingAttention.Cli/bin/Release/net10.0/ringattn.dll" python3 bench/python_roundtrip.py"""
import json, os, statistics, subprocess, sys, tempfile, time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "clients", "python"))
sys.path.insert(0, os.path.dirname(__file__))
from ringattention import Client, write_safetensors  # noqa: E402
from local_silos import LocalSilos  # noqa: E402

TOKENS, HQ, HKV, D, SHARDS, REPS = int(os.environ.get("TOKENS", 16384)), 8, 2, 64, 3, int(os.environ.get("REPS", 3))
data = tempfile.mkdtemp(prefix="ringattn-roundtrip-")
with LocalSilos(3, data) as cluster:
    rng = np.random.default_rng(1)
    q = rng.standard_normal((1, TOKENS, HQ, D)).astype(np.float32)
    k = rng.standard_normal((1, TOKENS, HKV, D)).astype(np.float32)
    v = rng.standard_normal((1, TOKENS, HKV, D)).astype(np.float32)
    inputs = os.path.join(data, "qkv.safetensors")
    write_safetensors(inputs, {"q": ("F32", q[0]), "k": ("F32", k[0]), "v": ("F32", v[0])})
    client = Client(cluster.url, data_dir=data)
    client.attention(q[:, :512], k[:, :512], v[:, :512], causal=True, shards=SHARDS, progress=False)  # warm the silos
    py, cli = [], []
    for _ in range(REPS):
        t0 = time.perf_counter()
        client.attention(q, k, v, causal=True, shards=SHARDS, progress=False)
        py.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run(cluster.cmd + ["run", "--cluster", cluster.gateway, "--cluster-id", cluster.cluster_id, "--inputs", inputs,
                              "--output", os.path.join(data, "o.safetensors"), "--causal", "--shards", str(SHARDS), "--force"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cli.append(time.perf_counter() - t0)
    row = {"kind": "python-roundtrip", "tokens": TOKENS, "hq": HQ, "hkv": HKV, "dim": D, "dtype": "f32", "causal": True, "shards": SHARDS,
           "silos": 3, "python_seconds": statistics.median(py), "cli_seconds": statistics.median(cli), "python_runs": py, "cli_runs": cli,
           "overhead": statistics.median(py) / statistics.median(cli) - 1, "cpu_cores": os.cpu_count()}
    print(json.dumps(row))
    try:
        import torch
        if not hasattr(torch.nn.functional, "scaled_dot_product_attention"):
            print(json.dumps({"kind": "torch-sdpa-cpu", "torch": torch.__version__, "note": "this torch has no scaled_dot_product_attention (added in 2.0)"}))
            raise ImportError
        qt, kt, vt = (torch.from_numpy(x).transpose(1, 2) for x in (q, k, v))
        kt, vt = kt.repeat_interleave(HQ // HKV, 1), vt.repeat_interleave(HQ // HKV, 1)
        times = []
        for _ in range(REPS):
            t0 = time.perf_counter()
            torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=True)
            times.append(time.perf_counter() - t0)
        print(json.dumps({"kind": "torch-sdpa-cpu", "tokens": TOKENS, "hq": HQ, "hkv": HKV, "dim": D, "dtype": "f32", "torch": torch.__version__,
                          "seconds": statistics.median(times), "runs": times}))
    except ImportError:
        pass
