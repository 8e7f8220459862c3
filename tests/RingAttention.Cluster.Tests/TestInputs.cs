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
