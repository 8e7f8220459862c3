using RingAttention.Tensors;

namespace RingAttention.Integration.Tests;

public static class Inputs
{
    public static string Write(string path, int tokens, int heads, int kvHeads, int headDim, ElementType type, long seed) =>
        RandomAttentionInputs.Write(path, tokens, heads, kvHeads, headDim, type, seed);

    public static byte[] ReadAll(string path, string tensor)
    {
        using var file = SafetensorsFile.Open(path, "output");
        var info = file.GetTensor(tensor);
        byte[] data = new byte[info.ByteLength];
        file.ReadElements(tensor, 0, data);
        return data;
    }
}
