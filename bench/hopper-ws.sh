#!/usr/bin/env bash
# Issue 14, the warp-specialized Hopper kernel (ADR 22), one device call on nvidia-h200 (repo root, .device/ringattn carried):
#   ptxas   the generated PTX assembled for sm_90a (registers, spills, errors) before anything runs
#   verify  (PART=verify,...) the float64 correctness sweep, VERIFY=quick|dims|'' (all)
#   smoke   one small launch of each path with a timeout (a wrong mbarrier protocol hangs rather than fails)
#   fp8smoke  (PART=...,fp8smoke) small FP8 launches, 128 and 256, with their float64 errors
#   fp8ring (PART=...,fp8ring) bench/fp8_check.py: FP8 jobs on the ring (K/V blocks in FP8) against float64
#   ncu     (PART=...,ncu) Nsight Compute, full set, of one launch per NCU_CASES entry ("dtype dim tokens heads causal;...")
#   speed   ours with each flag set of RUNS (';'-separated; default: the warp-specialized kernel, then the ILGPU
#           wgmma kernel) vs PyTorch SDPA flash and cuDNN in the same run
#           (bench/device_bench.py), DIMS x TOKENS x HEADS x causal 0/1 x DTYPES
# Results: $OUT/ptxas.txt, $OUT/run<i>/kernel.jsonl (i = position in RUNS), one line per figure on stdout.
set -uo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
bin=.device/ringattn/ringattn
ptxas=$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)
for f in src/Kernels/RingAttention.Kernels.Gpu/Hopper/*.g.ptx; do
  echo "== $f" | tee -a "$out/ptxas.txt"
  "$ptxas" -arch=sm_90a -v "$f" -o /dev/null 2>&1 | tail -8 | tee -a "$out/ptxas.txt"
done
part=${PART:-smoke,speed}
has() { [[ ",$part," == *",$1,"* ]]; }   # whole names: "fp8smoke" is not "smoke"
if has verify; then   # the float64 sweep of bench/device_verify.py (VERIFY: quick, dims or empty for all)
  mkdir -p "$out/v"; timeout 300 python3 bench/device_verify.py $bin "$out/v" ${VERIFY:-} 2>&1 | grep -E "^c[0-9]|SUMMARY|exit code"
fi
tokens=${TOKENS:-4096,16384,32768}; heads=${HEADS:-32/32,32/8}; dtypes=${DTYPES:-bf16,f16}; dims=${DIMS:-128}
runs=${RUNS:-"--ws 1;--ws 0"}
if has smoke; then
  for ws in 1 0; do
    timeout 120 $bin bench kernel --ws $ws --dims $dims --tokens 1000,4096 --heads 8/2 --dtypes bf16 --causal 0,1 --reps 3 2>&1 | grep -E "T=|rror|xception" | head -20
    echo "smoke ws=$ws exit $?"
  done
fi
if has fp8smoke; then   # the FP8 kernels (head dims 128, 256): small shapes with their float64 error
  timeout 120 $bin bench kernel --dims 128,256 --tokens 1000,4096 --heads 8/2 --dtypes fp8 --causal 0,1 --reps 3 2>&1 | grep -E "T=|rror|xception" | head -20
  echo "fp8 smoke exit $?"
fi
if has fp8ring; then   # FP8 files through `ringattn run` (K/V as FP8 on the ring, dequantised per step) vs float64 and bf16 SDPA
  mkdir -p "$out/fp8"; timeout 300 python3 bench/fp8_check.py $bin "$out/fp8" 2>&1 | tail -8
fi
if has ncu; then   # one launch of each NCU_CASES entry ("dtype dim tokens heads causal") under Nsight Compute, full set
  IFS=';' read -ra cases <<< "${NCU_CASES:-bf16 128 16384 32/8 0;bf16 128 16384 32/8 1}"
  for i in "${!cases[@]}"; do
    read -r dt dim tk hd ca <<< "${cases[$i]}"
    kn=ring_ws; [[ $dt == fp8 ]] && kn=ring_ws_e4m3   # an fp8 case also times our bf16 kernel on the same values
    ncu --kernel-name regex:$kn --launch-skip 2 --launch-count 1 --set full --print-details all $bin bench kernel --dims $dim --tokens $tk --heads $hd --dtypes $dt --causal $ca --reps 1 > "$out/ncu$i.txt" 2>&1
    echo "== ncu$i: ${cases[$i]} (exit $?)"
    grep -E "^  [A-Z].*Section|Duration|Compute \(SM\) Throughput|Memory Throughput|DRAM Throughput|Registers Per|Achieved Occupancy|Issue Slots Busy|Stall|pipe|Pipe|Issued Warp|No Eligible|Active Warps Per|Eligible Warps|Warp Cycles Per Issued|Executed Ipc|L2 Hit|L1/TEX Hit|Shared Memory" "$out/ncu$i.txt" | head -60
  done
fi
if has speed; then
  IFS=';' read -ra sets <<< "$runs"
  for i in "${!sets[@]}"; do
    mkdir -p "$out/run$i"; echo "== run$i: ${sets[$i]}"
    timeout 500 python3 bench/device_bench.py $bin "$out/run$i" ${sets[$i]} --dims $dims --tokens $tokens --heads $heads --dtypes $dtypes --causal 0,1 --reps 10 2>&1 | grep -E "^bf16|^fp16|^fp8|exit code|rror"
  done
fi
