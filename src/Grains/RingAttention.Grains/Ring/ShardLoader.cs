using RingAttention.Attention;
using RingAttention.Grains.DataPlane;
using RingAttention.Grains.Devices;
using RingAttention.Grains.Transfer;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Grains.Ring;

/// <summary>Brings a shard's own rows of q, K and V from the job's inputs into its backend's memory (softmax and linear jobs alike).</summary>
public static class ShardLoader
{
    /// <summary>
    /// Streams the shard's q, K and V rows from the file to the device through reused host buffers (never whole on the
    /// host); the CRCs of K then V, which a remote taker checks, are computed on the way.
    /// </summary>
    public static async Task<(DeviceRows Queries, ResidentBlock KeyValues)> LoadAsync(ShardPlan plan, ComputeDevice device, int stagingBytes, CancellationToken ct)
    {
        var spec = plan.Spec;
        var spans = plan.OwnSpans;
        var queries = await device.AllocateRowsAsync(spec.ComputeType, spec.Heads, spec.HeadDim, plan.OwnQuerySpans, ct);
        DeviceKeyValues? keyValues = null;
        try
        {
            await LoadTensorAsync(device, stagingBytes, spec, plan.OwnQuerySpans, queries, 0, TensorNames.Query, spec.Heads, null, ct);
            var kv = keyValues = await device.AllocateKeyValuesAsync(spec.KeyValueType, spec.KvHeads, spec.HeadDim, spans, ct);
            var crc = new ChunkedCrc();
            await LoadTensorAsync(device, stagingBytes, spec, spans, kv, 0, TensorNames.Key, spec.KvHeads, crc, ct);
            await LoadTensorAsync(device, stagingBytes, spec, spans, kv, kv.KeyBytes, TensorNames.Value, spec.KvHeads, crc, ct);
            return (queries, new ResidentBlock(device, kv, crc.Finish()));
        }
        catch
        {
            queries.Dispose();
            keyValues?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One tensor's rows of the shard into <paramref name="target"/> at byte <paramref name="offset"/>, appending them
    /// to <paramref name="crc"/> on the way: into host memory (the CPU backend) they are read straight into the
    /// handle; onto a device they stream through the pump's two staging buffers and the copy lane.
    /// </summary>
    private static async Task LoadTensorAsync(ComputeDevice device, int stagingBytes, JobSpec spec, IReadOnlyList<TokenSpan> spans, DeviceHandle target, long offset, string name, int heads, ChunkedCrc? crc, CancellationToken ct)
    {
        if (target.HostMemory is { } host)
        {
            long bytes = (long)spans.Sum(s => s.Count) * heads * spec.HeadDim * ShardInputs.StoredType(spec, name).Size();
            var rows = host.Slice(checked((int)offset), checked((int)bytes));
            await Task.Run(() =>
            {
                ShardInputs.ReadInto(spec, spans, name, heads, rows.Span);
                crc?.Append(rows.Span);
            }, ct).ConfigureAwait(false);
            return;
        }

        await ShardInputs.StreamAsync(spec, spans, name, heads, stagingBytes, (at, piece) =>
        {
            crc?.Append(piece.Span);
            return device.UploadAsync(target, offset + at, piece, ct);
        }, ct, device).ConfigureAwait(false);
    }
}
