using RingAttention.Grains.Devices;

namespace RingAttention.Grains.Tests;

/// <summary>Who may share device memory (CUDA IPC): another process of this host, never this process, never another host.</summary>
public sealed class ProcessIdentityTests
{
    [Theory]
    [InlineData("gpu-a/boot-1/100", "gpu-a/boot-1/200", true)]
    [InlineData("gpu-a/boot-1/100", "gpu-a/boot-1/100", false)] // the same process: its silos hand off in memory
    [InlineData("gpu-a/boot-1/100", "gpu-b/boot-1/200", false)]
    [InlineData("gpu-a/boot-1/100", "gpu-a/boot-2/200", false)] // same name, another machine
    [InlineData("gpu-a/boot-1/100", "", false)] // a sender that did not say
    public void IsOtherProcessOfSameHost(string self, string other, bool expected) =>
        Assert.Equal(expected, ProcessIdentity.IsOtherProcessOfSameHost(self, other));

    [Fact]
    public void Current_NamesThisHostAndProcess() =>
        Assert.EndsWith($"/{Environment.ProcessId}", ProcessIdentity.Current, StringComparison.Ordinal);
}
