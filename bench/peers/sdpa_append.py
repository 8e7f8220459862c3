"""PyTorch SDPA of a chunked prefill (issue 15): q [1, 32, n, 128] against k, v [1, 8, T + n, 128] (bf16, GQA by
repeat_interleave) with the bottom-right causal mask (torch.nn.attention.bias.causal_lower_right), the append's peer.
Usage: sdpa_append.py T n [backends, default flash,cudnn,efficient] [iterations, default 5]; prints one median a backend
(sdpa_decode.median_ms: 3 warm-ups, CUDA-event timed)."""
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import sdpa_kernel
from torch.nn.attention.bias import causal_lower_right

from sdpa_decode import BACKENDS, median_ms

T, n = int(sys.argv[1]), int(sys.argv[2])
names = (sys.argv[3] if len(sys.argv) > 3 else "flash,cudnn,efficient").split(",")
iterations = int(sys.argv[4]) if len(sys.argv) > 4 else 5
S = T + n
q = torch.randn(1, 32, n, 128, dtype=torch.bfloat16, device="cuda")
k = torch.randn(1, 8, S, 128, dtype=torch.bfloat16, device="cuda")
v = torch.randn_like(k)
kx, vx = k.repeat_interleave(4, dim=1), v.repeat_interleave(4, dim=1)
mask = causal_lower_right(n, S)
for name in names:
    try:
        with sdpa_kernel(BACKENDS[name]):
            ms = median_ms(lambda: F.scaled_dot_product_attention(q, kx, vx, attn_mask=mask), iterations)
        print(f"sdpa {name} {n} queries vs {S} keys, bottom-right causal: median {ms:.2f} ms")
    except Exception as ex:
        print(f"sdpa {name}: error {str(ex).splitlines()[0][:120]}")
