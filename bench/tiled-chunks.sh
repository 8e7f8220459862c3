#!/usr/bin/env bash
# The tiled kernel over chunk tables (issue 15, bench/NOTES.md v22, ADR 29), one device call on nvidia-h200:
# 1. `bench decode`: the decode path alone on 16384-token pages (128K and 1M keys, 32/8 heads, d 128, bf16), the
#    tensor-core decode kernel (mma) against the warp-specialized kernel over chunk tables (tiled), same buffers, the
#    tiled outputs' largest differences from mma's;
# 2. the float64 check (`session-check.sh`, R = 4 on one GPU, 5000-token pages: chunks end mid-tile) of attends of 1,
#    8 and 16 rows (8 and 16 run the tiled kernel over chunk tables, 1 the decode kernel) against one-shot jobs;
# 3. the A/B of two builds ($BUILDS, default "base ringattn") on the 1M-token session (R = 8, pages of 16384), attends
#    of 1 and 16 rows with timelines, then SDPA flash and cuDNN of the same shapes.
set -uo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
export DOTNET_TieredCompilation=0
.device/ringattn/ringattn bench decode --kernels mma,tiled --rows ${DECODE_ROWS:-1,4,8,16} --keys 131072,1048576 --page-tokens 16384 --reps 20 \
  > "$out/decode.txt" 2>&1
echo "== bench decode"; grep -E "keys=|rror" "$out/decode.txt"
OUT=$out/check ROWS="1 8 16" KEYS=65536 PAGE=5000 bash bench/session-check.sh > "$out/check.log" 2>&1
echo "== check"; cat "$out/check/summary.txt"; grep -iE "error|exception" "$out/check.log" | head -5
for b in ${BUILDS:-base ringattn}; do
  rm -rf /tmp/decode
  OUT=$out/$b BIN=.device/$b/ringattn SDPA=0 ROWS="1 16" REPEAT=${REPEAT:-20} TIMELINE=1 PAGES=16384 bash bench/session-decode.sh > "$out/$b.log" 2>&1
  echo "== $b"; grep median "$out/$b/summary.txt"
done
rm -rf /tmp/decode
python3 bench/peers/sdpa_decode.py --keys 1048576 --rows 1,16 --backends flash,cudnn 2>/dev/null | tee "$out/sdpa.txt"
echo "== timeline, ringattn, n=16"
sed -n '/timeline of the last attend/,$p' "$out/ringattn/attend-p16384-n16.txt" | head -${LINES_SHOWN:-40}
