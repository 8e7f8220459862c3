using System.Globalization;
using System.Text;
using RingAttention.Bench.Cpu;
using RingAttention.Kernels.Cpu;
using RingAttention.Tensors;

// CPU kernel benchmark: attention GFLOP/s beside this machine's fp32 FMA peak and SGEMM rate, same run.
// Usage: dotnet run -c Release --project bench/RingAttention.Bench.Cpu -- [--quick] [--runs N] [--threads N]
//        [--query-tile N] [--key-tile N] [--out FILE]
bool quick = args.Contains("--quick");
int runs = Option("--runs", quick ? 2 : 3);
int threads = Option("--threads", Environment.ProcessorCount);
var options = new CpuAttentionOptions
{
    MaxDegreeOfParallelism = threads,
    QueryTile = Option("--query-tile", new CpuAttentionOptions().QueryTile),
    KeyTile = Option("--key-tile", new CpuAttentionOptions().KeyTile),
}.Validate();
string? outFile = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault();

if (MachineInfo.KernelsAreDebugBuild())
{
    Console.Error.WriteLine("The kernels were built without optimisation; run with -c Release.");
    return 2;
}

var report = new StringBuilder();
void Line(string text)
{
    Console.WriteLine(text);
    report.AppendLine(text);
}

Line($"Machine: {MachineInfo.Describe()}");
Line($"Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; threads {threads}; tiles {options.QueryTile}x{options.KeyTile}; median of {runs} after 1 warm-up");
double peak = FmaPeak.Measure(threads, TimeSpan.FromSeconds(quick ? 0.3 : 1));
int gemmSize = quick ? 1024 : 2048;
double gemm = SgemmBench.Measure(gemmSize, threads, warmups: 1, runs: runs);
Line($"fp32 FMA peak ({threads} threads, register-only loop): {peak:F1} GFLOP/s");
Line($"fp32 SGEMM {gemmSize}^3 (same micro-kernel, packed B): {gemm:F1} GFLOP/s ({100 * gemm / peak:F0}% of peak)");
Line(string.Empty);
Line("| T | H | D | dtype | mask | median ms | GFLOP/s | % FMA peak | % SGEMM |");
Line("|---:|---:|---:|---|---|---:|---:|---:|---:|");

int[] tokens = quick ? [1024, 2048] : [8192, 16384];
int heads = quick ? 2 : 8;
foreach (int t in tokens)
{
    foreach (int d in new[] { 64, 128 })
    {
        foreach (var type in new[] { ElementType.F32, ElementType.BF16 })
        {
            foreach (bool causal in new[] { false, true })
            {
                var c = new AttentionCaseSpec(t, heads, d, type, causal);
                var time = AttentionBench.Measure(c, options, warmups: 1, runs);
                double rate = c.Flops / time.TotalSeconds / 1e9;
                Line(string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {t} | {heads} | {d} | {type.ToString().ToLowerInvariant()} | {(causal ? "causal" : "none")} | {time.TotalMilliseconds:F0} | {rate:F1} | {100 * rate / peak:F0}% | {100 * rate / gemm:F0}% |"));
            }
        }
    }
}

if (outFile is not null)
{
    File.WriteAllText(outFile, report.ToString());
}

return 0;

int Option(string name, int fallback)
{
    int index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}
