using RingAttention.Attention;
using RingAttention.Grains.Ring;
using RingAttention.Tensors;

namespace RingAttention.Grains.Jobs;

/// <summary>
/// Reads q [T, Hq, D], k and v [T, Hkv, D] from a safetensors header and checks they agree with each other and the
/// spec; with a queries file, q [n, Hq, D] comes from it (k and v from the input file) and n and its offset are checked.
/// </summary>
public static class InputFileShape
{
    public static JobSpec Apply(JobSpec spec, string path)
    {
        using var file = SafetensorsFile.Open(path);
        using var queriesFile = spec.QueriesPath is null ? null : SafetensorsFile.Open(spec.QueriesPath, "queries");
        var q = Rank3(queriesFile ?? file, TensorNames.Query, queriesFile is null ? "inputs" : "queries");
        var k = Rank3(file, TensorNames.Key);
        var v = Rank3(file, TensorNames.Value);
        foreach (var other in new[] { k, v })
        {
            string field = $"inputs.{other.Name}";
            if (other.Type != q.Type)
            {
                throw new SpecValidationException(field, $"{other.Name} is {other.Type.SafetensorsName()} but q is {q.Type.SafetensorsName()}; q, k and v must share a dtype");
            }

            if (queriesFile is null && other.Shape[0] != q.Shape[0])
            {
                throw new SpecValidationException(field, $"{other.Name} has {other.Shape[0]} tokens but q has {q.Shape[0]}");
            }

            if (queriesFile is not null && other.Shape[0] != k.Shape[0])
            {
                throw new SpecValidationException(field, $"{other.Name} has {other.Shape[0]} tokens but k has {k.Shape[0]}");
            }

            if (other.Shape[2] != q.Shape[2])
            {
                throw new SpecValidationException(field, $"{other.Name} has head dim {other.Shape[2]} but q has {q.Shape[2]}");
            }
        }

        if (v.Shape[1] != k.Shape[1])
        {
            throw new SpecValidationException("inputs.v", $"v has {v.Shape[1]} heads but k has {k.Shape[1]}");
        }

        var fromFile = spec with
        {
            Tokens = ToInt(k.Shape[0], "tokens"),
            QueryTokens = queriesFile is null ? 0 : ToInt(q.Shape[0], "queries"),
            Heads = ToInt(q.Shape[1], "heads"),
            KvHeads = ToInt(k.Shape[1], "kvHeads"),
            HeadDim = ToInt(q.Shape[2], "headDim"),
            DType = q.Type,
        };
        Agree("tokens", spec.Tokens, fromFile.Tokens);
        Agree("heads", spec.Heads, fromFile.Heads);
        Agree("kvHeads", spec.KvHeads, fromFile.KvHeads);
        Agree("headDim", spec.HeadDim, fromFile.HeadDim);
        if (Fp8Descale.Problem(file, q.Type, fromFile.KvHeads) is { } descale)
        {
            throw new SpecValidationException($"inputs.{descale.Field}", descale.Reason);
        }

        if (queriesFile is not null)
        {
            if (Fp8Descale.Problem(queriesFile, q.Type, fromFile.KvHeads) is { } queryDescale)
            {
                throw new SpecValidationException($"queries.{queryDescale.Field}", queryDescale.Reason);
            }

            CheckQueries(fromFile);
        }

        return fromFile;
    }

    /// <summary>n from 1 to Tk query rows at a non-negative offset, and no more shards than query rows (each shard of
    /// the ring takes a share of the queries).</summary>
    private static void CheckQueries(JobSpec spec)
    {
        if (spec.QueryTokens > spec.Tokens)
        {
            throw new SpecValidationException("queries", $"the queries file has {spec.QueryTokens} rows but k and v have {spec.Tokens}; give from 1 to {spec.Tokens} query rows");
        }

        if (spec.QueryOffset is < 0)
        {
            throw new SpecValidationException("queryOffset", $"queryOffset ({spec.QueryOffset}) must be at least 0");
        }

        if ((long)spec.FirstQueryPosition + spec.QueryTokens > int.MaxValue)
        {
            throw new SpecValidationException("queryOffset", $"queryOffset ({spec.QueryOffset}) + {spec.QueryTokens} query rows pass {int.MaxValue}");
        }

        if (spec.Shards > spec.QueryTokens)
        {
            throw new SpecValidationException("shards", $"shards ({spec.Shards}) must not exceed the query rows ({spec.QueryTokens}): each shard takes a share of the queries");
        }
    }

    /// <summary>Tensor <paramref name="name"/> of the file, which must be [tokens, heads, headDim].</summary>
    internal static TensorInfo Rank3(SafetensorsReader file, string name, string source = "inputs")
    {
        var tensor = file.GetTensor(name);
        if (tensor.Shape.Length != 3)
        {
            throw new SpecValidationException($"{source}.{name}", $"{name} must have 3 dimensions [tokens, heads, headDim] but has shape {ShapeMath.Format(tensor.Shape)}");
        }

        return tensor;
    }

    internal static int ToInt(long value, string field) => value is >= 1 and <= int.MaxValue
        ? (int)value
        : throw new SpecValidationException(field, $"{field} ({value}) must be between 1 and {int.MaxValue}");

    /// <summary>A shape field given in the spec (non-zero) must match the file.</summary>
    private static void Agree(string field, int given, int actual)
    {
        if (given != 0 && given != actual)
        {
            throw new SpecValidationException(field, $"{field} ({given}) does not match the input file ({actual})");
        }
    }
}
