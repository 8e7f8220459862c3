using System.Runtime.InteropServices;

namespace RingAttention.Cli;

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM: the first cancels the command's token, so a running job is cancelled on the cluster
/// and its partial output removed before the CLI exits with 130; a second one exits at once.
/// </summary>
public sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _signals;

    public Interruption()
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
        ];
    }

    public CancellationToken Token => _cancel.Token;

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _cancel.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        // Keep the runtime from terminating the process: we exit when the job has been cancelled.
        context.Cancel = true;
        if (Interlocked.Increment(ref _signals) > 1)
        {
            Console.Error.WriteLine("interrupted again: exiting without waiting");
            Environment.Exit(CliErrors.Cancelled);
        }

        Console.Error.WriteLine("cancelling (interrupt again to exit at once)");
        _cancel.Cancel();
    }
}
