using ILGPU;
using ILGPU.Runtime;
using RingAttention.Attention;
using RingAttention.Kernels.Cpu;
using RingAttention.Kernels.Linear;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Linear attention on the device (<see cref="LinearKernels"/>): each span in pieces of at most
/// <see cref="LinearPieceChunks"/> chunks, so the chunk states a piece materialises stay bounded whatever the span's
/// length; the state carried from piece to piece never leaves the device.
/// Head dims above <see cref="LinearKernels.MaxDim"/> are computed by the CPU implementation on downloaded rows (said
/// in the README: correct, not fast).
/// </summary>
public abstract partial class IlgpuAttentionBackend
{
    /// <summary>Chunks of one piece (256: 16384 tokens; its chunk states and prefixes take 2 × 0.5 GiB at 32 state heads
    /// and D = 128); tests set a few, so that short spans cross pieces.</summary>
    internal int LinearPieceChunks { get; set; } = 256;

    private Action<KernelConfig, LinearParams, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>>? _linearStates;
    private Action<Index1D, LinearParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _linearScan;
    private Action<KernelConfig, LinearParams, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _linearOutput;
    private LinearTensorLaunchers? _linearTensor;
    private bool _linearTensorLoaded;

    /// <summary>Tests: run the tensor-core linear kernels with <see cref="WarpTf32Mma"/> (needs 32-lane warps: ILGPU's CPU
    /// accelerator of kind Nvidia), where this accelerator has no tensor cores.</summary>
    internal bool LinearWarpMma { get; set; }

    /// <summary>The tensor-core launches of <see cref="LinearTensorKernels"/> (chunk states, output).</summary>
    private protected sealed record LinearTensorLaunchers(
        Action<AcceleratorStream, KernelConfig, LinearParams, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>> States,
        Action<AcceleratorStream, KernelConfig, LinearParams, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ArrayView<float>> Output);

    /// <summary>The tensor-core linear kernels of this accelerator, or null (then the float32 kernels run): here only
    /// the warp-shuffle product for tests; <see cref="CudaAttentionBackend"/> loads the mma one.</summary>
    private protected virtual LinearTensorLaunchers? LoadLinearTensorKernels() => LinearWarpMma
        ? new LinearTensorLaunchers(
            Accelerator.LoadKernel<LinearParams, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>>(LinearTensorKernels.ChunkStates<WarpTf32Mma, PortableMath>),
            Accelerator.LoadKernel<LinearParams, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(LinearTensorKernels.Output<WarpTf32Mma, PortableMath>))
        : null;

    private LinearTensorLaunchers? LinearTensor()
    {
        if (!_linearTensorLoaded)
        {
            _linearTensor = LoadLinearTensorKernels();
            _linearTensorLoaded = true;
        }

        return _linearTensor;
    }

    public IReadOnlyList<LinearState> LinearSpanStates(LinearAttentionSpec spec, DeviceKeyValues keyValues, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var kv = Own<IlgpuKeyValues>(keyValues, nameof(keyValues));
        if (spec.HeadDim > LinearKernels.MaxDim)
        {
            return OnHost(spec, null, kv, null, null);
        }

        var states = new List<LinearState>();
        using var linear = new LinearLaunch(this, spec);
        int row = 0;
        foreach (var span in kv.Spans)
        {
            cancellationToken.ThrowIfCancellationRequested();
            linear.ClearCarry();
            for (int first = 0; first < span.Count; first += LinearPieceChunks * LinearKernels.Chunk)
            {
                var p = linear.Params(row + first, Math.Min(LinearPieceChunks * LinearKernels.Chunk, span.Count - first));
                linear.States(p, kv);
                linear.Scan(p);
            }

            states.Add(linear.DownloadCarry(span.Count));
            row += span.Count;
        }

        return states;
    }

    public void LinearOutput(LinearAttentionSpec spec, DeviceRows queries, DeviceKeyValues keyValues, IReadOnlyList<LinearState> incoming,
        DeviceAccumulator output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(incoming);
        var q = Own<IlgpuRows>(queries, nameof(queries));
        var kv = Own<IlgpuKeyValues>(keyValues, nameof(keyValues));
        var acc = Own<IlgpuAccumulator>(output, nameof(output));
        if (incoming.Count != kv.Spans.Count || !q.Spans.SequenceEqual(kv.Spans))
        {
            throw new ArgumentException($"queries, keys and incoming states must cover the same spans ({kv.Spans.Count}); got {q.Spans.Count} query spans and {incoming.Count} states", nameof(incoming));
        }

        if (spec.HeadDim > LinearKernels.MaxDim)
        {
            OnHost(spec, q, kv, incoming, acc);
            return;
        }

        using var linear = new LinearLaunch(this, spec);
        int row = 0;
        for (int j = 0; j < incoming.Count; j++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = kv.Spans[j].Count;
            linear.UploadCarry(incoming[j]);
            for (int first = 0; first < count; first += LinearPieceChunks * LinearKernels.Chunk)
            {
                var p = linear.Params(row + first, Math.Min(LinearPieceChunks * LinearKernels.Chunk, count - first));
                if (spec.Causal)
                {
                    linear.States(p, kv);
                    linear.Scan(p);
                }

                linear.Output(p, q, kv, acc);
            }

            row += count;
        }

        Accelerator.DefaultStream.Synchronize();
    }

