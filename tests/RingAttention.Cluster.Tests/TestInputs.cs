using RingAttention.Tensors;

namespace RingAttention.Cluster.Tests;

/// <summary>Random q/k/v safetensors files, the way a PyTorch user would write them.</summary>
public static class TestInputs
{
    public static string Write(string path, int tokens, int heads, int kvHeads, int headDim, ElementType type, long seed) =>
        RandomAttentionInputs.Write(path, tokens, heads, kvHeads, headDim, type, seed);

    public static (string Name, ElementType Type, long[] Shape, ReadOnlyMemory<byte> Data) Tensor(
        string name, ElementType type, long seed, int tokens, int heads, int headDim)
    {
        byte[] data = new byte[(long)tokens * heads * headDim * type.Size()];
        SyntheticTensor.FillRows(seed, name, type, heads * headDim, 0, tokens, data);
        return (name, type, [tokens, heads, headDim], data);
    }

    /// <summary>
    /// An FP8 (E4M3) input file: q, k, v codes of random values in [-4, 4], a single q_descale, and one k_descale and
    /// v_descale factor per kv head; also the same inputs dequantised to bfloat16 (each code times its head's factor,
    /// rounded once), written to <paramref name="bf16Path"/>.
    /// </summary>
    public static void WriteFp8(string path, string bf16Path, int tokens, int heads, int kvHeads, int headDim, int seed)
    {
        var random = new Random(seed);
        float[] qScale = [0.25f];
        float[] kScale = [.. Enumerable.Range(0, kvHeads).Select(h => 0.5f / (h + 1))];
        float[] vScale = [.. Enumerable.Range(0, kvHeads).Select(h => 2f - (0.75f * h))];
        (byte[] Codes, byte[] Bf16) Make(int tensorHeads, float[] factors)
        {
            int count = tokens * tensorHeads * headDim;
            var codes = new byte[count];
            var bf16 = new byte[count * 2];
            int group = tensorHeads / factors.Length;
            for (int i = 0; i < count; i++)
            {
                codes[i] = ElementConvert.SingleToFp8E4M3((float)((random.NextDouble() * 8) - 4));
                float factor = factors[(i / headDim % tensorHeads) / group];
                ElementConvert.Write(bf16, ElementType.BF16, i, ElementConvert.Fp8E4M3ToSingle(codes[i]) * factor);
            }

            return (codes, bf16);
        }

        var q = Make(heads, qScale);
        var k = Make(kvHeads, kScale);
        var v = Make(kvHeads, vScale);
        static byte[] Floats(float[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        SafetensorsFile.Write(path,
        [
            ("q", ElementType.F8E4M3, [tokens, heads, headDim], q.Codes),
            ("k", ElementType.F8E4M3, [tokens, kvHeads, headDim], k.Codes),
            ("v", ElementType.F8E4M3, [tokens, kvHeads, headDim], v.Codes),
            ("q_descale", ElementType.F32, [], Floats(qScale)),
            ("k_descale", ElementType.F32, [kvHeads], Floats(kScale)),
            ("v_descale", ElementType.F32, [kvHeads], Floats(vScale)),
        ]);
        SafetensorsFile.Write(bf16Path,
        [
            ("q", ElementType.BF16, [tokens, heads, headDim], q.Bf16),
            ("k", ElementType.BF16, [tokens, kvHeads, headDim], k.Bf16),
            ("v", ElementType.BF16, [tokens, kvHeads, headDim], v.Bf16),
        ]);
    }

    /// <summary>o and lse of an output file as float32.</summary>
    public static (float[] Output, float[] Lse) ReadOutput(string path)
    {
        using var file = SafetensorsFile.Open(path, "output");
        var o = file.GetTensor("o");
        byte[] raw = new byte[o.ByteLength];
        file.ReadElements("o", 0, raw);
        float[] output = new float[o.ElementCount];
        ElementConvert.ToSingle(raw, o.Type, output);
        var lseInfo = file.GetTensor("lse");
        byte[] lseRaw = new byte[lseInfo.ByteLength];
        file.ReadElements("lse", 0, lseRaw);
        return (output, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(lseRaw).ToArray());
    }
}
