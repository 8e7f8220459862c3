#!/usr/bin/env bash
# The GC experiment of bench/NOTES.md v20 (one device call on nvidia-h200, the build in .device/ringattn): attends of 16
# and 4096 rows against a 1M-token session (session-decode.sh, timelines kept) with the default GC, with
# DOTNET_GCRetainVM=1 (freed memory stays committed, so fresh result arrays fault fewer pages), and with that plus a
# 128 MiB gen0 budget and a 2 MiB large-object threshold. Prints each variant's medians and its download phases.
set -u
for v in base retain retain-gen0; do
  case $v in
    base) envs=();;
    retain) envs=(DOTNET_GCRetainVM=1);;
    retain-gen0) envs=(DOTNET_GCRetainVM=1 DOTNET_GCgen0size=0x8000000 DOTNET_GCLOHThreshold=0x200000);;
  esac
  rm -rf /tmp/decode
  env "${envs[@]}" OUT=$OUT/$v SDPA=0 ROWS="16 4096" REPEAT=5 TIMELINE=1 PAGES=16384 bash bench/session-decode.sh > $OUT/$v.log 2>&1
  echo "== $v"; grep median $OUT/$v/summary.txt
  grep -E "downloads|kernels|upload q" $OUT/$v/attend-p16384-n4096.txt | tr '\n' ' '; echo
  grep -E "downloads" $OUT/$v/attend-p16384-n16.txt | tr '\n' ' '; echo
done
