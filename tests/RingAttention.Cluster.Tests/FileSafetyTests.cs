using System.Diagnostics;
using RingAttention.Attention;
using RingAttention.Grains;
using RingAttention.Tensors;

namespace RingAttention.Cluster.Tests;

/// <summary>
/// Nothing a user submitted is lost, and no file outside the roots is read, written or described: every alias of
/// the input is refused as output, foreign files are not replaced without Overwrite, non-regular files are never
/// opened, and error messages carry no file bytes.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class FileSafetyTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Submit_OutputThroughSymlinkedDirectoryIsTheInput_RefusedAndInputKept()
    {
        string directory = Directory.CreateDirectory(fixture.PathFor($"d-{Guid.NewGuid():N}")).FullName;
        string input = TestInputs.Write(Path.Combine(directory, "in.safetensors"), 64, 2, 1, 16, ElementType.BF16, seed: 1);
        string link = fixture.PathFor($"dlink-{Guid.NewGuid():N}");
        Directory.CreateSymbolicLink(link, directory);
        byte[] before = File.ReadAllBytes(input);

        var error = await Assert.ThrowsAsync<SpecValidationException>(() => fixture.Cluster.Client.SubmitAsync(new JobSpec
        {
            InputPath = Path.Combine(link, "in.safetensors"), OutputPath = input, Shards = 2,
        }));

        Assert.Equal("output", error.Field);
        Assert.Contains("is the input file", error.Reason, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(input));
    }

    [Fact]
    public async Task Submit_OutputIsHardLinkOfInput_Refused()
    {
        string input = TestInputs.Write(fixture.PathFor($"hl-in-{Guid.NewGuid():N}.safetensors"), 64, 2, 1, 16, ElementType.F32, seed: 2);
        string alias = fixture.PathFor($"hl-alias-{Guid.NewGuid():N}.safetensors");
        Link(input, alias);

        var error = await Assert.ThrowsAsync<SpecValidationException>(() => fixture.Cluster.Client.SubmitAsync(new JobSpec
        {
            InputPath = input, OutputPath = alias, Shards = 2, Overwrite = true,
        }));

        Assert.Equal("output", error.Field);
        Assert.Contains("is the input file", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_OutputIsForeignFile_RefusedUnlessOverwrite()
    {
        string input = TestInputs.Write(fixture.PathFor($"fo-in-{Guid.NewGuid():N}.safetensors"), 64, 2, 1, 16, ElementType.F32, seed: 3);
        string victim = fixture.PathFor($"victim-{Guid.NewGuid():N}.conf");
        File.WriteAllText(victim, "keep me");
        var spec = new JobSpec { InputPath = input, OutputPath = victim, Shards = 2 };

        var error = await Assert.ThrowsAsync<SpecValidationException>(() => fixture.Cluster.Client.SubmitAsync(spec));
        Assert.Equal("output", error.Field);
        Assert.Contains("not a RingAttention output", error.Reason, StringComparison.Ordinal);
        Assert.Equal("keep me", File.ReadAllText(victim));

        await (await fixture.Cluster.Client.SubmitAsync(spec with { Overwrite = true })).WaitAsync();
        Assert.Equal(JobState.Completed, (await (await fixture.Cluster.Client.SubmitAsync(spec)).WaitAsync()).State);
    }

    [Fact]
    public async Task Submit_FifoAsInput_RefusedAtOnce()
    {
        string fifo = fixture.PathFor($"fifo-{Guid.NewGuid():N}");
        using (var mkfifo = Process.Start("mkfifo", [fifo])!)
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<SpecValidationException>(() => fixture.Cluster.Client.SubmitAsync(new JobSpec
        {
            InputPath = fifo, OutputPath = fixture.PathFor($"o-{Guid.NewGuid():N}.safetensors"), Shards = 1,
        }));

        Assert.Equal("inputs", error.Field);
        Assert.Contains("not a regular file", error.Reason, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Submit_OutputIsDirectory_RefusedBeforeWork()
    {
        string input = TestInputs.Write(fixture.PathFor($"od-in-{Guid.NewGuid():N}.safetensors"), 64, 2, 1, 16, ElementType.F32, seed: 4);
        string directory = Directory.CreateDirectory(fixture.PathFor($"od-{Guid.NewGuid():N}")).FullName;

        var error = await Assert.ThrowsAsync<SpecValidationException>(() => fixture.Cluster.Client.SubmitAsync(new JobSpec
        {
            InputPath = input, OutputPath = directory, Shards = 2,
        }));

        Assert.Equal("output", error.Field);
        Assert.Contains("is a directory", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_SecretFileAsInput_MessageHasNoFileBytes()
    {
        string secret = fixture.PathFor($"secret-{Guid.NewGuid():N}");
        File.WriteAllText(secret, "S3cr3t!!and some more secret text");
        long asLength = BitConverter.ToInt64("S3cr3t!!"u8);

        var error = await Assert.ThrowsAsync<SpecValidationException>(() => fixture.Cluster.Client.SubmitAsync(new JobSpec
        {
            InputPath = secret, OutputPath = fixture.PathFor($"o-{Guid.NewGuid():N}.safetensors"), Shards = 1,
        }));

        Assert.Equal("inputs", error.Field);
        Assert.DoesNotContain(asLength.ToString(), error.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(((ulong)asLength).ToString(), error.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("S3cr3t", error.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/etc/ringattn-victim.conf")]
    [InlineData("/etc/hostname")]
    public async Task Submit_OutputOutsideRoots_RefusedNamingOnlyTheRule(string outside)
    {
        var error = await Assert.ThrowsAsync<SpecValidationException>(() => fixture.Cluster.Client.SubmitAsync(new JobSpec
        {
            SyntheticSeed = 1, Tokens = 64, Heads = 2, KvHeads = 1, HeadDim = 16, Shards = 1, OutputPath = outside,
        }));

        Assert.Equal("output", error.Field);
        // The same words whether or not the file exists: the answer says nothing about files outside the roots.
        Assert.Equal($"path '{outside}' is outside the allowed roots ({fixture.Directory})", error.Reason);
        Assert.False(File.Exists("/etc/ringattn-victim.conf"));
    }

    [Fact]
    public async Task Submit_InputThroughLinkToDirectoryOutsideRoots_Refused()
    {
        string outside = Directory.CreateTempSubdirectory("ringattn-outside-").FullName;
        try
        {
            TestInputs.Write(Path.Combine(outside, "in.safetensors"), 64, 2, 1, 16, ElementType.F32, seed: 5);
            string link = fixture.PathFor($"out-link-{Guid.NewGuid():N}");
            Directory.CreateSymbolicLink(link, outside);

            var error = await Assert.ThrowsAsync<SpecValidationException>(() => fixture.Cluster.Client.SubmitAsync(new JobSpec
            {
                InputPath = Path.Combine(link, "in.safetensors"), OutputPath = fixture.PathFor($"o-{Guid.NewGuid():N}.safetensors"), Shards = 1,
            }));

            Assert.Equal("inputs", error.Field);
            Assert.Contains("outside the allowed roots", error.Reason, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [SkippableFact]
    public Task Submit_OutputLargerThanFreeSpace_RefusedBeforeWork() =>
        // o alone is 4096 x 2 x 64 x 4 B = 2 MiB, on a 1 MiB file system.
        AssertRefusedOnMountAsync("size=1m", tokens: 4096, headDim: 64, "free");

    [SkippableFact]
    public Task Submit_OutputOnReadOnlyFileSystem_RefusedBeforeWork() =>
        // A read-only mount: even root cannot create the output there (a chmod'ed directory would not stop root).
        AssertRefusedOnMountAsync("ro,size=1m", tokens: 64, headDim: 16, "not writable");

    /// <summary>Mounts a small tmpfs with <paramref name="mountOptions"/> under the root and submits a job whose output goes there.</summary>
    private async Task AssertRefusedOnMountAsync(string mountOptions, int tokens, int headDim, string reasonPart)
    {
        string mount = Directory.CreateDirectory(fixture.PathFor($"fs-{Guid.NewGuid():N}")).FullName;
        Skip.IfNot(await RunAsync("mount", "-t", "tmpfs", "-o", mountOptions, "tmpfs", mount) == 0,
            "mounting a tmpfs needs root with CAP_SYS_ADMIN");
        try
        {
            var error = await Assert.ThrowsAsync<SpecValidationException>(() => fixture.Cluster.Client.SubmitAsync(new JobSpec
            {
                SyntheticSeed = 1, Tokens = tokens, Heads = 2, KvHeads = 1, HeadDim = headDim, Shards = 2,
                OutputPath = Path.Combine(mount, "o.safetensors"),
            }));

            Assert.Equal("output", error.Field);
            Assert.Contains(reasonPart, error.Reason, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFileSystemEntries(mount));
        }
        finally
        {
            await RunAsync("umount", mount);
        }
    }

    private static async Task<int> RunAsync(string program, params string[] args)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            await process.WaitForExitAsync();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }

    private static void Link(string target, string alias)
    {
        using var ln = Process.Start("ln", [target, alias])!;
        ln.WaitForExit();
        Assert.Equal(0, ln.ExitCode);
    }
}
