using RingAttention.Grains.Jobs;
using RingAttention.Tensors;

namespace RingAttention.Grains.Tests;

public sealed class StalePartialsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ringattn-partials-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Sweep_HeldTempFileKept_AbandonedOneRemoved()
    {
        string held = Create(".o.safetensors.job-a.1.partial", out var handle);
        string abandoned = Create(".o.safetensors.job-b.1.partial", out var gone);
        gone.Dispose();
        Age(held);
        Age(abandoned);

        int removed = StalePartials.SweepBeside(Path.Combine(_directory, "o.safetensors"));

        Assert.Equal(1, removed);
        Assert.True(File.Exists(held));
        Assert.False(File.Exists(abandoned));
        handle.Dispose();
        Assert.Equal(1, StalePartials.Sweep(_directory));
    }

    [Fact]
    public void Sweep_WriterStillHasItOpen_Kept()
    {
        string path = Create(".o.safetensors.job-c.1.partial", out var creator);
        creator.Dispose();
        Age(path);
        using var writer = SafetensorsSharedOutput.OpenForWrite(path);

        Assert.Equal(0, StalePartials.Sweep(_directory));
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void Sweep_FreshFile_KeptEvenIfUnheld()
    {
        string path = Create(".o.safetensors.job-d.1.partial", out var creator);
        creator.Dispose();

        Assert.Equal(0, StalePartials.Sweep(_directory));
        Assert.True(File.Exists(path));
    }

    private string Create(string name, out Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        string path = Path.Combine(_directory, name);
        handle = SafetensorsSharedOutput.Create(path, [("o", ElementType.F32, [2, 2])]);
        return path;
    }

    private static void Age(string path) => File.SetLastWriteTimeUtc(path, DateTime.UtcNow - StalePartials.MinimumAge - TimeSpan.FromSeconds(5));
}
