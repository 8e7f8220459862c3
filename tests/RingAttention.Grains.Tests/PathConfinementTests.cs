using RingAttention.Attention;
using RingAttention.Grains.Jobs;

namespace RingAttention.Grains.Tests;

public sealed class PathConfinementTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ringattn-root-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Check_PathInsideRoot_Passes() => PathConfinement.Check("inputs", Path.Combine(_root, "a", "qkv.safetensors"), [_root]);

    [Fact]
    public void Check_NoRootsConfigured_AnyPathPasses() => PathConfinement.Check("inputs", "/etc/passwd", []);

    [Theory]
    [InlineData("../outside.safetensors")]
    [InlineData("a/../../outside.safetensors")]
    public void Check_TraversalOutOfRoot_RefusedNamingField(string relative)
    {
        var error = Assert.Throws<SpecValidationException>(() => PathConfinement.Check("inputs", Path.Combine(_root, relative), [_root]));

        Assert.Equal("inputs", error.Field);
        Assert.Contains("outside the allowed roots", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_SiblingWithRootAsPrefix_Refused() =>
        Assert.Throws<SpecValidationException>(() => PathConfinement.Check("output", _root + "-evil/o.safetensors", [_root]));

    [Fact]
    public void Check_SymlinkInsideRootPointingOut_Refused()
    {
        string link = Path.Combine(_root, "link.safetensors");
        File.CreateSymbolicLink(link, "/etc/hostname");

        Assert.Throws<SpecValidationException>(() => PathConfinement.Check("inputs", link, [_root]));
    }
}
