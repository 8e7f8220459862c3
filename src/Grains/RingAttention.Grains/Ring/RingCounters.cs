using RingAttention.Grains.Telemetry;

namespace RingAttention.Grains.Ring;

/// <summary>
/// Thread-safe counters of one shard's ring loop (the receive of step s+1 runs beside the kernel of step s). Each
/// method counts one event in the shard's totals (reported to the coordinator) and in the silo's metrics
/// (<see cref="RingTelemetry"/>) at once, so the two cannot disagree.
/// </summary>
public sealed class RingCounters
{
    private readonly Lock _lock = new();
    private RingTotals _totals = RingTotals.Zero;

    public RingTotals Snapshot()
    {
        lock (_lock)
        {
            return _totals;
        }
    }

    /// <summary>The shard's inputs were read (onto its device, where it has one).</summary>
    public void Loaded(double seconds)
    {
        Add(new RingTotals { LoadSeconds = seconds });
        RingTelemetry.LoadSeconds.Record(seconds);
    }

    /// <summary>One ring step's kernel ran.</summary>
    public void Stepped(double kernelSeconds)
    {
        Add(new RingTotals { ComputeSeconds = kernelSeconds });
        RingTelemetry.KernelSeconds.Record(kernelSeconds);
        RingTelemetry.RingSteps.Add(1);
    }

    /// <summary>The shard waited this long for its next K/V block after its kernel.</summary>
    public void Waited(double seconds)
    {
        Add(new RingTotals { WaitSeconds = seconds });
        RingTelemetry.WaitSeconds.Record(seconds);
    }

    /// <summary>A K/V block arrived over the data plane.</summary>
    public void Fetched(long bytes)
    {
        Add(new RingTotals { BytesMoved = bytes, RemoteTransfers = 1 });
        RingTelemetry.BytesMoved.Add(bytes);
    }

    /// <summary>A K/V block was handed over in-process, without a copy.</summary>
    public void HandedOver() => Add(new RingTotals { LocalHandoffs = 1 });

    /// <summary>A K/V block came from another device of this silo: device to device, or staged through host memory.</summary>
    public void CopiedAcrossDevices(long bytes, bool staged)
    {
        Add(staged ? new RingTotals { StagedCopies = 1 } : new RingTotals { PeerCopies = 1, PeerBytes = bytes });
        RingTelemetry.PeerBytes.Add(bytes);
    }

    /// <summary>A K/V block was copied device to device from another process of the host.</summary>
    public void CopiedFromProcess(long bytes)
    {
        Add(new RingTotals { ProcessCopies = 1, ProcessBytes = bytes });
        RingTelemetry.PeerBytes.Add(bytes);
    }

    /// <summary>A linear-attention state left for another shard.</summary>
    public void SentState(long bytes)
    {
        Add(new RingTotals { StateBytes = bytes, StatesSent = 1 });
        RingTelemetry.BytesMoved.Add(bytes);
    }

    /// <summary>The shard holds its inputs and starts its first step now.</summary>
    public void RingStarted() => Add(new RingTotals { RingStartTicks = DateTime.UtcNow.Ticks });

    /// <summary>The shard's ring phase (first step to the end of its last kernel) took this long, ending now.</summary>
    public void Ringed(double seconds) => Add(new RingTotals { RingSeconds = seconds, RingEndTicks = DateTime.UtcNow.Ticks });

    /// <summary>The shard's rows of the output were written.</summary>
    public void Wrote(double seconds)
    {
        Add(new RingTotals { WriteSeconds = seconds });
        RingTelemetry.WriteSeconds.Record(seconds);
    }

    private void Add(RingTotals delta)
    {
        lock (_lock)
        {
            _totals = _totals.Add(delta);
        }
    }
}
