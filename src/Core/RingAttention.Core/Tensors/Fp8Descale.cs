using System.Runtime.InteropServices;

namespace RingAttention.Tensors;

/// <summary>
/// The descale factors of an FP8 input file and the dequantisation they define: element e of head h of tensor t (q, k
/// or v) stands for <c>e4m3(e) · t_descale[kv head of h]</c>. A factor tensor is F32 of shape [], [1] (one factor) or
/// [Hkv] (one per kv head; a query head uses its kv head's); a missing one means 1. Dequantised to bfloat16
/// (<see cref="ElementTypeExtensions.ComputeType"/>): q on load, K/V on load or, kept as codes on the ring, for each step
/// with this same arithmetic (<see cref="Fp8KeyValueScales"/>); the kernels and the output are bfloat16's.
/// </summary>
public static class Fp8Descale
{
    /// <summary>Why the file's descale tensors cannot be used, naming the tensor, or null when they can.</summary>
    public static (string Field, string Reason)? Problem(SafetensorsReader file, ElementType inputType, int kvHeads)
    {
        foreach (string tensor in new[] { TensorNames.Query, TensorNames.Key, TensorNames.Value })
        {
            string name = TensorNames.DescaleOf(tensor);
            if (!file.Header.Contains(name))
            {
                continue;
            }

            if (inputType != ElementType.F8E4M3)
            {
                return (name, $"descale tensors apply to F8_E4M3 inputs only; q, k and v are {inputType.SafetensorsName()}");
            }

            var info = file.GetTensor(name);
            long count = info.Shape.Aggregate(1L, (a, b) => a * b);
            if (info.Type != ElementType.F32 || info.Shape.Length > 1 || (count != 1 && count != kvHeads))
            {
                return (name, $"must be F32 of shape [], [1] or [{kvHeads}] (one factor per kv head); it is {info.Type.SafetensorsName()} {ShapeText(info.Shape)}");
            }

            var factors = ReadFactors(file, name, count);
            int bad = Array.FindIndex(factors, f => !float.IsFinite(f) || f <= 0);
            if (bad >= 0)
            {
                return (name, $"factor {bad} is {factors[bad]}; descale factors must be finite and greater than 0");
            }
        }

        return null;
    }

    /// <summary>The factor of every head of <paramref name="tensor"/> (q: Hq heads; k, v: Hkv).</summary>
    public static float[] PerHead(SafetensorsReader file, string tensor, int heads, int kvHeads)
    {
        string name = TensorNames.DescaleOf(tensor);
        var result = new float[heads];
        if (!file.Header.Contains(name))
        {
            Array.Fill(result, 1f);
            return result;
        }

        long count = file.GetTensor(name).Shape.Aggregate(1L, (a, b) => a * b);
        var factors = ReadFactors(file, name, count);
        int group = heads / kvHeads;
        for (int h = 0; h < heads; h++)
        {
            result[h] = factors.Length == 1 ? factors[0] : factors[h / group];
        }

        return result;
    }

    /// <summary>Rows of FP8 elements <c>[rows, heads, headDim]</c> to bfloat16 with each head's factor.</summary>
    public static void Dequantise(ReadOnlySpan<byte> fp8, Span<byte> bf16, int heads, int headDim, float[] factors)
    {
        var destination = MemoryMarshal.Cast<byte, ushort>(bf16)[..fp8.Length];
        // One head's run of headDim elements at a time: its factor is fixed across the run.
        for (int start = 0, head = 0; start < fp8.Length; start += headDim, head = head + 1 == heads ? 0 : head + 1)
        {
            float factor = factors[head];
            for (int i = start; i < start + headDim; i++)
            {
                destination[i] = ElementConvert.SingleToBFloat16(ElementConvert.Fp8E4M3ToSingle(fp8[i]) * factor);
            }
        }
    }

    private static float[] ReadFactors(SafetensorsReader file, string name, long count)
    {
        var factors = new float[count];
        file.ReadElements(name, 0, MemoryMarshal.AsBytes(factors.AsSpan()));
        return factors;
    }

    private static string ShapeText(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
