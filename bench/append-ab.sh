#!/usr/bin/env bash
# The 4096-row append, A/B (issue 15, bench/NOTES.md v21), one device call on nvidia-h200: builds $BUILDS (each
# .device/<name>/ringattn; default "base ringattn": base = the device-merge build ffda14a, ringattn = q read ahead
# while the segment is written, the non-finite scan on several threads, no zeroing of q and o) with the last append's
# timeline, alternated base, new, base, new; RETAIN=1: then the new build with DOTNET_GCRetainVM=1 (freed memory kept
# committed: fewer page faults on the fresh 32-64 MiB arrays of q, partials and o); the new build's 4096-row attend
# with DOTNET_GCRetainVM each of $ATTEND_GC (default "0 1"; empty: none); and SDPA bottom-right causal once. JIT off
# as in the silo images. (Call 3 ran it with the base build given --timeline, which it does not know: no base figures.)
set -uo pipefail
out=${OUT:-/tmp/out}
export DOTNET_TieredCompilation=0
run() { # name, build, extra env (the base build has no `session append --timeline`: TIMELINE= leaves it out)
  rm -rf /tmp/append
  env TIMELINE=1 $3 BIN=.device/$2/ringattn OUT=$out/$1 SDPA=0 WITHOUT_Q=0 bash bench/session-append.sh > /dev/null 2>&1
  echo "== $1"; grep -v "pages hold\|create:" $out/$1/summary.txt | grep -E "median|durable copy|page fills|prefill|shard stats|session append|check|attend turn|upload|kernels|merges|downloads"
}
run base1 base TIMELINE=; run new1 ringattn X=0; run base2 base TIMELINE=; run new2 ringattn X=0
[[ ${RETAIN:-0} == 1 ]] && run retain ringattn DOTNET_GCRetainVM=1
for gc in ${ATTEND_GC-0 1}; do
  rm -rf /tmp/decode
  DOTNET_GCRetainVM=$gc OUT=$out/attend$gc SDPA=0 ROWS=4096 REPEAT=5 PAGES=16384 bash bench/session-decode.sh > /dev/null 2>&1
  echo "== attend 4096, DOTNET_GCRetainVM=$gc"; grep median $out/attend$gc/summary.txt
done
rm -rf /tmp/decode /tmp/append
python3 bench/peers/sdpa_append.py 1048576 4096 flash,cudnn 10
