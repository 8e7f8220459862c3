using RingAttention.Attention;
using RingAttention.Contracts.Sessions;
using RingAttention.Grains.Jobs;
using RingAttention.Tensors;

namespace RingAttention.Grains.Sessions;

/// <summary>
/// The files a session reads: a user's k, v (and optional q) safetensors, checked against each other and the session
/// before anything changes; and the session's own segments, the durable copy of every append (k and v in the
/// session's type, FP8 dequantised), which the shards read their pages from.
/// </summary>
public static class SessionInputs
{
    /// <summary>Rows of a segment copied per read/write (whole rows).</summary>
    private const int ChunkBytes = 16 << 20;

    /// <summary>What a user's file holds.</summary>
    public sealed record Shape(int Tokens, int Heads, int KvHeads, int HeadDim, ElementType Type, bool HasQueries);

    /// <summary>
    /// Checks the file's k, v (and q when present) against each other and, for an append, against the session; scans
    /// them for non-finite values. <paramref name="session"/> null: a create (the shape comes from the file).
    /// </summary>
    public static Shape Inspect(string path, SessionSpec? session)
    {
        using var file = SafetensorsFile.Open(path);
        var k = InputFileShape.Rank3(file, TensorNames.Key);
        var v = InputFileShape.Rank3(file, TensorNames.Value);
        if (!v.Shape.SequenceEqual(k.Shape) || v.Type != k.Type)
        {
            throw new SpecValidationException("inputs.v", $"v is {v} but k is {k}; they must have the same shape and dtype");
        }

        TensorInfo? q = file.Header.Contains(TensorNames.Query) ? InputFileShape.Rank3(file, TensorNames.Query) : null;
        if (q is not null && (q.Shape[0] != k.Shape[0] || q.Shape[2] != k.Shape[2] || q.Type != k.Type || q.Shape[1] % k.Shape[1] != 0))
        {
            throw new SpecValidationException("inputs.q", $"q is {q} but k is {k}; q needs k's tokens, head dim and dtype, and heads that k's heads divide");
        }

        var shape = new Shape(InputFileShape.ToInt(k.Shape[0], "tokens"), q is null ? 0 : InputFileShape.ToInt(q.Shape[1], "heads"),
            InputFileShape.ToInt(k.Shape[1], "kvHeads"), InputFileShape.ToInt(k.Shape[2], "headDim"), k.Type, q is not null);
        if (Fp8Descale.Problem(file, k.Type, shape.KvHeads) is { } descale)
        {
            throw new SpecValidationException($"inputs.{descale.Field}", descale.Reason);
        }

        if (session is not null)
        {
            Agree("kvHeads", session.KvHeads, shape.KvHeads);
            Agree("headDim", session.HeadDim, shape.HeadDim);
            if (shape.Type.ComputeType() != session.DType)
            {
                throw new SpecValidationException("dtype", $"the file is {shape.Type.SafetensorsName()} but the session stores {session.DType.SafetensorsName()}");
            }

            if (q is not null)
            {
                Agree("heads", session.Heads, shape.Heads);
            }
        }

        JobValidation.CheckFinite(path, q is null ? [TensorNames.Key, TensorNames.Value] : [TensorNames.Query, TensorNames.Key, TensorNames.Value], "inputs");
        return shape;
    }

    /// <summary>
    /// Copies the file's k and v (dequantised to the session's type) into a new segment at <paramref name="segmentPath"/>,
    /// through a temp file renamed into place when complete; not flushed to the disk (the session does that beside the
    /// page fills, before its manifest names the segment).
    /// </summary>
    public static void WriteSegment(string inputPath, string segmentPath, SessionSpec session, int firstPosition, string sessionId)
    {
        using var file = SafetensorsFile.Open(inputPath);
        int tokens = (int)file.GetTensor(TensorNames.Key).Shape[0];
        long[] shape = [tokens, session.KvHeads, session.HeadDim];
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Contracts.OutputMetadata.ProducerKey] = Contracts.OutputMetadata.ProducerName,
            ["session"] = sessionId,
            ["first_position"] = firstPosition.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        using var writer = SafetensorsWriter.Create(segmentPath, [(TensorNames.Key, session.DType, shape), (TensorNames.Value, session.DType, shape)], metadata);
        foreach (string name in new[] { TensorNames.Key, TensorNames.Value })
        {
            var rows = ReadRows(file, name, session.KvHeads, session, 0, tokens);
            foreach (var (first, data) in rows)
            {
                writer.WriteRows(name, first, data.Span);
            }
        }

        writer.Commit(flush: false);
    }

    /// <summary>
    /// Rows of one tensor of a user's file in the session's type, a chunk at a time (first row, bytes): FP8 rows are
    /// dequantised with the file's descale factors.
    /// </summary>
    public static IEnumerable<(int First, ReadOnlyMemory<byte> Rows)> ReadRows(SafetensorsReader file, string name, int heads, SessionSpec session, int first, int count)
    {
        var info = file.GetTensor(name);
        int rowElements = heads * session.HeadDim;
        int rowBytes = rowElements * session.DType.Size();
        int chunkRows = Math.Max(1, ChunkBytes / rowBytes);
        float[]? descale = info.Type == ElementType.F8E4M3 ? Fp8Descale.PerHead(file, name, heads, session.KvHeads) : null;
        byte[] buffer = new byte[Math.Min(count, chunkRows) * rowBytes];
        byte[]? raw = descale is null ? null : new byte[Math.Min(count, chunkRows) * rowElements];
        for (int row = first; row < first + count; row += chunkRows)
        {
            int rows = Math.Min(chunkRows, first + count - row);
            var destination = buffer.AsMemory(0, rows * rowBytes);
            if (raw is not null)
            {
                file.ReadRows(name, row, rows, raw.AsSpan(0, rows * rowElements));
                Fp8Descale.Dequantise(raw.AsSpan(0, rows * rowElements), destination.Span, heads, session.HeadDim, descale!);
            }
            else
            {
                file.ReadRows(name, row, rows, destination.Span);
            }

            yield return (row - first, destination);
        }
    }

    private static void Agree(string field, int session, int file)
    {
        if (session != file)
        {
            throw new SpecValidationException(field, $"the file has {field} {file} but the session has {session}");
        }
    }
}
