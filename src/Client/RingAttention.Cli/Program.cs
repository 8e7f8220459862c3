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
});

using var interruption = new Interruption();
return await CliErrors.RunAsync(() => app.RunAsync(args, interruption.Token), args);
