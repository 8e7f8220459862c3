"""PyTorch SDPA as the decode peer (issue 15): q [1, 32, n, 128] against k, v [1, 8, T, 128] in bf16 with enable_gqa and no
mask (the last n rows of a causal context see all but at most n - 1 keys: the same cost), median of 20 CUDA-event-timed
calls after 3 warm-ups, per backend. Prints one line per (keys, rows, backend) with the K/V bytes read per second.

Usage: python3 sdpa_decode.py --keys 131072,1048576 --rows 1,16 [--backends flash,cudnn,efficient]
"""
import argparse

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

BACKENDS = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION}


def median_ms(f, reps=20):
    for _ in range(3):
        f()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        f()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[reps // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", required=True)
    parser.add_argument("--rows", required=True)
    parser.add_argument("--backends", default="flash,cudnn,efficient")
    args = parser.parse_args()
    for keys in map(int, args.keys.split(",")):
        k = torch.randn(1, 8, keys, 128, dtype=torch.bfloat16, device="cuda")
        v = torch.randn_like(k)
        for n in map(int, args.rows.split(",")):
            q = torch.randn(1, 32, n, 128, dtype=torch.bfloat16, device="cuda")
            for name in args.backends.split(","):
                try:
                    with sdpa_kernel(BACKENDS[name]):
                        ms = median_ms(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))
                    print(f"sdpa {name} n={n} keys={keys}: median {ms:.3f} ms, {4 * keys * 8 * 128 / ms / 1e6:.0f} GB/s")
                except Exception as ex:  # a backend that refuses the shape says so and the others still run
                    print(f"sdpa {name} n={n} keys={keys}: error {str(ex).splitlines()[0][:100]}")


if __name__ == "__main__":
    main()