    /// <summary>
    /// Head dims the kernels do not tile: the rows come to the host and <see cref="CpuAttentionBackend"/>'s linear path
    /// computes them; o goes back into the accumulator. Returns the span states when asked for them (no queries).
    /// </summary>
    private List<LinearState> OnHost(LinearAttentionSpec spec, IlgpuRows? q, IlgpuKeyValues kv, IReadOnlyList<LinearState>? incoming, IlgpuAccumulator? acc)
    {
        using var cpu = new CpuAttentionBackend();
        using var hostKv = cpu.AllocateKeyValues(kv.Type, kv.Heads, kv.HeadDim, kv.Spans);
        CopyFromDevice(kv, 0, hostKv.HostMemory!.Value.Span[..checked((int)kv.KeyBytes)]);
        CopyFromDevice(kv, kv.KeyBytes, hostKv.HostMemory!.Value.Span.Slice(checked((int)hostKv.KeyBytes), checked((int)kv.KeyBytes)));
        if (q is null || incoming is null || acc is null)
        {
            return [.. cpu.LinearSpanStates(spec, hostKv)];
        }

        using var hostQ = cpu.AllocateRows(q.Type, q.Heads, q.HeadDim, q.Spans);
        CopyFromDevice(q, 0, hostQ.HostMemory!.Value.Span);
        using var hostO = cpu.CreateAccumulator(acc.Rows, acc.Heads, acc.HeadDim);
        cpu.LinearOutput(spec, hostQ, hostKv, incoming, hostO);
        float[] o = new float[(long)acc.Rows * acc.Heads * acc.HeadDim];
        cpu.DownloadOutputRows(hostO, 0, o);
        acc.Output.SubView(0, o.Length).CopyFromCPU(o);
        Accelerator.DefaultStream.Synchronize();
        return [];
    }

    /// <summary>The buffers and launches of one linear-attention call: decay, the carried state, a piece's chunk states.</summary>
    private sealed class LinearLaunch : IDisposable
    {
        private readonly IlgpuAttentionBackend _owner;
        private readonly LinearAttentionSpec _spec;
        private readonly MemoryBuffer1D<float, Stride1D.Dense> _decayLog2;
        private readonly MemoryBuffer1D<float, Stride1D.Dense> _carry;
        // f16 and bf16 rows, head dims in quads: the chunk products on tensor cores where the backend has them (TF32 is
        // exact for both).
        private readonly LinearTensorLaunchers? _tensor;
        // From the backend's pool: the shards of a job on one device, and a shard's two calls, reuse one pair.
        private MemoryBuffer1D<byte, Stride1D.Dense>? _states;
        private MemoryBuffer1D<byte, Stride1D.Dense>? _prefix;

        public LinearLaunch(IlgpuAttentionBackend owner, LinearAttentionSpec spec)
        {
            _owner = owner;
            _spec = spec;
            var accelerator = owner.Accelerator;
            owner._linearScan ??= accelerator.LoadAutoGroupedStreamKernel<Index1D, LinearParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(LinearKernels.Scan);
            float[] log2 = [.. Enumerable.Range(0, spec.Heads).Select(h => (float)Math.Log2(spec.DecayOf(h)))];
            _decayLog2 = accelerator.Allocate1D(log2);
            _carry = accelerator.Allocate1D<float>((long)spec.StateHeads * StateFloats);
            _tensor = spec.DType is Tensors.ElementType.F16 or Tensors.ElementType.BF16 && spec.HeadDim % 4 == 0 ? owner.LinearTensor() : null;
        }

        private int StateFloats => (_spec.HeadDim * _spec.HeadDim) + _spec.HeadDim;

        public LinearParams Params(int rowOffset, int rows) => new()
        {
            Heads = _spec.Heads,
            KvHeads = _spec.KvHeads,
            StateHeads = _spec.StateHeads,
            HeadDim = _spec.HeadDim,
            Group = _spec.GroupSize,
            PerHeadState = _spec.Decay is null ? 0 : 1,
            FeatureMap = (int)_spec.FeatureMap,
            Normalize = _spec.Normalize ? 1 : 0,
            Causal = _spec.Causal ? 1 : 0,
            DType = PortableDType(_spec.DType),
            RowOffset = rowOffset,
            Rows = rows,
            Chunks = (rows + LinearKernels.Chunk - 1) / LinearKernels.Chunk,
        };

        public void ClearCarry() => _carry.MemSetToZero();

        public void UploadCarry(LinearState state)
        {
            float[] packed = new float[(long)_spec.StateHeads * StateFloats];
            int d = _spec.HeadDim;
            for (int sh = 0; sh < _spec.StateHeads; sh++)
            {
                state.S.AsSpan(sh * d * d, d * d).CopyTo(packed.AsSpan(sh * StateFloats));
                state.Z.AsSpan(sh * d, d).CopyTo(packed.AsSpan((sh * StateFloats) + (d * d)));
            }

            _carry.CopyFromCPU(packed);
        }

