using System.Text;
using RingAttention.Tensors;

namespace RingAttention.Tests;

public sealed class SafetensorsRoundTripTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<ElementType> Dtypes => new() { ElementType.F32, ElementType.F16, ElementType.BF16 };

    [Theory]
    [MemberData(nameof(Dtypes))]
    public void Write_ThenOpen_AllDtypes_RoundTripsBytesShapeAndMetadata(ElementType type)
    {
        // q [T=37, Hq=3, D=5], k [37, 1, 5]: odd sizes so rows are not 8-byte multiples.
        byte[] q = RawSafetensors.RandomData(type, 37 * 3 * 5, seed: 1);
        byte[] k = RawSafetensors.RandomData(type, 37 * 1 * 5, seed: 2);
        string path = _dir.File("qk.safetensors");
        SafetensorsFile.Write(path, [("q", type, [37, 3, 5], q), ("k", type, [37, 1, 5], k)],
            new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode <&>" });

        using var reader = SafetensorsFile.Open(path);
        var info = reader.GetTensor("q");
        Assert.Equal(("q", type, 15L * type.Size(), 37L), (info.Name, info.Type, info.RowBytes, info.Rows));
        Assert.Equal(new long[] { 37, 3, 5 }, info.Shape);
        Assert.Equal(q.Length, info.ByteLength);
        var read = new byte[q.Length];
        reader.ReadRows("q", 0, 37, read);
        Assert.Equal(q, read);
        read = new byte[k.Length];
        reader.ReadRows("k", 0, 37, read);
        Assert.Equal(k, read);
        Assert.Equal("ünïcode <&>", reader.Header.Metadata["note"]);
        Assert.Equal("pt", reader.Header.Metadata["format"]);
        Assert.False(File.Exists(path + ".partial"));
    }

    [Theory]
    [MemberData(nameof(Dtypes))]
    public void ReadRows_AnyRange_EqualsSliceOfFullTensor(ElementType type)
    {
        byte[] v = RawSafetensors.RandomData(type, 41 * 2 * 7, seed: 3);
        string path = _dir.File("v.safetensors");
        SafetensorsFile.Write(path, [("pad", ElementType.F16, [3], new byte[6]), ("v", type, [41, 2, 7], v)]);
        using var reader = SafetensorsFile.Open(path);
        int rowBytes = 14 * type.Size();
        foreach (var (first, count) in new[] { (0, 1), (5, 7), (40, 1), (0, 41), (13, 0), (17, 24) })
        {
            var rows = new byte[count * rowBytes + 3]; // larger than needed: the tail must stay untouched
            reader.ReadRows("v", first, count, rows);
            Assert.Equal(v.AsSpan(first * rowBytes, count * rowBytes).ToArray(), rows[..(count * rowBytes)]);
            Assert.All(rows[(count * rowBytes)..], b => Assert.Equal(0, b));
        }

        var elements = new byte[9 * type.Size()];
        reader.ReadElements("v", 100, elements);
        Assert.Equal(v.AsSpan(100 * type.Size(), elements.Length).ToArray(), elements);
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.ReadRows("v", 40, 2, new byte[2 * rowBytes]));
    }

    [Fact]
    public void Open_PythonStyleHandWrittenFile_ParsesTensorsAndMetadata()
    {
        // What torch + safetensors.save_file writes: compact JSON, __metadata__ first, tensors ordered by
        // dtype alignment then name (k F32 before q BF16), key order unrelated to offsets is also allowed.
        string json = "{\"__metadata__\":{\"format\":\"pt\"},\"q\":{\"dtype\":\"BF16\",\"shape\":[2,1,2],\"data_offsets\":[16,24]}," +
                      "\"k\":{\"dtype\":\"F32\",\"shape\":[2,1,2],\"data_offsets\":[0,16]}}";
        var data = new List<byte>();
        foreach (float x in new[] { 1f, -2f, 0.5f, 3f })
        {
            data.AddRange(BitConverter.GetBytes(x));
        }

        foreach (float x in new[] { 1.5f, -1f, 2f, 0.25f })
        {
            data.AddRange(BitConverter.GetBytes(ElementConvert.SingleToBFloat16(x)));
        }

        byte[] file = RawSafetensors.Build(json, data.ToArray());
        Assert.Equal(0, (file.Length - data.Count) % 8);
        string path = _dir.File("python.safetensors");
        File.WriteAllBytes(path, file);

        using var reader = SafetensorsReader.Open(path);
        Assert.Equal(new[] { "k", "q" }, reader.Header.Names);
        Assert.Equal("pt", reader.Header.Metadata["format"]);
        var q = reader.GetTensor("q");
        Assert.Equal((ElementType.BF16, reader.Header.DataStart + 16, 8L), (q.Type, q.Offset, q.ByteLength));
        var row = new byte[4];
        reader.ReadRows("q", 1, 1, row);
        Assert.Equal(2f, ElementConvert.Read(row, ElementType.BF16, 0));
        Assert.Equal(0.25f, ElementConvert.Read(row, ElementType.BF16, 1));
        Assert.Null(reader.FindFirstNonFinite("k"));
    }

    [Fact]
    public void Create_Header_IsSpacePaddedToEightAndContiguousInGivenOrder()
    {
        string path = _dir.File("layout.safetensors");
        using (var writer = SafetensorsWriter.Create(path, [("o", ElementType.BF16, [5, 3, 1]), ("lse", ElementType.F32, [3, 5])]))
        {
            Assert.Equal(new[] { "o", "lse" }, writer.Header.Names);
            writer.Commit(allowIncomplete: true);
        }

        byte[] file = File.ReadAllBytes(path);
        long n = BitConverter.ToInt64(file, 0);
        string header = Encoding.UTF8.GetString(file, 8, (int)n);
        Assert.Equal(0, n % 8);
        Assert.StartsWith("{\"o\":{\"dtype\":\"BF16\",\"shape\":[5,3,1],\"data_offsets\":[0,30]},\"lse\":", header);
        Assert.EndsWith("}}", header.TrimEnd(' '));
        Assert.InRange(n - header.TrimEnd(' ').Length, 0, 7);
        Assert.Equal(8 + n + 30 + 60, file.Length);
    }
}
