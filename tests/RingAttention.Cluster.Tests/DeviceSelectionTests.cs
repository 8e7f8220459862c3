using RingAttention.Silo.Hosting;

namespace RingAttention.Cluster.Tests;

/// <summary>Silo:Device forms: every GPU, some GPUs, the CPU, N ILGPU CPU accelerators; typos refused.</summary>
public sealed class DeviceSelectionTests
{
    [Theory]
    [InlineData("auto")]
    [InlineData("cpu")]
    [InlineData("CUDA")]
    [InlineData("cuda:0")]
    [InlineData("cuda:0,cuda:1")]
    [InlineData("cuda:1, cuda:3")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu-cpu:4")]
    public void IsKnown_AcceptedForms(string device) => Assert.True(DeviceSelection.IsKnown(device), device);

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:0,cuda:0")]
    [InlineData("cuda:0,cpu")]
    [InlineData("ilgpu-cpu:0")]
    [InlineData("ilgpu-cpu:99")]
    [InlineData("")]
    public void IsKnown_RefusedForms(string device) => Assert.False(DeviceSelection.IsKnown(device), device);

    [Fact]
    public void Select_SeveralIlgpuCpuAccelerators_OneDeviceEachWithItsOwnName()
    {
        var (devices, reason) = DeviceSelection.Select("ilgpu-cpu:3", computeThreads: 1);
        using (devices)
        {
            Assert.Equal(3, devices.Count);
            Assert.Equal("ilgpu:cpu:0,ilgpu:cpu:1,ilgpu:cpu:2", devices.Names);
            Assert.Contains("(3)", reason, StringComparison.Ordinal);
            Assert.All(devices.All, d => Assert.NotNull(d.MemoryBytes));
        }
    }

    [Fact]
    public void Select_UnknownForm_ThrowsNamingTheForms()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DeviceSelection.Select("gpu0", 1));

        Assert.Contains("cuda:0,cuda:1", error.Message, StringComparison.Ordinal);
    }
}
