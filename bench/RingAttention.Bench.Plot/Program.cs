using RingAttention.Bench.Plot;

// Regenerates the README's figures from the measured results (never from new runs):
//   dotnet run -c Release --project bench/RingAttention.Bench.Plot [-- --results bench/results --out docs/plots]
// kernel-tflops.png  GPU kernel TFLOP/s per shape beside FlashAttention-2 and cuDNN (bench/results/kernel.jsonl)
// kernel-head-dims.png  the same for head dims other than 64 and 128
// kernel-fp8.png  the FP8 kernel beside SDPA in bf16 on the same values
// ring-efficiency.png  ring efficiency vs shard count (bench/results/ring.jsonl, kind "efficiency")
// cpu-gflops.png  CPU kernel GFLOP/s vs T beside the machine's FMA peak (bench/results/cpu-kernel.jsonl)
// linear-tokens.png  linear attention tokens/s, ours (1 and 8 shards) beside the PyTorch chunkwise peer (bench/results/linear.jsonl)
string Arg(string name, string fallback) =>
    args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;

string results = Arg("--results", "bench/results");
string output = Arg("--out", "docs/plots");
if (!Directory.Exists(results))
{
    Console.Error.WriteLine($"error: --results: directory '{results}' does not exist (run from the repository root)");
    return 2;
}

Directory.CreateDirectory(output);
foreach (string written in new[]
{
    KernelPlot.Write(JsonLines.Read(Path.Combine(results, "kernel.jsonl")), Path.Combine(output, "kernel-tflops.png")),
    KernelPlot.Write(JsonLines.Read(Path.Combine(results, "kernel.jsonl")), Path.Combine(output, "kernel-head-dims.png"), tunedDims: false),
    KernelPlot.Write(JsonLines.Read(Path.Combine(results, "kernel.jsonl")), Path.Combine(output, "kernel-fp8.png"), tunedDims: null, dtype: "fp8"),
    RingPlot.Write(JsonLines.Read(Path.Combine(results, "ring.jsonl")), Path.Combine(output, "ring-efficiency.png")),
    CpuPlot.Write(JsonLines.Read(Path.Combine(results, "cpu-kernel.jsonl")), Path.Combine(output, "cpu-gflops.png")),
    LinearPlot.Write(JsonLines.Read(Path.Combine(results, "linear.jsonl")), Path.Combine(output, "linear-tokens.png")),
})
{
    Console.WriteLine($"wrote {written}");
}

return 0;
