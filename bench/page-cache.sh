#!/usr/bin/env bash
# How fast this host puts new pages into the page cache (issue 13, item 4: the output write after the ring): 4 GiB by
# dd into a new file, the same file overwritten in place, then 8 writers at once (512 MiB each) new and in place.
set -euo pipefail
d=${DIR:-/tmp}/pagecache; mkdir -p $d; rm -f $d/*
rate() { python3 -c "import sys; print(f'{4.295/(float(sys.argv[2])-float(sys.argv[1])):.2f} GB/s')" "$1" "$2"; }
s=$(date +%s.%N); dd if=/dev/zero of=$d/one bs=64M count=64 status=none; e=$(date +%s.%N); echo "1 writer, new file: $(rate $s $e)"
s=$(date +%s.%N); dd if=/dev/zero of=$d/one bs=64M count=64 conv=notrunc status=none; e=$(date +%s.%N); echo "1 writer, in place: $(rate $s $e)"
s=$(date +%s.%N); for i in 0 1 2 3 4 5 6 7; do dd if=/dev/zero of=$d/p$i bs=64M count=8 status=none & done; wait; e=$(date +%s.%N); echo "8 writers, new files: $(rate $s $e)"
s=$(date +%s.%N); for i in 0 1 2 3 4 5 6 7; do dd if=/dev/zero of=$d/p$i bs=64M count=8 conv=notrunc status=none & done; wait; e=$(date +%s.%N); echo "8 writers, in place: $(rate $s $e)"
s=$(date +%s.%N); for i in 0 1 2 3 4 5 6 7; do dd if=/dev/zero of=$d/one bs=64M seek=$((i*8)) count=8 conv=notrunc status=none & done; wait; e=$(date +%s.%N); echo "8 writers, one file in place: $(rate $s $e)"
python3 - <<'PY'
import time, mmap
n = 4 << 30
t = time.time(); m = mmap.mmap(-1, n); 
for off in range(0, n, 4096): m[off] = 1
t1 = time.time(); print(f"first touch of 4 GiB anonymous memory (1 thread, a byte per page): {n/1e9/(t1-t):.2f} GB/s")
for off in range(0, n, 4096): m[off] = 2
print(f"second touch: {n/1e9/(time.time()-t1):.2f} GB/s")
PY
rm -rf $d
