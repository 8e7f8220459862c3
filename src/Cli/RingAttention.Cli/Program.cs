using RingAttention.Cli;
using RingAttention.Cli.Commands;
using Spectre.Console.Cli;

// Before anything prints: with --json, stdout is kept for the one JSON document.
CliOutput.Configure(args);
var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("ringattn");
    config.PropagateExceptions();
    // A misspelt flag must not be ignored: `--casual` once ran a non-causal job and exited 0.
    config.Settings.StrictParsing = true;
    config.AddCommand<DemoCommand>("demo")
        .WithDescription("Start a 3-silo cluster in this process, run a random 16K-token causal GQA job around the ring, verify it.");
    config.AddCommand<RunCommand>("run")
        .WithDescription("Run attention over q/k/v in a safetensors file and write o and lse to another.");
    config.AddCommand<GenCommand>("gen")
        .WithDescription("Write random q/k/v of a given shape and dtype to a safetensors file.");
    config.AddCommand<VerifyCommand>("verify")
        .WithDescription("Check sampled rows of an output against its inputs with a float64 reference.");
    config.AddCommand<SiloCommand>("silo")
        .WithDescription("Run one silo of a cluster on this host (loopback), e.g. one per GPU; stops on Ctrl+C.");
    config.AddBranch("session", session =>
    {
        session.SetDescription("Sessions: K/V of a long context kept sharded in pages on the cluster's devices, to append to and attend against (decode).");
        session.AddCommand<RingAttention.Cli.Commands.Session.SessionCreateCommand>("create")
            .WithDescription("Create a session from a k/v (optionally q) safetensors file; with q and --output, write the prefill's o and lse.");
        session.AddCommand<RingAttention.Cli.Commands.Session.SessionAppendCommand>("append")
            .WithDescription("Append k/v rows (optionally with q: chunked prefill, o and lse of the new rows to --output).");
        session.AddCommand<RingAttention.Cli.Commands.Session.SessionAttendCommand>("attend")
            .WithDescription("Attend queries against everything cached (every shard its own pages, partials merged by LSE in a tree).");
        session.AddCommand<RingAttention.Cli.Commands.Session.SessionStatsCommand>("stats")
            .WithDescription("Shape, length and every shard's pages (allocated vs used).");
        session.AddCommand<RingAttention.Cli.Commands.Session.SessionDropCommand>("drop")
            .WithDescription("Return a session's pages to the pools and delete its storage.");
        session.AddCommand<RingAttention.Cli.Commands.Session.SessionListCommand>("list")
            .WithDescription("List the sessions on the cluster's session storage.");
    });
    config.AddBranch("bench", bench =>
    {
        bench.SetDescription("Benchmarks: the GPU kernel alone, the ring at several sizes, the device check of the kernels.");
        bench.AddCommand<RingAttention.Cli.Commands.Bench.BenchKernelCommand>("kernel")
            .WithDescription("Time the local attention kernel on the GPU (q/k/v resident) per shape: TFLOP/s and error vs float64.");
        bench.AddCommand<RingAttention.Cli.Commands.Bench.BenchRingCommand>("ring")
            .WithDescription("Run one job around rings of several sizes: warm wall, kernel and K/V-wait medians and the ring's efficiency.");
        bench.AddCommand<RingAttention.Cli.Commands.Bench.BenchDecodeCommand>("decode")
            .WithDescription("The split-K decode kernels (float and tensor-core) on the same paged K/V: attend medians, GB/s, output differences.");
        bench.AddCommand<RingAttention.Cli.Commands.Bench.BenchLinearCommand>("linear")
            .WithDescription("Linear attention (causal, decay) on synthetic inputs per length, shard count and state exchange: ring-phase medians, state bytes.");
        bench.AddCommand<RingAttention.Cli.Commands.Bench.BenchPeerCommand>("peer")
            .WithDescription("The K/V hand-off between two devices of one silo (device to device), GB/s per block size and direction.");
        bench.AddCommand<RingAttention.Cli.Commands.Bench.BenchVerifyCommand>("verify")
            .WithDescription("Device check of the GPU kernels: NaN-poisoned outputs and the ring path, on cases written by bench/device_verify.py.");
    });
});

using var interruption = new Interruption();
return await CliErrors.RunAsync(() => app.RunAsync(args, interruption.Token), args);
