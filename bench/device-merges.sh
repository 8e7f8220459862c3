#!/usr/bin/env bash
# Device merges (issue 15, bench/NOTES.md v21, ADR 27), one device call on nvidia-h200: the A/B of bench/staged-downloads.sh
# (base = the build before, ringattn = the build with the shards of a device merged there along the session's tree)
# on the 1M-token session shape, attends of 1, 16 and 4096 rows, the 4096-row append against SDPA, SDPA of the attends'
# shapes and the float64 check of sessions and jobs; then the new build's timelines of an n = 1 and a 4096-row attend
# on stdout (where the turn's time goes now: one turn of eight shards, seven merges, one download).
set -uo pipefail
out=${OUT:-/tmp/out}
bash bench/staged-downloads.sh
for n in 1 4096; do
  echo "== timeline, ringattn, n=$n"
  sed -n '/timeline of the last attend/,$p' "$out/ringattn/attend-p16384-n$n.txt" | head -${LINES_SHOWN:-70}
done
