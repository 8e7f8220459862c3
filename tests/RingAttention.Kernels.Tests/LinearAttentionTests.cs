using RingAttention.Attention;
using RingAttention.Kernels.Linear;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Tests;

/// <summary>
/// Linear attention on the CPU in the chunkwise form, over a sequence cut into R consecutive shards whose states pass
/// along the ring as the job will pass them (causal: each shard gets the fold of the states before it; not causal: the
/// fold of all), against the float64 recurrence (<see cref="ReferenceLinearAttention"/>). Both sides read the same stored
/// values; the CPU computes in float32, so the bound is float32 accumulation over up to 4099 tokens: 2e-4 of the
/// largest reference output, whatever the storage type. NaN never passes.
/// </summary>
public sealed class LinearAttentionTests
{
    public static TheoryData<int, int, string, string, float[]?, bool, int, int, string> Cases() => new()
    {
        // tokens, shards, mask, feature map, decay, normalize, heads, kvHeads, dtype
        { 1, 1, "causal", "elu1", null, true, 4, 2, "bf16" },
        { 1, 8, "causal", "elu1", [0.9f], true, 2, 1, "f32" },
        { 7, 3, "causal", "elu1", null, true, 4, 4, "f32" },
        { 7, 8, "none", "elu1", null, true, 4, 1, "bf16" },
        { 1000, 1, "causal", "relu", [0.99f], false, 4, 2, "f16" },
        { 1000, 5, "causal", "elu1", [0.95f, 0.99f, 0.999f, 1f], true, 4, 2, "bf16" },
        { 1000, 4, "none", "identity", null, false, 6, 2, "f32" },
        { 4099, 8, "causal", "elu1", [0.999f], false, 8, 2, "bf16" },
        { 4099, 2, "none", "elu1", null, true, 2, 2, "f16" },
        { 4099, 7, "causal", "identity", null, false, 4, 1, "f32" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ShardsPassingStates_EqualFloat64(int tokens, int shards, string mask, string map, float[]? decay, bool normalize, int heads, int kvHeads, string dtype)
    {
        const int dim = 32;
        Assert.True(ElementTypeExtensions.TryParseUser(dtype, out var type));
        var spec = new LinearAttentionSpec(tokens, heads, kvHeads, dim, type, mask == "causal", LinearFeatureMaps.Parse(map), decay, normalize).Validate();
        var rng = new Random(HashCode.Combine(tokens, shards, mask, map, heads, dtype));
        byte[] q = Random(rng, tokens * heads * dim, type), k = Random(rng, tokens * kvHeads * dim, type), v = Random(rng, tokens * kvHeads * dim, type);
        float[] qf = Widen(q, type), kf = Widen(k, type), vf = Widen(v, type);

        // Shard r holds tokens [bounds[r], bounds[r + 1]) (some empty when tokens < shards).
        int[] bounds = [.. Enumerable.Range(0, shards + 1).Select(r => (int)((long)tokens * r / shards))];
        var locals = new LinearState[shards];
        for (int r = 0; r < shards; r++)
        {
            int rows = bounds[r + 1] - bounds[r];
            locals[r] = CpuLinearAttention.LocalState(spec, kf.AsSpan(bounds[r] * kvHeads * dim), vf.AsSpan(bounds[r] * kvHeads * dim), rows);
        }

        var output = new float[tokens * heads * dim];
        var prefix = LinearState.Empty(spec);
        var total = LinearState.Empty(spec);
        foreach (var local in locals)
        {
            total.Append(spec, local);
        }

        for (int r = 0; r < shards; r++)
        {
            int rows = bounds[r + 1] - bounds[r];
            CpuLinearAttention.Output(spec, qf.AsSpan(bounds[r] * heads * dim), kf.AsSpan(bounds[r] * kvHeads * dim), vf.AsSpan(bounds[r] * kvHeads * dim),
                rows, spec.Causal ? prefix : total, output.AsSpan(bounds[r] * heads * dim));
            prefix.Append(spec, locals[r]);
        }

        Assert.Equal(tokens, prefix.Tokens);
        // What one hop carries does not depend on the tokens: state heads x (D² + D) floats.
        Assert.Equal(4L * spec.StateHeads * ((dim * dim) + dim), prefix.Bytes);
        var expected = ReferenceLinearAttention.Compute(spec, q, k, v);
        double magnitude = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(output[i] - expected[i]);
            Assert.True(error <= 2e-4 * magnitude,
                $"o[token {i / (heads * dim)}, head {i / dim % heads}, {i % dim}] = {output[i]} but float64 gives {expected[i]} (|diff| {error:G3} > 2e-4 x {magnitude:G3})");
        }
    }

    public static TheoryData<string, string, string> Refusals() => new()
    {
        { "decay", "[1.5]", "decay[0] = 1.5 is outside (0, 1]" },
        { "decay", "[0]", "decay[0] = 0 is outside (0, 1]" },
        { "decay", "[0.9,0.9,0.9]", "decay has 3 values; give one for every head or one per query head (4)" },
        { "decay", "noncausal", "decay applies to causal linear attention" },
        { "normalize", "relu", "the relu feature map can make zero or negative; use --feature-map elu1 or --no-normalize" },
        { "normalize", "identity", "the identity feature map can make zero or negative" },
        { "featureMap", "softplus", "feature map 'softplus' is not one of elu1, relu, identity" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void BadOptions_AreRefusedNamingTheField(string field, string what, string message)
    {
        var ex = Assert.Throws<SpecValidationException>(() =>
        {
            var spec = new LinearAttentionSpec(16, 4, 2, 32, ElementType.BF16, Causal: what != "noncausal");
            spec = what switch
            {
                "relu" => spec with { FeatureMap = LinearFeatureMap.Relu },
                "identity" => spec with { FeatureMap = LinearFeatureMap.Identity },
                "softplus" => spec with { FeatureMap = LinearFeatureMaps.Parse("softplus") },
                "noncausal" => spec with { Decay = [0.9f] },
                _ => spec with { Decay = System.Text.Json.JsonSerializer.Deserialize<float[]>(what) },
            };
            spec.Validate();
        });
        Assert.Equal(field, ex.Field);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    /// <summary>The state is the ring's message: appending an empty run changes nothing, and the fold is associative.</summary>
    [Fact]
    public void StateFold_IsAssociativeAndEmptyIsNeutral()
    {
        var spec = new LinearAttentionSpec(30, 2, 1, 16, ElementType.F32, Causal: true, Decay: [0.8f, 0.95f], Normalize: false).Validate();
        var rng = new Random(5);
        float[] k = [.. Enumerable.Range(0, 30 * 16).Select(_ => (float)rng.NextDouble() - 0.5f)];
        float[] v = [.. Enumerable.Range(0, 30 * 16).Select(_ => (float)rng.NextDouble() - 0.5f)];
        LinearState Run(int start, int rows) => CpuLinearAttention.LocalState(spec, k.AsSpan(start * 16), v.AsSpan(start * 16), rows);
        var whole = Run(0, 30);
        var left = Run(0, 10);
        var middle = Run(10, 12);
        var right = Run(22, 8);
        var leftFirst = left.Clone();
        leftFirst.Append(spec, middle);
        leftFirst.Append(spec, right);
        var rightFirst = middle.Clone();
        rightFirst.Append(spec, right);
        var other = left.Clone();
        other.Append(spec, rightFirst);
        other.Append(spec, LinearState.Empty(spec));
        Assert.Equal(30, other.Tokens);
        for (int i = 0; i < whole.S.Length; i++)
        {
            Assert.Equal(whole.S[i], leftFirst.S[i], 1e-5f);
            Assert.Equal(whole.S[i], other.S[i], 1e-5f);
        }
    }

    private static byte[] Random(Random rng, int count, ElementType type)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        var bytes = new byte[count * type.Size()];
        ElementConvert.FromSingle(values, type, bytes);
        return bytes;
    }

    private static float[] Widen(byte[] data, ElementType type)
    {
        var result = new float[data.Length / type.Size()];
        ElementConvert.ToSingle(data, type, result);
        return result;
    }
}
