#!/usr/bin/env bash
# Follow-up to bench/staged-downloads.sh (one device call): the decode attends (n = 1, 16) of both builds with 20
# attends each, alternated twice (base, new, base, new), then the new build's 4096-row attend with its timeline, and
# SDPA for n = 1 and 16. Prints only summaries and that timeline (the device returns a handful of files).
set -uo pipefail
out=${OUT:-/tmp/out}
for round in 1 2; do
  for b in ${BUILDS:-base ringattn}; do
    rm -rf /tmp/decode
    OUT=/tmp/sd/$b-$round BIN=.device/$b/ringattn SDPA=0 ROWS="1 16" REPEAT=20 PAGES=16384 bash bench/session-decode.sh > /dev/null 2>&1
    echo "== $b round $round"; grep median /tmp/sd/$b-$round/summary.txt
  done
done | tee $out/summary.txt
rm -rf /tmp/decode
OUT=/tmp/sd/t SDPA=0 ROWS=4096 REPEAT=5 TIMELINE=1 PAGES=16384 bash bench/session-decode.sh > /dev/null 2>&1
grep -v "shard load\|lane wait" /tmp/sd/t/attend-p16384-n4096.txt | tee $out/timeline-n4096.txt
python3 bench/peers/sdpa_decode.py --keys 1048576 --rows 1,16 --backends flash,cudnn 2>/dev/null | tee -a $out/summary.txt
