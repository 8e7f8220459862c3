using RingAttention.Grains.Hosting;
using RingAttention.Kernels;

namespace RingAttention.Grains.Ring;

/// <summary>
/// A shard's finished O (float32 <c>[rows, heads, headDim]</c>) and LSE (<c>[heads, rows]</c>), wherever it lives. The
/// output writer reads it a chunk of rows at a time, so a result on a device never has to be whole on the host;
/// disposing it frees its memory.
/// </summary>
public interface IShardResult : IDisposable
{
    int Rows { get; }

    int Heads { get; }

    int HeadDim { get; }

    /// <summary>Copies output rows <c>[firstRow, firstRow + destination.Length / (heads * headDim))</c>.</summary>
    Task ReadOutputRowsAsync(long firstRow, Memory<float> destination, CancellationToken ct);

    /// <summary>Copies the whole lse <c>[heads, rows]</c> (small: 4 bytes per row and head).</summary>
    Task ReadLseAsync(Memory<float> destination, CancellationToken ct);

    /// <summary>The device the result lives on (the writer's staging buffers are page-locked for it), or null (host memory).</summary>
    ComputeDevice? Device { get; }
}

/// <summary>A result in host memory (the CPU backend).</summary>
public sealed class HostShardResult(PartialResult result) : IShardResult
{
    public int Rows => result.Rows;

    public int Heads => result.Heads;

    public int HeadDim => result.HeadDim;

    public Task ReadOutputRowsAsync(long firstRow, Memory<float> destination, CancellationToken ct)
    {
        long first = firstRow * Heads * HeadDim;
        result.Output.AsSpan(checked((int)first), destination.Length).CopyTo(destination.Span);
        return Task.CompletedTask;
    }

    public Task ReadLseAsync(Memory<float> destination, CancellationToken ct)
    {
        result.Lse.AsSpan().CopyTo(destination.Span);
        return Task.CompletedTask;
    }

    public ComputeDevice? Device => null;

    public void Dispose()
    {
    }
}

/// <summary>A result still on the device: rows are downloaded when the writer asks for them.</summary>
public sealed class DeviceShardResult(ComputeDevice device, DeviceAccumulator accumulator) : IShardResult
{
    public int Rows => accumulator.Rows;

    public int Heads => accumulator.Heads;

    public int HeadDim => accumulator.HeadDim;

    public Task ReadOutputRowsAsync(long firstRow, Memory<float> destination, CancellationToken ct) =>
        device.DownloadOutputRowsAsync(accumulator, firstRow, destination, ct);

    public Task ReadLseAsync(Memory<float> destination, CancellationToken ct) => device.DownloadLseAsync(accumulator, destination, ct);

    public ComputeDevice? Device => device;

    public void Dispose() => accumulator.Dispose();
}
