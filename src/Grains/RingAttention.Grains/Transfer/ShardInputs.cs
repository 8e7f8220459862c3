using RingAttention.Attention;
using RingAttention.Grains.Devices;
using RingAttention.Grains.Transfer;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Grains.Transfer;

/// <summary>Reads one shard's rows of q, k and v: only its own byte ranges of the input file, or its own synthetic rows.</summary>
public static class ShardInputs
{
    /// <summary>
    /// Streams one tensor's rows of the shard, in order, through two reused host buffers of whole rows: while
    /// <paramref name="sink"/> consumes chunk j (a copy to the device), chunk j+1 is being read. The shard's rows are
    /// never whole on the host, so their size is bounded by the device, not by one .NET array (2 GiB).
    /// </summary>
    /// <param name="sink">Receives (byte offset within the shard's rows of this tensor, bytes of whole rows).</param>
    /// <param name="device">The device the rows go to: its staging buffers are page-locked (null: plain arrays).</param>
    public static async Task StreamAsync(
        JobSpec spec, IReadOnlyList<TokenSpan> spans, string name, int heads, int bufferBytes,
        Func<long, ReadOnlyMemory<byte>, Task> sink, CancellationToken ct, ComputeDevice? device = null)
    {
        int rowElements = heads * spec.HeadDim;
        int rowBytes = rowElements * StoredType(spec, name).Size();
        int chunkRows = Math.Max(1, bufferBytes / rowBytes);
        var chunks = new List<(int Start, int Count)>();
        foreach (var span in spans)
        {
            for (int first = 0; first < span.Count; first += chunkRows)
            {
                chunks.Add((span.Start + first, Math.Min(chunkRows, span.Count - first)));
            }
        }

        using var file = Open(spec, name, out int firstPosition);
        var descale = Descale(file, spec, name, heads);
        long offset = 0;
        await DoubleBufferPump.RunAsync<byte>(device, chunks.Sum(c => (long)c.Count * rowBytes), chunks.Count == 0 ? 0 : chunks.Max(c => c.Count) * rowBytes,
            (index, buffer) => index >= chunks.Count ? Task.FromResult(0) : Task.Run(() =>
            {
                var (start, count) = chunks[index];
                var destination = buffer[..(count * rowBytes)];
                if (file is null)
                {
                    SyntheticTensor.FillRowsParallel(spec.SyntheticSeed!.Value, name, spec.DType, rowElements, start, count, destination);
                }
                else
                {
                    ReadRows(file, spec, name, rowElements, start - firstPosition, count, destination.Span, descale);
                }

                return destination.Length;
            }, ct),
            async (_, piece) =>
            {
                await sink(offset, piece).ConfigureAwait(false);
                offset += piece.Length;
            }).ConfigureAwait(false);
    }

    /// <summary>One tensor's rows of the shard, span after span, read straight into <paramref name="destination"/> (host memory).</summary>
    public static void ReadInto(JobSpec spec, IReadOnlyList<TokenSpan> spans, string name, int heads, Span<byte> destination)
    {
        int rowElements = heads * spec.HeadDim;
        int rowBytes = rowElements * StoredType(spec, name).Size();
        using var file = Open(spec, name, out int firstPosition);
        var descale = Descale(file, spec, name, heads);
        int offset = 0;
        foreach (var span in spans)
        {
            var rows = destination.Slice(offset, span.Count * rowBytes);
            ReadRows(file, spec, name, rowElements, span.Start - firstPosition, span.Count, rows, descale);
            offset += rows.Length;
        }
    }

    /// <summary>The file that holds tensor <paramref name="name"/> (the queries file for q when the job has one; null for
    /// synthetic inputs) and the global position of its row 0.</summary>
    private static SafetensorsReader? Open(JobSpec spec, string name, out int firstPosition)
    {
        bool queries = name == TensorNames.Query && spec.QueriesPath is not null;
        firstPosition = queries ? spec.FirstQueryPosition : 0;
        string? path = queries ? spec.QueriesPath : spec.InputPath;
        return path is null ? null : SafetensorsFile.Open(path);
    }

    /// <summary>The type a shard holds tensor <paramref name="name"/> in: q in the compute type, K and V in <see cref="JobSpec.KeyValueType"/>.</summary>
    public static ElementType StoredType(JobSpec spec, string name) => name == TensorNames.Query ? spec.ComputeType : spec.KeyValueType;

    /// <summary>The factors of K/V blocks kept in FP8 (one per kv head, from the input file's k_descale and v_descale), or null when they are not.</summary>
    public static Fp8KeyValueScales? KeyValueScales(JobSpec spec)
    {
        if (spec.KeyValueType != ElementType.F8E4M3)
        {
            return null;
        }

        using var file = SafetensorsFile.Open(spec.InputPath!);
        return new Fp8KeyValueScales(
            Fp8Descale.PerHead(file, TensorNames.Key, spec.KvHeads, spec.KvHeads),
            Fp8Descale.PerHead(file, TensorNames.Value, spec.KvHeads, spec.KvHeads));
    }

    /// <summary>Each head's descale factor of an FP8 tensor held dequantised (<see cref="Fp8Descale"/>), or null: other inputs, or K/V kept as codes.</summary>
    private static float[]? Descale(SafetensorsReader? file, JobSpec spec, string name, int heads) =>
        file is not null && spec.DType == ElementType.F8E4M3 && StoredType(spec, name) != ElementType.F8E4M3
            ? Fp8Descale.PerHead(file, name, heads, spec.KvHeads)
            : null;

    /// <summary>
    /// Rows [start, start + count) of one tensor in the compute type: from the input file (FP8 rows dequantised with
    /// <paramref name="descale"/>, through a scratch buffer of their own bytes), or the job's synthetic rows.
    /// </summary>
    private static void ReadRows(SafetensorsReader? file, JobSpec spec, string name, int rowElements, int start, int count, Span<byte> destination, float[]? descale)
    {
        if (file is not null && descale is not null)
        {
            byte[] raw = System.Buffers.ArrayPool<byte>.Shared.Rent(count * rowElements);
            try
            {
                var fp8 = raw.AsSpan(0, count * rowElements);
                file.ReadRows(name, start, count, fp8);
                Fp8Descale.Dequantise(fp8, destination, descale.Length, spec.HeadDim, descale);
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(raw);
            }
        }
        else if (file is not null)
        {
            file.ReadRows(name, start, count, destination);
        }
        else
        {
            SyntheticTensor.FillRows(spec.SyntheticSeed!.Value, name, spec.DType, rowElements, start, count, destination);
        }
    }
}
