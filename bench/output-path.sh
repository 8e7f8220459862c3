#!/usr/bin/env bash
# Where the wall time beyond attention goes (issue 13, item 4), one device call: the file system under the job's
# files (dd into the page cache, the kernel's dirty-page limits) and the same job with its files on the disk (/tmp)
# and in memory (/dev/shm), --repeat 2, the input written (and synced) before the first run; the split of the wall time
# (before the ring, the ring, after it) and each shard's write (downloads, conversion and write) from the silo log;
# with ROWS=N the output checked against float64 on N rows. TOKENS, DIRS, DEVICE (cuda:0), SILOS (1) choose the runs.
set -euo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
bin=.device/ringattn/ringattn
dev=${DEVICE:-cuda:0}
{
  nproc; free -g | head -2; df -h /tmp /dev/shm; mount | grep -E ' /tmp | / | /dev/shm ' || true
  for f in dirty_ratio dirty_background_ratio dirty_bytes dirty_background_bytes dirty_expire_centisecs; do echo "$f $(cat /proc/sys/vm/$f)"; done
  for d in /tmp /dev/shm; do
    sync; s=$(date +%s.%N); dd if=/dev/zero of=$d/dd.bin bs=64M count=64 status=none; e=$(date +%s.%N)
    echo "dd 4 GiB into $d page cache: $(python3 -c "print(f'{4.295/($e-$s):.2f} GB/s')")"
    s=$(date +%s.%N); sync; e=$(date +%s.%N); echo "sync after: $(python3 -c "print(f'{$e-$s:.2f} s')")"
    rm -f $d/dd.bin
  done
} 2>&1 | tee "$out/fs.txt"
for t in ${TOKENS:-131072}; do
for d in ${DIRS:-/tmp /dev/shm}; do
  w=$d/opath; mkdir -p $w
  $bin gen --output $w/qkv.safetensors --tokens $t --heads 32 --kv-heads 8 --head-dim 128 --dtype bf16 > /dev/null
  sync
  tag=$(basename $d)
  $bin run --inputs $w/qkv.safetensors --output $w/o.safetensors --causal --shards 8 --device $dev --repeat 2 --verbose \
    --max-job-memory 200000000000 --json > "$out/run-$tag-$t.json" 2> "$out/run-$tag-$t.err" || tail -5 "$out/run-$tag-$t.err"
  python3 - "$out/run-$tag-$t.json" "$d" <<'PY' | tee -a "$out/summary.txt"
import json, sys
d = json.load(open(sys.argv[1])); j = d["job"]
print(f"{sys.argv[2]} T={j['tokens']}: walls {[round(x, 3) for x in d['wallSeconds']]} attention {j['ringSeconds']:.3f} s, before ring {j.get('beforeRingSeconds', 0):.3f} s, after ring {j.get('afterRingSeconds', 0):.3f} s (last run), load sum {j['loadSeconds']:.2f} s, write sum {j['writeSeconds']:.2f} s, wall/attention {min(d['wallSeconds'])/j['ringSeconds']:.2f}")
PY
  log=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['log'])" "$out/run-$tag-$t.json")
  { grep -E "wrote its rows" "$log" || true; } | sed "s/.*shard/shard/" | tail -8 | tee -a "$out/summary.txt"
  if [[ -n ${ROWS:-} ]]; then
    python3 bench/peers/torch_attention.py check --inputs $w/qkv.safetensors --output $w/o.safetensors --causal --rows $ROWS 2>&1 | tail -3 | tee -a "$out/summary.txt"
  fi
  rm -rf $w
done
done
