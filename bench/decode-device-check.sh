#!/usr/bin/env bash
# One device call for the tensor-core decode kernel (ADR 20, NOTES v10): is it right, and how fast, against the float
# kernel and SDPA in the same call. In order, each into its own folder of $OUT:
#   1. bench decode: both split kernels on the same paged K/V (131072 and 1M keys, n = 1 and 2), outputs compared; SDPA.
#   2. session-check: a session's attends (n = 1: the mma kernel) against the one-shot job, the job against float64.
#   3. ncu of one n = 1 attend on one 131072-key shard (the split and merge launches).
#   4. session-decode: a 1M-token session of 8 shards on one GPU, 20 attends of n = 1 and 16; SDPA beside.
set -uo pipefail
out=${OUT:-/tmp/out}
step() { local name=$1; shift; mkdir -p "$out/$name"; echo "== $name"; env OUT="$out/$name" "$@" 2>&1 | tail -30; }
step kernels bash bench/decode-kernels.sh
step check env KEYS=65536 PAGE=5000 bash bench/session-check.sh
step ncu env LAUNCHES=2 bash bench/session-ncu.sh
step latency env PAGES=16384 bash bench/session-decode.sh
