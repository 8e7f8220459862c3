using ILGPU.Runtime.CPU;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// Results merged on the device (<see cref="IAttentionBackend.MergeAccumulators"/>, ADR 27) are the host merge's
/// (<see cref="SoftmaxMerge.MergeInto(PartialResult, PartialResult)"/>) to float rounding of exp2, and exactly its
/// where a side saw no key (lse -inf: the identity and the exact copy). Pairs run in order: a chain of merges into one
/// target folds left, as the host's tree does.
/// </summary>
public sealed class AccumulatorMergeTests : IDisposable
{
    private readonly PortableAttentionBackend _backend = PortableAttentionBackend.CreateCpuSet(1, CPUDeviceKind.Nvidia)[0];

    public void Dispose() => _backend.Dispose();

    [Theory]
    [InlineData(1, 4, 32)]
    [InlineData(7, 3, 40)]
    public void MergeAccumulators_ChainIntoOne_EqualsHostMergesInOrder(int rows, int heads, int dim)
    {
        var rng = new Random(rows * 100 + dim);
        // Three partials; some rows of the second saw no key, some of the third saw only it.
        var parts = Enumerable.Range(0, 3).Select(_ => Random(rng, rows, heads, dim)).ToList();
        for (int h = 0; h < heads; h++)
        {
            parts[1].Lse[h * rows] = float.NegativeInfinity;
            Array.Clear(parts[1].Output, h * dim, dim);
            if (rows > 1)
            {
                parts[0].Lse[(h * rows) + 1] = float.NegativeInfinity;
                Array.Clear(parts[0].Output, (heads + h) * dim, dim);
            }
        }

        var host = Copy(parts[0]);
        SoftmaxMerge.MergeInto(host, parts[1]);
        SoftmaxMerge.MergeInto(host, parts[2]);

        var handles = parts.Select(_backend.UploadAccumulator).ToList();
        try
        {
            _backend.MergeAccumulators([(handles[0], handles[1]), (handles[0], handles[2])]);
            var device = new PartialResult(rows, heads, dim);
            _backend.Download(handles[0], device);
            for (int i = 0; i < host.Lse.Length; i++)
            {
                Assert.True(Math.Abs(host.Lse[i] - device.Lse[i]) <= 2e-6f * Math.Max(1f, Math.Abs(host.Lse[i])), $"lse {i}: {host.Lse[i]} vs {device.Lse[i]}");
            }

            for (int i = 0; i < host.Output.Length; i++)
            {
                Assert.True(Math.Abs(host.Output[i] - device.Output[i]) <= 2e-6f, $"o {i}: {host.Output[i]} vs {device.Output[i]}");
            }

            // The sources are left as they were.
            var source = new PartialResult(rows, heads, dim);
            _backend.Download(handles[2], source);
            Assert.Equal(parts[2].Output, source.Output);
            Assert.Equal(parts[2].Lse, source.Lse);
        }
        finally
        {
            handles.ForEach(h => h.Dispose());
        }
    }

    [Fact]
    public void MergeAccumulators_EmptySides_IdentityAndExactCopy()
    {
        var rng = new Random(5);
        var seen = Random(rng, 3, 2, 16);
        var handles = new[] { _backend.UploadAccumulator(seen), _backend.CreateAccumulator(3, 2, 16), _backend.CreateAccumulator(3, 2, 16) };
        try
        {
            // Nothing merged into something, then something into nothing.
            _backend.MergeAccumulators([(handles[0], handles[1]), (handles[2], handles[0])]);
            foreach (var handle in new[] { handles[0], handles[2] })
            {
                var result = new PartialResult(3, 2, 16);
                _backend.Download(handle, result);
                Assert.Equal(seen.Output, result.Output);
                Assert.Equal(seen.Lse, result.Lse);
            }

            using var other = _backend.CreateAccumulator(2, 2, 16);
            Assert.Throws<ArgumentException>(() => _backend.MergeAccumulators([(handles[0], other)]));
        }
        finally
        {
            foreach (var handle in handles)
            {
                handle.Dispose();
            }
        }
    }

    private static PartialResult Random(Random rng, int rows, int heads, int dim)
    {
        var result = new PartialResult(rows, heads, dim);
        for (int i = 0; i < result.Output.Length; i++)
        {
            result.Output[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        for (int i = 0; i < result.Lse.Length; i++)
        {
            result.Lse[i] = (float)(rng.NextDouble() * 20) - 5;
        }

        return result;
    }

    private static PartialResult Copy(PartialResult from)
    {
        var to = new PartialResult(from.Rows, from.Heads, from.HeadDim);
        from.Output.CopyTo(to.Output, 0);
        from.Lse.CopyTo(to.Lse, 0);
        return to;
    }
}
