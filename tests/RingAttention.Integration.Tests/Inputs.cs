using RingAttention.Tensors;

namespace RingAttention.Integration.Tests;

public static class Inputs
{
    public static string Write(string path, int tokens, int heads, int kvHeads, int headDim, ElementType type, long seed)
    {
        SafetensorsFile.Write(path, new[] { ("q", heads), ("k", kvHeads), ("v", kvHeads) }.Select(t =>
        {
            byte[] data = new byte[(long)tokens * t.Item2 * headDim * type.Size()];
            SyntheticTensor.FillRows(seed, t.Item1, type, t.Item2 * headDim, 0, tokens, data);
            return (t.Item1, type, new long[] { tokens, t.Item2, headDim }, (ReadOnlyMemory<byte>)data);
        }));
        return path;
    }

    public static byte[] ReadAll(string path, string tensor)
    {
        using var file = SafetensorsFile.Open(path, "output");
        var info = file.GetTensor(tensor);
        byte[] data = new byte[info.ByteLength];
        file.ReadElements(tensor, 0, data);
        return data;
    }
}