        public LinearState DownloadCarry(int tokens)
        {
            float[] packed = _carry.GetAsArray1D();
            int d = _spec.HeadDim;
            var state = LinearState.Empty(_spec);
            state.Tokens = tokens;
            for (int sh = 0; sh < _spec.StateHeads; sh++)
            {
                packed.AsSpan(sh * StateFloats, d * d).CopyTo(state.S.AsSpan(sh * d * d));
                packed.AsSpan((sh * StateFloats) + (d * d), d).CopyTo(state.Z.AsSpan(sh * d));
            }

            return state;
        }

        public void States(LinearParams p, IlgpuKeyValues kv)
        {
            long bytes = 4L * _owner.LinearPieceChunks * _spec.StateHeads * StateFloats;
            _states ??= _owner.Pool.Rent(bytes, $"linear chunk states ({bytes:N0} B)");
            _prefix ??= _owner.Pool.Rent(bytes, $"linear state prefixes ({bytes:N0} B)");
            var (k, v) = KeyValueViews(kv);
            var grid = new Index3D(p.Chunks, p.StateHeads, 1);
            if (_tensor is not null)
            {
                _tensor.States(_owner.Accelerator.DefaultStream, new KernelConfig(grid, new Index3D(LinearTensorKernels.Threads, 1, 1)), p, k, v, _decayLog2.View, Floats(_states));
                return;
            }

            int threads = Threads(((p.HeadDim + 7) / 8) * 32, 512);
            _owner._linearStates ??= _owner.Accelerator.LoadStreamKernel<LinearParams, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>>(LinearKernels.ChunkStates);
            _owner._linearStates(new KernelConfig(grid, new Index3D(threads, 1, 1)), p, k, v, _decayLog2.View, Floats(_states));
        }

        public void Scan(LinearParams p) =>
            _owner._linearScan!(p.StateHeads * StateFloats, p, _decayLog2.View, Floats(_states!), Floats(_prefix!), _carry.View);

        public void Output(LinearParams p, IlgpuRows q, IlgpuKeyValues kv, IlgpuAccumulator acc)
        {
            var (k, v) = KeyValueViews(kv);
            var qView = q.Buffer.View.AsContiguous().SubView(0, Math.Max(q.DataBytes, 16)).Cast<ushort>();
            ArrayView<float> states = _spec.Causal ? Floats(_prefix!) : _carry.View.AsContiguous();
            var grid = new Index3D(p.Chunks * (LinearKernels.Chunk / LinearKernels.OutputRows), p.Heads, 1);
            if (_tensor is not null)
            {
                _tensor.Output(_owner.Accelerator.DefaultStream, new KernelConfig(grid, new Index3D(LinearTensorKernels.Threads, 1, 1)),
                    p, qView, k, v, _decayLog2.View, states, acc.Output);
                return;
            }

            int threads = Threads(LinearKernels.OutputItems, 256);
            _owner._linearOutput ??= _owner.Accelerator.LoadStreamKernel<LinearParams, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(LinearKernels.Output);
            _owner._linearOutput(new KernelConfig(grid, new Index3D(threads, 1, 1)), p, qView, k, v, _decayLog2.View, states, acc.Output);
        }

        private static ArrayView<float> Floats(MemoryBuffer1D<byte, Stride1D.Dense> buffer) => buffer.View.AsContiguous().Cast<float>();

        private (ArrayView<ushort> K, ArrayView<ushort> V) KeyValueViews(IlgpuKeyValues kv)
        {
            var whole = kv.Buffer.View.AsContiguous();
            return (whole.SubView(0, Math.Max(kv.KeyBytes, 16)).Cast<ushort>(), whole.SubView(kv.KeyBytes, Math.Max(kv.KeyBytes, 16)).Cast<ushort>());
        }

        /// <summary>Threads a block: what the work items want, rounded to warps, within the accelerator's and our caps.</summary>
        private int Threads(int items, int cap)
        {
            int warp = _owner.Accelerator.WarpSize;
            int wanted = (items + warp - 1) / warp * warp;
            return Math.Max(1, Math.Min(Math.Min(wanted, cap), _owner.Accelerator.MaxNumThreadsPerGroup));
        }

        private static int PortableDType(Tensors.ElementType type) => type switch
        {
            Tensors.ElementType.F32 => 0,
            Tensors.ElementType.F16 => 1,
            Tensors.ElementType.BF16 => 2,
            _ => throw new ArgumentException($"linear attention on the device reads f32, f16 or bf16 rows, not {type}", nameof(type)),
        };

        public void Dispose()
        {
            _decayLog2.Dispose();
            _carry.Dispose();
            if (_states is not null)
            {
                _owner.Pool.Return(_states);
            }

            if (_prefix is not null)
            {
                _owner.Pool.Return(_prefix);
            }
        }
    }
}
