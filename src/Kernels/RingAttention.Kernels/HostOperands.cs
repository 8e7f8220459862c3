using System.Runtime.InteropServices;
using RingAttention.Attention;

namespace RingAttention.Kernels;

/// <summary>
/// Host arrays in and out of any backend, written once over its handle contract: whole tensors to handles, handles
/// back to host objects, and a one-call <see cref="Accumulate"/> on host operands (for tests, checks and tools; the
/// ring keeps its operands in handles for the whole job).
/// </summary>
public static class HostOperands
{
    public static DeviceRows UploadRows(this IAttentionBackend backend, TensorRows rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var handle = backend.AllocateRows(rows.Type, rows.Heads, rows.HeadDim, rows.Spans);
        return Fill(backend, handle, rows.Data);
    }

    public static DeviceKeyValues UploadKeyValues(this IAttentionBackend backend, KeyValueBlock block)
    {
        ArgumentNullException.ThrowIfNull(block);
        var handle = backend.AllocateKeyValues(block.Keys.Type, block.Keys.Heads, block.Keys.HeadDim, block.Keys.Spans);
        return Fill(backend, handle, block.Keys.Data, block.Values.Data);
    }

    /// <summary>A running result holding <paramref name="state"/> (its O and LSE).</summary>
    public static DeviceAccumulator UploadAccumulator(this IAttentionBackend backend, PartialResult state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var handle = backend.CreateAccumulator(state.Rows, state.Heads, state.HeadDim);
        try
        {
            backend.CopyToDevice(handle, 0, MemoryMarshal.AsBytes(state.Output.AsSpan()));
            backend.CopyToDevice(handle, handle.OutputBytes, MemoryMarshal.AsBytes(state.Lse.AsSpan()));
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Copies a block back to the host (K then V in one array).</summary>
    public static KeyValueBlock DownloadKeyValues(this IAttentionBackend backend, DeviceKeyValues block)
    {
        ArgumentNullException.ThrowIfNull(block);
        byte[] bytes = new byte[block.DataBytes];
        backend.CopyFromDevice(block, 0, bytes);
        var memory = bytes.AsMemory();
        return new KeyValueBlock(
            new TensorRows(block.Type, block.Heads, block.HeadDim, block.Spans, memory[..(int)block.KeyBytes]),
            new TensorRows(block.Type, block.Heads, block.HeadDim, block.Spans, memory[(int)block.KeyBytes..]));
    }

    /// <summary>Copies output rows <c>[firstRow, firstRow + destination.Length / (heads * headDim))</c> of a running result to the host.</summary>
    public static void DownloadOutputRows(this IAttentionBackend backend, DeviceAccumulator accumulator, long firstRow, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(accumulator);
        long rowElements = (long)accumulator.Heads * accumulator.HeadDim;
        if (destination.Length % rowElements != 0)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats, not whole rows of {rowElements}", nameof(destination));
        }

        long offset = 4 * firstRow * rowElements;
        OperandCheck.Range(accumulator, offset, 4L * destination.Length, nameof(firstRow));
        if (offset + 4L * destination.Length > accumulator.OutputBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRow), $"rows [{firstRow}, {firstRow + destination.Length / rowElements}) are outside the result's {accumulator.Rows} rows");
        }

        backend.CopyFromDevice(accumulator, offset, MemoryMarshal.AsBytes(destination));
    }

    /// <summary>Copies the whole lse <c>[heads, rows]</c> of a running result to the host.</summary>
    public static void DownloadLse(this IAttentionBackend backend, DeviceAccumulator accumulator, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(accumulator);
        long lse = (long)accumulator.Heads * accumulator.Rows;
        if (destination.Length != lse)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats but lse has {lse}", nameof(destination));
        }

        backend.CopyFromDevice(accumulator, accumulator.OutputBytes, MemoryMarshal.AsBytes(destination));
    }

    /// <summary>Copies a running result into <paramref name="destination"/>.</summary>
    public static void Download(this IAttentionBackend backend, DeviceAccumulator accumulator, PartialResult destination)
    {
        ArgumentNullException.ThrowIfNull(accumulator);
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Rows != accumulator.Rows || destination.Heads != accumulator.Heads || destination.HeadDim != accumulator.HeadDim)
        {
            throw new ArgumentException($"destination is {destination.Rows} x {destination.Heads} x {destination.HeadDim} but the accumulator is {accumulator.Rows} x {accumulator.Heads} x {accumulator.HeadDim}", nameof(destination));
        }

        backend.DownloadOutputRows(accumulator, 0, destination.Output);
        backend.DownloadLse(accumulator, destination.Lse);
    }

    /// <summary>
    /// <see cref="IAttentionBackend.Accumulate"/> on host operands: uploads them, accumulates, and copies the merged
    /// result back into <paramref name="accumulator"/>. Validates the spec (a one-off call has no loop start to do it).
    /// </summary>
    public static void Accumulate(this IAttentionBackend backend, AttentionSpec spec, TensorRows queries, KeyValueBlock keyValues, PartialResult accumulator, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(keyValues);
        ArgumentNullException.ThrowIfNull(accumulator);
        spec.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        using var q = backend.UploadRows(queries);
        using var kv = backend.UploadKeyValues(keyValues);
        using var acc = backend.UploadAccumulator(accumulator);
        backend.Accumulate(spec, q, kv, acc, cancellationToken);
        backend.Download(acc, accumulator);
    }

    private static T Fill<T>(IAttentionBackend backend, T handle, ReadOnlyMemory<byte> first, ReadOnlyMemory<byte> second = default)
        where T : DeviceHandle
    {
        try
        {
            backend.CopyToDevice(handle, 0, first.Span);
            backend.CopyToDevice(handle, first.Length, second.Span);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }
}
