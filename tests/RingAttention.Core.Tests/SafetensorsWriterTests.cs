using System.Runtime.InteropServices;
using RingAttention.Tensors;

namespace RingAttention.Tests;

public sealed class SafetensorsWriterTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(ElementType.F32)]
    [InlineData(ElementType.BF16)]
    public void WriteRows_ConcurrentShardsOnSeveralThreads_ProduceTheExactFile(ElementType type)
    {
        // o [T=1001, Hq=4, D=6] in the input dtype, lse [Hq, T] F32; 7 uneven shards, each writing its token
        // rows of o and, per head, its token range of lse, all at once.
        const int T = 1001, H = 4, D = 6;
        byte[] o = RawSafetensors.RandomData(type, T * H * D, seed: 11);
        byte[] lse = RawSafetensors.RandomData(ElementType.F32, H * T, seed: 12);
        int[] bounds = [0, 1, 150, 151, 400, 777, 900, T];
        string expected = _dir.File("expected.safetensors"), actual = _dir.File("actual.safetensors");
        SafetensorsFile.Write(expected, [("o", type, [T, H, D], o), ("lse", ElementType.F32, [H, T], lse)]);

        using (var writer = SafetensorsWriter.Create(actual, [("o", type, [T, H, D]), ("lse", ElementType.F32, [H, T])]))
        {
            int rowBytes = H * D * type.Size();
            Parallel.For(0, bounds.Length - 1, new ParallelOptions { MaxDegreeOfParallelism = 7 }, shard =>
            {
                int first = bounds[shard], count = bounds[shard + 1] - first;
                writer.WriteRows("o", first, o.AsSpan(first * rowBytes, count * rowBytes));
                for (int head = 0; head < H; head++)
                {
                    writer.WriteSegment("lse", head, first, lse.AsSpan((head * T + first) * 4, count * 4));
                }
            });
            Assert.False(File.Exists(actual));
            writer.Commit();
        }

        Assert.Equal(File.ReadAllBytes(expected), File.ReadAllBytes(actual));
        Assert.False(File.Exists(actual + ".partial"));
    }

    [Fact]
    public void Dispose_WithoutCommit_LeavesNoFileBehind()
    {
        string path = _dir.File("out.safetensors");
        using (var writer = SafetensorsWriter.Create(path, [("o", ElementType.F16, [8, 2])]))
        {
            writer.WriteRows("o", 0, new byte[32]);
            Assert.True(File.Exists(path + ".partial"));
        }

        Assert.Empty(Directory.GetFileSystemEntries(_dir.Path));
    }

    [Fact]
    public void Abort_WithGivenTempPath_DeletesItAndKeepsThePreviousFile()
    {
        string path = _dir.File("out.safetensors"), temp = _dir.File("shard.tmp");
        File.WriteAllText(path, "previous");
        var writer = SafetensorsWriter.Create(path, [("o", ElementType.F32, [2])], tempPath: temp);
        Assert.True(File.Exists(temp));
        writer.Abort();
        writer.Dispose();
        Assert.False(File.Exists(temp));
        Assert.Equal("previous", File.ReadAllText(path));
        Assert.Throws<InvalidOperationException>(() => writer.Commit());
    }

    [Fact]
    public void Commit_WithUnwrittenSegment_ThrowsNamingTensorAndRangeThenAllowsFinishing()
    {
        string path = _dir.File("out.safetensors");
        File.WriteAllText(path, "previous");
        using var writer = SafetensorsWriter.Create(path, [("o", ElementType.F32, [3, 2]), ("lse", ElementType.F32, [2, 3])]);
        writer.WriteRows("o", 0, new byte[24]);
        writer.WriteSegment("lse", 0, 0, new byte[12]);
        writer.WriteSegment("lse", 1, 0, new byte[4]);
        writer.WriteSegment("lse", 1, 2, new byte[4]);

        var ex = Assert.Throws<InvalidOperationException>(() => writer.Commit());
        Assert.Contains("tensor 'lse' bytes [16, 20) were never written", ex.Message);
        Assert.Equal("previous", File.ReadAllText(path));

        writer.WriteSegment("lse", 1, 1, MemoryMarshal.AsBytes<float>([float.NegativeInfinity]));
        writer.Commit();
        Assert.Throws<InvalidOperationException>(() => writer.WriteRows("o", 0, new byte[8]));
        using var reader = SafetensorsReader.Open(path);
        var lse = new byte[12];
        reader.ReadRows("lse", 1, 1, lse);
        Assert.Equal(float.NegativeInfinity, BitConverter.ToSingle(lse, 4));
        Assert.Equal(4, reader.FindFirstNonFinite("lse")!.FlatIndex);
    }

    [Fact]
    public void Commit_RenameFails_DeletesTempFileAndRethrows()
    {
        string path = _dir.File(Path.Combine("missing-dir", "out.safetensors")), temp = _dir.File("out.tmp");
        using var writer = SafetensorsWriter.Create(path, [("o", ElementType.F32, [1])], tempPath: temp);
        writer.WriteRows("o", 0, new byte[4]);
        Assert.Throws<DirectoryNotFoundException>(() => writer.Commit());
        Assert.Empty(Directory.GetFileSystemEntries(_dir.Path));
    }

    [Fact]
    public void Write_OutsideTheTensor_ThrowsArgumentException()
    {
        using var writer = SafetensorsWriter.Create(_dir.File("out.safetensors"), [("o", ElementType.F16, [4, 3]), ("lse", ElementType.F32, [3, 4])]);
        Assert.Throws<ArgumentException>(() => writer.WriteRows("o", 0, new byte[5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.WriteRows("o", 3, new byte[12]));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.WriteSegment("lse", 3, 0, new byte[4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.WriteSegment("lse", 0, 2, new byte[12]));
        var ex = Assert.Throws<ArgumentException>(() => writer.WriteRows("v", 0, new byte[6]));
        Assert.Contains("'v' is not in this file (o, lse)", ex.Message);
    }

    [Fact]
    public void Create_InvalidDeclarations_Throw()
    {
        string path = _dir.File("out.safetensors");
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Create(path, [("o", ElementType.F32, [2]), ("o", ElementType.F32, [2])]));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Create(path, [("__metadata__", ElementType.F32, [2])]));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Create(path, [("o", ElementType.F32, [2, -1])]));
        Assert.Empty(Directory.GetFileSystemEntries(_dir.Path));
    }
}
