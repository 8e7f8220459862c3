#!/usr/bin/env python3
"""Benchmark run (one call): our kernel (C# bench, device-resident) and torch SDPA flash/cuDNN for the same shapes.
Writes OUT/kernel.jsonl (fields of issue 3) and prints a table.
usage (repo root on the GPU machine): python3 bench/device_bench.py .device/ringattn/ringattn OUTDIR [bench kernel options...]
(BIN is the trimmed ringattn of scripts/release.sh; it runs `ringattn bench kernel --json`.)"""
import argparse, contextlib, datetime, io, json, os, subprocess, sys
import torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
import torch_attention as ta

binary, out, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
p = subprocess.run([binary, "bench", "kernel", "--json"] + extra, capture_output=True, text=True)
sys.stderr.write(p.stderr[-3000:])
ours = json.loads(p.stdout)["results"] if p.stdout.strip() else []
device = torch.cuda.get_device_name(); date = datetime.date.today().isoformat()
rows = []
for o in ours:
    # fp8 rows: the peers run bf16 (PyTorch SDPA has no FP8 path); our bf16 kernel on the same values is in the row too
    a = argparse.Namespace(tokens=o["tokens"], hq=o["hq"], hkv=o["hkv"], dim=o["dim"], dtype="bf16" if o["dtype"] == "fp8" else o["dtype"],
                           causal=o["causal"], window=0, reps=10)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ta.bench(a)
    peers = {j["backend"]: j for j in map(json.loads, buf.getvalue().splitlines()) if "tflops" in j}
    row = dict(device=device, gpu=device, date=date, dtype=o["dtype"], tokens=o["tokens"], hq=o["hq"], hkv=o["hkv"], dim=o["dim"], causal=o["causal"],
               ours_tflops=o["tflops"], flash_tflops=peers.get("flash", {}).get("tflops"), cudnn_tflops=peers.get("cudnn", {}).get("tflops"),
               max_rel_err=o["maxRelErr"], ours_ms=o["medianMs"], kernel=o.get("kernel"))
    if o.get("bf16Ms") is not None:
        row.update(bf16_ms=o["bf16Ms"], bf16_max_rel_err=o["bf16MaxRelErr"])
    rows.append(row)
    f, c = row["flash_tflops"], row["cudnn_tflops"]
    print(f"{row['dtype']} T={row['tokens']:5d} {row['hq']}/{row['hkv']} d={row['dim']:3d} causal={int(row['causal'])} ours={row['ours_tflops']:6.1f} flash={f} cudnn={c} "
          f"x_flash={row['ours_tflops'] / f if f else float('nan'):.2f} x_cudnn={row['ours_tflops'] / c if c else float('nan'):.2f} err={row['max_rel_err']:.1e}"
          + (f" bf16_ms={row['bf16_ms']} ours_ms={row['ours_ms']} bf16_err={row['bf16_max_rel_err']:.1e}" if "bf16_ms" in row else ""), flush=True)
with open(f"{out}/kernel.jsonl", "w") as fh:
    for r in rows: fh.write(json.dumps(r) + "\n")
print("bench exit code", p.returncode)
