using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using RingAttention.Attention;

[assembly: InternalsVisibleTo("RingAttention.Kernels.Tests")]
[assembly: InternalsVisibleTo("RingAttention.Bench.Cpu")]

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// Blockwise FlashAttention on the CPU: SIMD (AVX-512 where the JIT accelerates it, 256-bit otherwise),
/// multi-threaded over (head, query tile) work items, f32 accumulation over f32/f16/bf16 storage,
/// fully masked tiles skipped, GQA/MQA by indexing (no K/V copies per head). Thread-safe; scratch is pooled
/// per instance, so one instance per device (or silo) is the intended use. Cancellation is checked between key
/// tiles (a tile is ~10 µs); a cancelled call throws <see cref="OperationCanceledException"/> and leaves the
/// accumulator partly updated (work items that finished have merged their rows), so discard or reset it.
/// </summary>
public sealed class CpuAttentionBackend : IAttentionBackend
{
    private readonly CpuAttentionOptions _options;
    private readonly ConcurrentBag<TileScratch> _scratch = [];
    private bool _disposed;

    public CpuAttentionBackend(CpuAttentionOptions? options = null)
    {
        _options = (options ?? new CpuAttentionOptions()).Validate();
    }

    public string Name => "cpu";

    /// <summary>Floats per SIMD vector this instance computes with (16 with AVX-512, else 8).</summary>
    public int VectorWidth => _options.MaxVectorBits >= 512 && Vector512.IsHardwareAccelerated ? Simd512.Count : Simd256.Count;

    public void Accumulate(AttentionSpec spec, TensorRows queries, KeyValueBlock keyValues, PartialResult accumulator, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ShapeCheck.Validate(spec, queries, keyValues, accumulator);
        cancellationToken.ThrowIfCancellationRequested();
        if (queries.Rows == 0 || keyValues.Keys.Rows == 0)
        {
            return;
        }

        using var call = new CpuAttentionCall(spec, queries, keyValues, accumulator, _options.QueryTile);
        if (VectorWidth == Simd512.Count)
        {
            Run<Simd512>(call, cancellationToken);
        }
        else
        {
            Run<Simd256>(call, cancellationToken);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        while (_scratch.TryTake(out var scratch))
        {
            scratch.Dispose();
        }
    }

    private void Run<TV>(CpuAttentionCall call, CancellationToken cancellationToken)
        where TV : struct, ISimd<TV>
    {
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };
        bool cancelled = false;
        Parallel.For(
            0,
            call.WorkItems,
            parallel,
            Rent,
            (item, state, scratch) =>
            {
                if (!AttentionTileLoop<TV>.Run(call, item, scratch, cancellationToken))
                {
                    cancelled = true;
                    state.Stop();
                }

                return scratch;
            },
            _scratch.Add);
        if (cancelled)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private TileScratch Rent() => _scratch.TryTake(out var scratch) ? scratch : new TileScratch(_options.QueryTile, _options.KeyTile);
}
