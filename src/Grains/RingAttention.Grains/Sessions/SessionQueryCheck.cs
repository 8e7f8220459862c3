using RingAttention.Attention;
using RingAttention.Contracts.Sessions;
using RingAttention.Tensors;

namespace RingAttention.Grains.Sessions;

/// <summary>The rules an attend's queries pass before any shard is asked, and their conversion to the session's type.</summary>
public static class SessionQueryCheck
{
    /// <summary>The queries in the session's type at their resolved offset (default: the session's length), or a
    /// <see cref="SpecValidationException"/> naming the field and the limit.</summary>
    public static SessionQueries Resolve(SessionQueries queries, SessionSpec spec, int tokens)
    {
        if (queries.Rows < 1)
        {
            throw new SpecValidationException("queries", $"queries ({queries.Rows} rows) must have at least 1 row");
        }

        if (queries.Type.ComputeType() != queries.Type)
        {
            throw new SpecValidationException("queries", $"queries are {queries.Type.SafetensorsName()}; give f32, f16 or bf16 rows");
        }

        long floats = (long)queries.Rows * spec.Heads * spec.HeadDim;
        if (floats > SessionQueries.MaxOutputFloats)
        {
            throw new SpecValidationException("queries",
                $"{queries.Rows} rows x {spec.Heads} heads x {spec.HeadDim} is {floats:N0} output floats; one attend returns at most {SessionQueries.MaxOutputFloats:N0}: split the queries, or append them with an output file");
        }

        if (queries.Data.LongLength != floats * queries.Type.Size())
        {
            throw new SpecValidationException("queries",
                $"queries hold {queries.Data.Length} bytes but {queries.Rows} rows of [{spec.Heads}, {spec.HeadDim}] {queries.Type.SafetensorsName()} need {floats * queries.Type.Size()}");
        }

        int offset = queries.Offset ?? tokens;
        if (offset < 0 || (long)offset + queries.Rows > int.MaxValue)
        {
            throw new SpecValidationException("queryOffset", $"queryOffset ({offset}) must be at least 0 and leave room for {queries.Rows} rows below {int.MaxValue}");
        }

        if (NonFiniteScan.IndexOf(queries.Data, queries.Type) is int bad and >= 0)
        {
            throw new SpecValidationException("queries", $"queries hold a non-finite value (flat index {bad}); inputs must be finite");
        }

        return queries with { Type = spec.DType, Data = Convert(queries.Data, queries.Type, spec.DType), Offset = offset };
    }

    /// <summary>Elements of one float type as another (the same array when the types agree).</summary>
    public static byte[] Convert(byte[] data, ElementType from, ElementType to)
    {
        if (from == to)
        {
            return data;
        }

        var floats = new float[data.Length / from.Size()];
        ElementConvert.ToSingle(data, from, floats);
        var result = new byte[floats.Length * to.Size()];
        ElementConvert.FromSingle(floats, to, result);
        return result;
    }
}
