// The SDK in a dozen lines (compiled in CI, so the README's copy of it cannot drift).
// Usage: dotnet run --project samples/SubmitJob -- qkv.safetensors out.safetensors
using RingAttention.Silo;

// Jobs may read and write only under AllowedRoots: here, the directories of the two files.
string[] roots = [.. args.Take(2).Select(a => Path.GetDirectoryName(Path.GetFullPath(a))!)];
await using var cluster = await EmbeddedCluster.StartAsync(new EmbeddedClusterOptions { Silos = 3, AllowedRoots = roots });
// Or, against running silos: await RingAttentionClient.ConnectAsync([new IPEndPoint(IPAddress.Loopback, 30000)]);

var job = await cluster.Client.SubmitAsync(new JobSpec
{
    InputPath = Path.GetFullPath(args[0]),   // q [T, Hq, D], k and v [T, Hkv, D]: F32, F16 or BF16
    OutputPath = Path.GetFullPath(args[1]),  // o [T, Hq, D] and lse [Hq, T]
    Causal = true,
    Shards = 4,
    Layout = ShardLayout.Zigzag,
});

await foreach (var status in job.WatchAsync())
{
    Console.WriteLine($"{status.State}: {status.StepsDone}/{status.StepsTotal} ring steps, {status.TokensPerSecond:N0} tokens/s");
}

var final = await job.WaitAsync(); // throws RingJobFailedException unless the job completed
Console.WriteLine($"wrote {final.OutputPath} in {final.ElapsedSeconds:0.00} s");
