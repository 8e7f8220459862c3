using System.Buffers.Binary;
using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Tests;

public sealed class SafetensorsValidationTests : IDisposable
{
    private const string Q = "\"q\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}";

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>(header JSON, data bytes, expected field, fragment the message must contain).</summary>
    public static TheoryData<string, int, string, string> BadHeaders => new()
    {
        { "{" + Q, 24, "inputs", "not valid JSON" },
        { "[1, 2]", 0, "inputs", "not an object" },
        { "{" + Q + "," + Q + "}", 24, "inputs", "'q' appears twice" },
        { "{\"__metadata__\":{\"n\":1}," + Q + "}", 24, "inputs", "__metadata__.n must be a string" },
        { "{\"q\":{\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24, "inputs.q", "no string \"dtype\"" },
        { "{\"q\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,24]}}", 24, "inputs.q", "found -3" },
        { "{\"q\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0]}}", 24, "inputs.q", "array of 2 non-negative integers" },
        { "{\"q\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[24,0]}}", 24, "inputs.q", "end before they begin" },
        { "{\"q\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20, "inputs.q", "hold 20 bytes but shape [2, 3] of F32 needs 24" },
        { "{" + Q + "}", 16, "inputs.q", "run past the end of the data section (16 bytes" },
        { "{" + Q + ",\"k\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[16,24]}}", 24, "inputs.k", "overlap tensor 'q'" },
        { "{" + Q + ",\"k\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[32,40]}}", 40, "inputs.k", "gap of 8 bytes" },
        { "{" + Q + "}", 32, "inputs", "8 bytes follow the last tensor" },
        { "{\"q\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,24]}}", 24, "inputs.q", "overflows" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void Open_InvalidHeader_ThrowsNamingFieldAndRule(string json, int dataBytes, string field, string fragment)
    {
        string path = Write("bad.safetensors", RawSafetensors.Build(json, new byte[dataBytes]));
        var ex = Assert.Throws<SpecValidationException>(() => SafetensorsReader.Open(path));
        Assert.Equal(field, ex.Field);
        Assert.Contains(fragment, ex.Reason);
        Assert.Contains(path, ex.Reason);
    }

    [Fact]
    public void Open_MissingFile_ThrowsNamingPath()
    {
        string path = _dir.File("nope.safetensors");
        var ex = Assert.Throws<SpecValidationException>(() => SafetensorsReader.Open(path));
        Assert.Equal(("inputs", $"file '{path}' does not exist"), (ex.Field, ex.Reason));
    }

    [Fact]
    public void Open_Directory_ThrowsCannotOpenNamingPath()
    {
        var ex = Assert.Throws<SpecValidationException>(() => SafetensorsReader.Open(_dir.Path, "reference"));
        Assert.Equal("reference", ex.Field);
        Assert.Contains(_dir.Path, ex.Reason);
    }

    [Fact]
    public void Open_FileShorterThanEightBytes_ThrowsTooShort()
    {
        string path = Write("short.safetensors", [1, 2, 3, 4, 5]);
        var ex = Assert.Throws<SpecValidationException>(() => SafetensorsReader.Open(path));
        Assert.Equal("inputs", ex.Field);
        Assert.Contains("it is 5 bytes long", ex.Reason);
    }

    [Fact]
    public void Open_HeaderLengthOverLimit_ThrowsNamingLimitButNotTheBytes()
    {
        var file = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(file, 100_000_001);
        string path = Write("huge.safetensors", file);
        var ex = Assert.Throws<SpecValidationException>(() => SafetensorsReader.Open(path));
        Assert.Equal("inputs", ex.Field);
        Assert.Contains("not a header length of at most 100000000 bytes", ex.Reason);
        // Those 8 bytes are the file's content when it is not safetensors (a password file's first characters). The
        // path (a random temp directory) is left out of the check: its digits are not the file's.
        Assert.DoesNotContain("100000001", ex.Reason.Replace(path, "", StringComparison.Ordinal));
    }

    [Fact]
    public void Open_HeaderLengthPastEndOfFile_ThrowsWithoutTheBytes()
    {
        var file = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(file, 57);
        string path = Write("cut.safetensors", file);
        var ex = Assert.Throws<SpecValidationException>(() => SafetensorsReader.Open(path));
        Assert.Contains("header length runs past the end of the file", ex.Reason);
        Assert.DoesNotContain("57", ex.Reason.Replace(path, "", StringComparison.Ordinal));
    }

    [Fact]
    public void Open_HeaderNotUtf8_ThrowsNotUtf8()
    {
        byte[] file = RawSafetensors.Build("{\"q\":{}}", []);
        file[10] = 0xFF;
        var ex = Assert.Throws<SpecValidationException>(() => SafetensorsReader.Open(Write("utf.safetensors", file)));
        Assert.Equal("inputs", ex.Field);
        Assert.Contains("header is not valid UTF-8", ex.Reason);
    }

    [Fact]
    public void GetTensor_Missing_ThrowsNamingTensorAndListingPresent()
    {
        string json = "{" + Q + ",\"k\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]}}";
        using var reader = SafetensorsReader.Open(Write("qk.safetensors", RawSafetensors.Build(json, new byte[32])));
        var ex = Assert.Throws<SpecValidationException>(() => reader.GetTensor("v"));
        Assert.Equal("inputs.v", ex.Field);
        Assert.Contains("tensor 'v' not found", ex.Reason);
        Assert.Contains("tensors present: q, k", ex.Reason);
        Assert.Throws<SpecValidationException>(() => reader.ReadRows("v", 0, 1, new byte[8]));
    }

    [Fact]
    public void GetTensor_UnsupportedDtype_ThrowsNamingDtypeAndSupportedOnes()
    {
        // Tensors we do not compute on may sit in the file; only asking for one is an error.
        string json = "{" + Q + ",\"pos\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[24,40]}}";
        string path = Write("pos.safetensors", RawSafetensors.Build(json, new byte[40]));
        using var reader = SafetensorsReader.Open(path, "reference");
        Assert.Equal(ElementType.F32, reader.GetTensor("q").Type);
        var ex = Assert.Throws<SpecValidationException>(() => reader.GetTensor("pos"));
        Assert.Equal("reference.pos", ex.Field);
        Assert.Contains("dtype I64", ex.Reason);
        Assert.Contains("F32, F16, BF16", ex.Reason);
    }

    private string Write(string name, byte[] bytes)
    {
        string path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
