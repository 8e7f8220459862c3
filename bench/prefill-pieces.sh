#!/usr/bin/env bash
# Prefill in pieces and the shared turn's kernels (issue 15, bench/NOTES.md v22), one device call on nvidia-h200:
# 1. `bench decode --shards 8`: the 1M-token session's turn alone (8 shards of 128K keys in 16384-token pages, one
#    AccumulateShards), the decode kernel (mma) against the tiled kernel over chunk tables, n = 1, 2, 4, 16;
# 2. the 4096-row append, A/B of $BUILDS' two builds (default "base ringattn": base = one attend then the output's
#    write and flush; ringattn = four pieces, each written and flushed while the next attends), alternated base, new,
#    base, new, with the last append's timeline; the outputs of base and new compared (max |o diff|, lse);
# 3. the new build's session attends of 1, 4 and 16 rows (timelines kept);
# 4. SDPA in the same call: the append's (bottom-right causal) and the attends' shapes.
set -uo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
export DOTNET_TieredCompilation=0
read -r base new <<< "${BUILDS:-base ringattn}"
.device/$new/ringattn bench decode --kernels mma,tiled --rows 1,2,4,16 --keys 1048576 --page-tokens 16384 --shards 8 --reps 20 > "$out/decode8.txt" 2>&1
echo "== bench decode --shards 8"; grep -E "keys=|rror" "$out/decode8.txt"
run() { # name, build
  rm -rf /tmp/append
  TIMELINE=1 BIN=.device/$2/ringattn OUT=$out/$1 SDPA=0 WITHOUT_Q=0 REPEAT=${REPEAT:-4} bash bench/session-append.sh > /dev/null 2>&1
  cp /tmp/append/o.safetensors /tmp/o-$1.safetensors 2>/dev/null
  echo "== $1"; grep -v "pages hold\|create:" "$out/$1/summary.txt" | grep -E "median|durable|page fills|prefill|check|attend turn|kernels|downloads"
}
run base1 "$base"; run new1 "$new"; run base2 "$base"; run new2 "$new"
python3 bench/peers/outputs.py /tmp/o-base1.safetensors /tmp/o-new1.safetensors "== outputs, base vs new"
rm -rf /tmp/append /tmp/decode
OUT=$out/attend BIN=.device/$new/ringattn SDPA=0 ROWS="1 4 16" REPEAT=20 TIMELINE=1 PAGES=16384 bash bench/session-decode.sh > "$out/attend.log" 2>&1
echo "== attends, $new"; grep median "$out/attend/summary.txt"
rm -rf /tmp/decode
python3 bench/peers/sdpa_append.py 1048576 4096 flash,cudnn 10
python3 bench/peers/sdpa_decode.py --keys 1048576 --rows 1,4,16 --backends flash,cudnn 2>/dev/null | tee "$out/sdpa.txt"
