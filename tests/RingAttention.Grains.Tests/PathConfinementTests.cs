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
    public void Check_NoRootsConfigured_EveryPathRefused()
    {
        var error = Assert.Throws<SpecValidationException>(() => PathConfinement.Check("inputs", "/etc/passwd", []));

        Assert.Contains("AllowedRoots", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_LinkToDirectoryOutsideRoot_Refused()
    {
        string link = Path.Combine(_root, "etc-link");
        Directory.CreateSymbolicLink(link, "/etc");

        Assert.Throws<SpecValidationException>(() => PathConfinement.Check("inputs", Path.Combine(link, "hostname"), [_root]));
        Assert.Throws<SpecValidationException>(() => PathConfinement.Check("output", Path.Combine(link, "new.conf"), [_root]));
    }

    [Fact]
    public void Check_RootReachedThroughALink_Passes()
    {
        string alias = _root + "-alias";
        Directory.CreateSymbolicLink(alias, _root);
        try
        {
            PathConfinement.Check("inputs", Path.Combine(alias, "qkv.safetensors"), [_root]);
        }
        finally
        {
            Directory.Delete(alias);
        }
    }

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
