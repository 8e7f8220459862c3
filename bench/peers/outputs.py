"""Outputs of two runs compared, as the device scripts print it (bench/session-check.sh, bench/prefill-pieces.sh):
o and lse of two safetensors files read as float64 (bf16 widened), the largest differences, bitwise equality, and
whether the second is finite. Usage: python3 bench/peers/outputs.py A.safetensors B.safetensors LABEL [SUFFIX]."""
import json
import struct
import sys

import numpy as np


def load(path):
    """Every tensor of a safetensors file (bf16 or f32) as float64, by name."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        raw = data[t["data_offsets"][0]:t["data_offsets"][1]]
        if t["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, dtype=np.float32)
        out[name] = a.reshape(t["shape"]).astype(np.float64)
    return out


def main():
    a, b = load(sys.argv[1]), load(sys.argv[2])
    label, suffix = sys.argv[3], (sys.argv[4] if len(sys.argv) > 4 else "")
    do = np.abs(a["o"] - b["o"]).max()
    dl = np.abs(a["lse"] - b["lse"]).max()
    same = bool((a["o"] == b["o"]).all() and (a["lse"] == b["lse"]).all())
    finite = bool(np.isfinite(b["o"]).all() and np.isfinite(b["lse"]).all())
    print(f"{label}: max |o diff| {do:.3e}, max |lse diff| {dl:.3e}, bitwise equal {same}, finite {finite}{suffix}")


if __name__ == "__main__":
    main()
