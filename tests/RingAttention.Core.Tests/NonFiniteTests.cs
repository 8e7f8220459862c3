using RingAttention.Tensors;

namespace RingAttention.Tests;

public sealed class NonFiniteTests : IDisposable
{
    // [2200, 1024]: 2.25M elements, so the 4 MiB scan chunk (1M F32 / 2M F16 elements) is crossed in every dtype.
    private static readonly long[] BigShape = [2200, 1024];
    private const long BigCount = 2200 * 1024;

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<ElementType, long> Positions()
    {
        var data = new TheoryData<ElementType, long>();
        foreach (var type in new[] { ElementType.F32, ElementType.F16, ElementType.BF16 })
        {
            // First element, inside the first vector, last of F32 chunk 1, first of F32 chunk 2,
            // first of F16 chunk 2, inside F32 chunk 3, last element.
            foreach (long position in new long[] { 0, 7, 1_048_575, 1_048_576, 2_097_152, 2_200_003, BigCount - 1 })
            {
                data.Add(type, position);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Positions))]
    public void FindFirstNonFinite_NaNBeforeInf_ReturnsExactFirstIndex(ElementType type, long position)
    {
        var data = new byte[BigCount * type.Size()];
        ElementConvert.Write(data, type, position, float.NaN);
        if (position != BigCount - 1)
        {
            ElementConvert.Write(data, type, BigCount - 1, float.PositiveInfinity);
        }

        string path = _dir.File("x.safetensors");
        SafetensorsFile.Write(path, [("x", type, BigShape, data)]);

        using var reader = SafetensorsReader.Open(path);
        var hit = reader.FindFirstNonFinite("x");
        Assert.NotNull(hit);
        Assert.Equal(position, hit.FlatIndex);
        Assert.Equal(new[] { position / 1024, position % 1024 }, hit.Index);
        Assert.True(float.IsNaN(hit.Value));
    }

    [Theory]
    [InlineData(ElementType.F32, 0x7F80_0000u)]
    [InlineData(ElementType.F16, 0xFC00u)]
    [InlineData(ElementType.BF16, 0xFF80u)]
    public void FindFirstNonFinite_RowRange_SeesOnlyThoseRowsAndReportsGlobalIndex(ElementType type, uint infinityBits)
    {
        // x [10, 3, 4]: +/-Inf at [3, 2, 1] (flat 3·12 + 2·4 + 1 = 45).
        var data = RawSafetensors.RandomData(type, 120, seed: 7);
        var bits = BitConverter.GetBytes(infinityBits).AsSpan(0, type.Size());
        bits.CopyTo(data.AsSpan(45 * type.Size()));
        string path = _dir.File("r.safetensors");
        SafetensorsFile.Write(path, [("x", type, [10, 3, 4], data)]);

        using var reader = SafetensorsReader.Open(path);
        Assert.Null(reader.FindFirstNonFinite("x", 4, 6));
        Assert.Null(reader.FindFirstNonFinite("x", 0, 3));
        var hit = reader.FindFirstNonFinite("x", 2, 5);
        Assert.NotNull(hit);
        Assert.Equal((45L, "x"), (hit.FlatIndex, hit.Tensor));
        Assert.Equal(new long[] { 3, 2, 1 }, hit.Index);
        Assert.True(float.IsInfinity(hit.Value));
        Assert.Equal(hit.FlatIndex, reader.FindFirstNonFinite("x")!.FlatIndex);
    }

    [Theory]
    [InlineData(ElementType.F32)]
    [InlineData(ElementType.F16)]
    [InlineData(ElementType.BF16)]
    public void FindFirstNonFinite_CleanTensor_ReturnsNull(ElementType type)
    {
        string path = _dir.File("clean.safetensors");
        SafetensorsFile.Write(path, [("x", type, [300, 7], RawSafetensors.RandomData(type, 2100, seed: 9)), ("empty", type, [0, 7], ReadOnlyMemory<byte>.Empty)]);
        using var reader = SafetensorsReader.Open(path);
        Assert.Null(reader.FindFirstNonFinite("x"));
        Assert.Null(reader.FindFirstNonFinite("empty"));
    }

    [Theory]
    [InlineData(ElementType.F32, 0x7FC0_0000u, 0x7F7F_FFFFu)]
    [InlineData(ElementType.F16, 0x7E00u, 0x7BFFu)]
    [InlineData(ElementType.BF16, 0x7FC0u, 0x7F7Fu)]
    public void IndexOf_BadValueInEveryLane_FoundAndLargestFiniteIgnored(ElementType type, uint nanBits, uint maxFiniteBits)
    {
        int size = type.Size();
        var largest = BitConverter.GetBytes(maxFiniteBits).AsSpan(0, size).ToArray();
        for (int position = 0; position < 70; position++)
        {
            var data = new byte[70 * size];
            for (int i = 0; i < 70; i++)
            {
                largest.CopyTo(data, i * size);
            }

            Assert.Equal(-1, NonFiniteScan.IndexOf(data, type));
            BitConverter.GetBytes(nanBits).AsSpan(0, size).CopyTo(data.AsSpan(position * size));
            Assert.Equal(position, NonFiniteScan.IndexOf(data, type));
        }
    }
}
