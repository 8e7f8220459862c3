#!/usr/bin/env python3
"""PyTorch's own ring on the same GPUs (issue 13's peer): torch.distributed.tensor.experimental.context_parallel with
SDPA (cuDNN and flash backends), Hq/Hkv/d/bf16/causal as our job, identical full-length q/k/v on every rank (same seed)
before entering the context, which shards them along the sequence (head-tail load balancing for causal) and patches
F.scaled_dot_product_attention. Times the attention call only (barrier + synchronize around it), 1 warm-up + REPS.
Launch: torchrun --standalone --nproc-per-node 2 bench/peers/torch_cp.py --tokens 131072,262144 --backends cudnn,flash
Prints one JSON line per (tokens, backend) on rank 0: seconds (median), TFLOP/s per GPU (4·T²·Hq·D/2 for causal)."""
import argparse, json, statistics, time
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor.experimental import context_parallel
from torch.nn.attention import SDPBackend, sdpa_kernel

p = argparse.ArgumentParser()
p.add_argument("--tokens", default="131072")
p.add_argument("--backends", default="cudnn,flash")
p.add_argument("--hq", type=int, default=32)
p.add_argument("--hkv", type=int, default=8)
p.add_argument("--dim", type=int, default=128)
p.add_argument("--reps", type=int, default=2)
a = p.parse_args()
BACKENDS = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION}

dist.init_process_group("nccl")
rank, world = dist.get_rank(), dist.get_world_size()
torch.cuda.set_device(rank)
mesh = init_device_mesh("cuda", (world,))
for tokens in [int(t) for t in a.tokens.split(",")]:
    for name in a.backends.split(","):
        torch.manual_seed(0)
        q = torch.randn(1, a.hq, tokens, a.dim, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(1, a.hkv, tokens, a.dim, device="cuda", dtype=torch.bfloat16)
        v = torch.randn(1, a.hkv, tokens, a.dim, device="cuda", dtype=torch.bfloat16)
        times, error = [], None
        try:
            with sdpa_kernel(BACKENDS[name]):
                with context_parallel(mesh, buffers=[q, k, v], buffer_seq_dims=[2, 2, 2], no_restore_buffers={q, k, v}):
                    for i in range(1 + a.reps):
                        torch.cuda.synchronize(); dist.barrier(); t0 = time.perf_counter()
                        o = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
                        torch.cuda.synchronize(); dist.barrier(); t = time.perf_counter() - t0
                        if i > 0:
                            times.append(t)
                        del o
        except Exception as e:  # report, keep going with the next shape
            error = f"{type(e).__name__}: {e}"[:300]
        if rank == 0:
            flops = 4.0 * tokens * tokens * a.hq * a.dim * 0.5
            s = statistics.median(times) if times else None
            print(json.dumps({"kind": "torch-cp", "backend": name, "gpus": world, "tokens": tokens, "hq": a.hq, "hkv": a.hkv, "dim": a.dim,
                              "causal": True, "seconds": s, "runs": times, "tflops_per_gpu": (flops / s / world / 1e12) if s else None,
                              "error": error}), flush=True)
        del q, k, v
        torch.cuda.empty_cache()
dist.destroy_process_group()
