using System.Globalization;
using System.Text;
using RingAttention.Bench.Cpu;
using RingAttention.Kernels.Cpu;
using RingAttention.Tensors;

// CPU kernel benchmark: attention GFLOP/s beside this machine's fp32 FMA peak and SGEMM rate, same run.
// Usage: dotnet run -c Release --project bench/RingAttention.Bench.Cpu -- [--quick] [--runs N] [--threads N]
//        [--query-tile N] [--key-tile N] [--out FILE] [--decode: one decode step, decode loop vs tile loop]
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

string F(double value) => value.ToString("F1", CultureInfo.InvariantCulture);

Line($"Machine: {MachineInfo.Describe()}");
Line($"Command: dotnet run -c Release --project bench/RingAttention.Bench.Cpu --{(args.Length > 0 ? " " + string.Join(' ', args) : string.Empty)}");
Line($"Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; threads {threads}; tiles {options.QueryTile}x{options.KeyTile}; median of {runs} after 1 warm-up; load average before {MachineInfo.LoadAverage()}");
if (args.Contains("--decode"))
{
    // One decode step (1 query row, 32/8 heads, d 128, bf16, causal) with the decode loop and with the tile loop.
    int decodeRuns = quick ? 5 : Math.Max(runs, 9);
    Line($"Decode: 1 query row at the end of the keys, Hq 32 / Hkv 8, d 128, bf16, causal; median of {decodeRuns} after 2 warm-ups, each loop on the same inputs.");
    Line(string.Empty);
    Line("| keys | decode loop ms | tile loop ms | tile ÷ decode | K/V GB/s (decode loop) | max abs o difference |");
    Line("|---:|---:|---:|---:|---:|---:|");
    foreach (int keys in quick ? new[] { 2048 } : new[] { 2048, 65536, 262144 })
    {
        var m = DecodeBench.Measure(keys, threads, warmups: 2, runs: decodeRuns);
        double bytes = 2.0 * keys * 8 * 128 * 2;
        Line(string.Create(
            CultureInfo.InvariantCulture,
            $"| {keys} | {m.Loop.Median.TotalMilliseconds:F2} | {m.Tiles.Median.TotalMilliseconds:F2} | {m.Tiles.Median / m.Loop.Median:F1} | {bytes / m.Loop.Median.TotalSeconds / 1e9:F1} | {m.MaxDifference:E1} |"));
    }

    if (outFile is not null)
    {
        File.WriteAllText(outFile, report.ToString());
    }

    return 0;
}

var (peak, peakCpu) = FmaPeak.Measure(threads, TimeSpan.FromSeconds(quick ? 0.3 : 1));
int gemmSize = quick ? 1024 : 2048;
var gemm = SgemmBench.Measure(gemmSize, threads, warmups: 1, runs: runs);
double gemmRate = SgemmBench.Flops(gemmSize) / gemm.Median.TotalSeconds / 1e9;
double gemmCpu = SgemmBench.Flops(gemmSize) / gemm.CpuTimePerRun.TotalSeconds / 1e9;
Line($"fp32 FMA peak ({threads} threads, register-only loop): {F(peak)} GFLOP/s wall, {F(peakCpu)} by CPU time");
Line($"fp32 SGEMM {gemmSize}^3 (same micro-kernel, packed B): {F(gemmRate)} GFLOP/s wall, {F(gemmCpu)} by CPU time ({100 * gemmCpu / peakCpu:F0}% of peak)");
Line(string.Empty);
Line("| T | H | D | dtype | mask | median ms | GFLOP/s | % FMA peak | CPU share | GFLOP/s by CPU time | % FMA peak by CPU time | % SGEMM by CPU time |");
Line("|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|");

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
                double rate = c.Flops / time.Median.TotalSeconds / 1e9;
                double rateCpu = c.Flops / time.CpuTimePerRun.TotalSeconds / 1e9;
                Line(string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {t} | {heads} | {d} | {type.ToString().ToLowerInvariant()} | {(causal ? "causal" : "none")} | {time.Median.TotalMilliseconds:F0} | {rate:F1} | {100 * rate / peakCpu:F0}% | {100 * time.CpuShare:F0}% | {rateCpu:F1} | {100 * rateCpu / peakCpu:F0}% | {100 * rateCpu / gemmCpu:F0}% |"));
            }
        }
    }
}

Line(string.Empty);
Line($"Load average after: {MachineInfo.LoadAverage()}.");
Line("CPU share = process CPU time / (wall x threads) over the timed runs; below ~95% other processes took cores (shared dev box).");
Line("'% FMA peak' is the wall-clock rate over the FMA peak by CPU time (the machine's uncontended ceiling): the conservative ratio.");
Line("'by CPU time' divides FLOPs by process CPU time / threads: the rate with the cores to ourselves (preempted threads accrue no CPU time).");

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
