using RingAttention.Grains.Devices;
using RingAttention.Kernels;

namespace RingAttention.Grains.Ring;

/// <summary>
/// A shard's finished O (float32 <c>[rows, heads, headDim]</c>) and LSE (<c>[heads, rows]</c>), still in its backend's
/// memory. The output writer reads it a chunk of rows at a time, so a result on a device never has to be whole on the
/// host; disposing it frees its memory.
/// </summary>
public sealed class ShardResult(ComputeDevice device, DeviceAccumulator accumulator) : IDisposable
{
    public int Rows => accumulator.Rows;

    public int Heads => accumulator.Heads;

    public int HeadDim => accumulator.HeadDim;

    /// <summary>The device the result lives on (the writer's staging buffers are page-locked for it).</summary>
    public ComputeDevice Device => device;

    /// <summary>Copies output rows <c>[firstRow, firstRow + destination.Length / (heads * headDim))</c>.</summary>
    public Task ReadOutputRowsAsync(long firstRow, Memory<float> destination, CancellationToken ct) =>
        device.DownloadOutputRowsAsync(accumulator, firstRow, destination, ct);

    /// <summary>Copies the whole lse <c>[heads, rows]</c> (small: 4 bytes per row and head).</summary>
    public Task ReadLseAsync(Memory<float> destination, CancellationToken ct) => device.DownloadLseAsync(accumulator, destination, ct);

    public void Dispose() => accumulator.Dispose();
}
