#!/usr/bin/env bash
# Chunked prefill on one H200 (issue 15): a context of $KEYS tokens (32/8 heads, d 128, bf16, causal) in a session of
# $SHARDS shards on cuda:0 (pages of $PAGE tokens), then appends of $ROWS rows with q (`session append --repeat`:
# medians of the appends after the first, split into durable copy, page fill, prefill attend, the rest: reading q and writing the output file), and the
# same appends without q (durable copy and pages only; WITHOUT_Q=0 skips them). TIMELINE=1: the last append's timeline too (`session append
# --timeline`, without the lane and group waits). SDPA=0 leaves SDPA out (an A/B of builds in one call runs it once). PyTorch SDPA in the same call: q [1, 32, ROWS, 128] against
# k, v [1, 8, KEYS + ROWS, 128] with the bottom-right causal mask (torch.nn.attention.bias.causal_lower_right).
set -euo pipefail
out=${OUT:-/tmp/out}; work=${WORK:-/tmp/append}; mkdir -p "$out" "$work"
bin=${BIN:-.device/ringattn/ringattn}
keys=${KEYS:-1048576}; rows=${ROWS:-4096}
common=(--device ${DEVICE:-cuda:0} --silos 1 --session-root $work/root)
$bin gen --output $work/kv.safetensors --tokens $keys --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 > /dev/null
$bin gen --output $work/rows.safetensors --tokens $rows --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 --seed 9 > /dev/null
python3 - $work/rows.safetensors $work/rows-kv.safetensors <<'PY'
import json, struct, sys
src, dst = sys.argv[1:]
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]; header = json.loads(f.read(n)); data = f.read()
parts, offset, out = {}, 0, b""
for name in ("k", "v"):
    t = dict(header[name]); a, b = t["data_offsets"]; out += data[a:b]; t["data_offsets"] = [offset, offset + b - a]; offset += b - a; parts[name] = t
h = json.dumps(parts).encode(); h += b" " * (-len(h) % 8)
open(dst, "wb").write(struct.pack("<Q", len(h)) + h + out)
PY
$bin session create a --inputs $work/kv.safetensors --causal --shards ${SHARDS:-8} --page-tokens ${PAGE:-16384} "${common[@]}" 2>&1 | grep -E "pages hold|durable" | sed "s/^/create: /" | tee -a "$out/summary.txt"
$bin session append a --inputs $work/rows.safetensors --output $work/o.safetensors --force --repeat ${REPEAT:-5} ${TIMELINE:+--timeline} "${common[@]}" > "$out/append-q.txt" 2>&1
grep -E "median" "$out/append-q.txt" | sed "s/^/R=${SHARDS:-8} append $rows rows with q: /" | tee -a "$out/summary.txt"
[[ -n ${TIMELINE:-} ]] && sed -n '/timeline of the last append/,$p' "$out/append-q.txt" | grep -v -E "lane wait|shard load|group wait" | tee -a "$out/summary.txt"
[[ ${WITHOUT_Q:-1} == 1 ]] && $bin session append a --inputs $work/rows-kv.safetensors --repeat ${REPEAT:-5} "${common[@]}" 2>&1 \
  | grep -E "median" | sed "s/^/R=${SHARDS:-8} append $rows rows without q: /" | tee -a "$out/summary.txt"
[[ ${SDPA:-1} == 1 ]] && python3 bench/peers/sdpa_append.py "$keys" "$rows" | tee -a "$out/summary.txt"
