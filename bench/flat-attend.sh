#!/usr/bin/env bash
# Decode steps asking every shard at once (issue 15, bench/NOTES.md v22, ADR 31), one device call on nvidia-h200: the
# A/B of $BUILDS (default "base ringattn": base = the attend sent down the merge tree, ringattn = every shard asked at
# once by the session grain, merged there along the tree) on the 1M-token session (R = 8, pages of 16384), attends of
# 1 and 16 rows, alternated base, new, base, new, timelines kept; SDPA once; then the float64 check of sessions of R = 4
# (n = 1, 16) with the new build, and its n = 1 timeline.
set -uo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
read -r base new <<< "${BUILDS:-base ringattn}"
for round in 1 2; do
  for b in "$base" "$new"; do
    rm -rf /tmp/decode
    OUT=$out/$b$round BIN=.device/$b/ringattn SDPA=0 ROWS="1 16" REPEAT=${REPEAT:-20} TIMELINE=1 PAGES=16384 bash bench/session-decode.sh > "$out/$b$round.log" 2>&1
    echo "== $b, round $round"; grep median "$out/$b$round/summary.txt"
  done
done
rm -rf /tmp/decode
python3 bench/peers/sdpa_decode.py --keys 1048576 --rows 1,16 --backends flash,cudnn 2>/dev/null | tee "$out/sdpa.txt"
OUT=$out/check ROWS="1 16" KEYS=65536 PAGE=5000 bash bench/session-check.sh > "$out/check.log" 2>&1
echo "== check"; grep -E "^n=" "$out/check/summary.txt"
echo "== timeline, $new, n=1"
sed -n '/timeline of the last attend/,$p' "$out/${new}2/attend-p16384-n1.txt" | grep -v -E "lane wait|shard load" | head -${LINES_SHOWN:-40}
