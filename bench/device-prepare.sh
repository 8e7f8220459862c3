#!/usr/bin/env bash
# Everything a GPU run needs, in the one folder the device tool carries (.device/, at most 64 MiB): the trimmed
# self-contained ringattn (scripts/release.sh). The scripts of bench/ travel with the working tree; the PyTorch oracle
# is bench/peers/torch_attention.py. Then, with the device tool: run with carry [".device"], e.g.
#   python3 bench/device_bench.py .device/ringattn/ringattn "$OUT" --reps 10
#   bash bench/gpu-ring-efficiency.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$root/.device/ringattn"
"$root/scripts/release.sh" "$root/.device/ringattn"
du -sh "$root/.device"
