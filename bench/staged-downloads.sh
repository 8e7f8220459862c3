#!/usr/bin/env bash
# Staged downloads (issue 15, bench/NOTES.md v20), one device call on nvidia-h200. An A/B of two builds ($BUILDS, each
# .device/<name>/ringattn; default "base ringattn") on the same 1M-token session shape: `session-decode.sh` with attends
# of 1, 16 and 4096 rows (timelines kept), then the new build's 4096-row appends against SDPA (`session-append.sh`),
# SDPA of the attends' shapes, and the float64 check of sessions and jobs of 1, 16 and 4096 query rows
# (`session-check.sh`: a 4096-row partial is 64 MiB, sixteen staged pieces). GC=1 adds the new build with
# DOTNET_GCRetainVM=1 (the experiment in bench/gc-experiment.sh kept freed memory committed: fewer page faults).
set -uo pipefail
out=${OUT:-/tmp/out}
for b in ${BUILDS:-base ringattn}; do
  rm -rf /tmp/decode
  OUT=$out/$b BIN=.device/$b/ringattn SDPA=0 ROWS="1 16 4096" REPEAT=${REPEAT:-5} TIMELINE=1 PAGES=16384 bash bench/session-decode.sh > $out/$b.log 2>&1
  echo "== $b"; grep median $out/$b/summary.txt
done
if [[ ${GC:-0} == 1 ]]; then
  rm -rf /tmp/decode
  DOTNET_GCRetainVM=1 OUT=$out/retain SDPA=0 ROWS="1 16 4096" REPEAT=${REPEAT:-5} TIMELINE=1 PAGES=16384 bash bench/session-decode.sh > $out/retain.log 2>&1
  echo "== ringattn, DOTNET_GCRetainVM=1"; grep median $out/retain/summary.txt
fi
rm -rf /tmp/decode
DOTNET_TieredCompilation=0 OUT=$out/append bash bench/session-append.sh > $out/append.log 2>&1; echo "== append"; cat $out/append/summary.txt
rm -rf /tmp/append
python3 bench/peers/sdpa_decode.py --keys 1048576 --rows 1,16,4096 --backends flash,cudnn 2>/dev/null | tee $out/sdpa.txt
OUT=$out/check ROWS="1 16 4096" KEYS=65536 PAGE=5000 bash bench/session-check.sh > $out/check.log 2>&1; echo "== check"; cat $out/check/summary.txt
