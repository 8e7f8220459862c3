#!/usr/bin/env bash
# Where a 4096-row append's time goes (issue 15, bench/NOTES.md v21), one device call on nvidia-h200: `session-append.sh`
# with the last append's timeline (durable copy, page fills, reading q, the prefill's attend, converting and writing the
# output, the commit), JIT off as in the silo images; then a 4096-row attend's timeline (its query check included).
set -uo pipefail
out=${OUT:-/tmp/out}
DOTNET_TieredCompilation=0 TIMELINE=1 OUT=$out/append bash bench/session-append.sh 2>&1 | grep -v "^sdpa efficient"
rm -rf /tmp/append
OUT=$out/attend SDPA=0 ROWS=4096 REPEAT=3 TIMELINE=1 PAGES=16384 bash bench/session-decode.sh > /dev/null 2>&1
grep median $out/attend/summary.txt
sed -n '/timeline of the last attend/,$p' "$out/attend/attend-p16384-n4096.txt" | grep -v -E "lane wait|shard load|group wait|child wait"
