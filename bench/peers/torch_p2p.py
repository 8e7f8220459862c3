#!/usr/bin/env python3
"""torch's copy between two GPUs, b.copy_(a) from cuda:0 to cuda:1 and back, per size: the copy-engine figure our
device-to-device hand-off is compared with (issue 13). Median of REPS after one warm-up, CUDA events on the target.
usage: python3 bench/peers/torch_p2p.py --mib 64,256,1024 [--reps 10]; one JSON line per (size, direction)."""
import argparse, json, statistics
import torch

p = argparse.ArgumentParser()
p.add_argument("--mib", default="64,256,1024")
p.add_argument("--reps", type=int, default=10)
a = p.parse_args()
for mib in [int(m) for m in a.mib.split(",")]:
    n = mib << 20
    for src, dst in ((0, 1), (1, 0)):
        x = torch.empty(n, dtype=torch.uint8, device=f"cuda:{src}")
        y = torch.empty(n, dtype=torch.uint8, device=f"cuda:{dst}")
        times = []
        for i in range(1 + a.reps):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            with torch.cuda.device(dst):
                start.record(); y.copy_(x); end.record()
            torch.cuda.synchronize(src); torch.cuda.synchronize(dst)
            if i > 0:
                times.append(start.elapsed_time(end))
        ms = statistics.median(times)
        print(json.dumps({"kind": "torch-p2p", "from": f"cuda:{src}", "to": f"cuda:{dst}", "mib": mib, "bytes": n, "median_ms": ms, "gbps": n / ms / 1e6}), flush=True)
