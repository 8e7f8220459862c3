using System.Runtime.InteropServices;
using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Cpu;

/// <summary>A handle of the CPU backend: its data is host memory (one array), owned until disposed.</summary>
internal interface IHostHandle
{
    CpuAttentionBackend Owner { get; }
}

/// <summary>Query rows in one host array.</summary>
internal sealed class HostRows(CpuAttentionBackend owner, byte[] data, ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans)
    : DeviceRows(type, heads, headDim, spans), IHostHandle
{
    public CpuAttentionBackend Owner => owner;

    public override long Bytes => data.LongLength;

    public override Memory<byte>? HostMemory => data;

    public TensorRows AsTensorRows() => new(Type, Heads, HeadDim, Spans, data);

    protected override void Release() => owner.Released(Bytes);
}

/// <summary>K then V in one host array (what the data plane sends and receives, with no copy).</summary>
internal sealed class HostKeyValues(CpuAttentionBackend owner, byte[] data, ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans)
    : DeviceKeyValues(type, heads, headDim, spans), IHostHandle
{
    public CpuAttentionBackend Owner => owner;

    public override long Bytes => data.LongLength;

    public override Memory<byte>? HostMemory => data;

    public KeyValueBlock AsBlock()
    {
        var memory = data.AsMemory();
        int keyBytes = checked((int)KeyBytes);
        int filled = checked(Rows * Heads * HeadDim * Type.Size());
        return new KeyValueBlock(
            new TensorRows(Type, Heads, HeadDim, Spans, memory[..filled]),
            new TensorRows(Type, Heads, HeadDim, Spans, memory.Slice(keyBytes, filled)));
    }

    protected override void Release() => owner.Released(Bytes);
}

/// <summary>A running O/LSE in a <see cref="PartialResult"/> (two arrays; byte offsets address O then LSE).</summary>
internal sealed class HostAccumulator(CpuAttentionBackend owner, PartialResult result) : DeviceAccumulator(result.Rows, result.Heads, result.HeadDim), IHostHandle
{
    public CpuAttentionBackend Owner => owner;

    public PartialResult Result => result;

    public override long Bytes => DataBytes;

    /// <summary>Writes <paramref name="source"/> at byte <paramref name="offset"/> of O then LSE.</summary>
    public void CopyIn(long offset, ReadOnlySpan<byte> source)
    {
        int inOutput = InOutput(offset, source.Length);
        source[..inOutput].CopyTo(OutputPart(offset, inOutput));
        source[inOutput..].CopyTo(LsePart(offset, source.Length - inOutput));
    }

    /// <summary>Reads O then LSE from byte <paramref name="offset"/> into <paramref name="destination"/>.</summary>
    public void CopyOut(long offset, Span<byte> destination)
    {
        int inOutput = InOutput(offset, destination.Length);
        OutputPart(offset, inOutput).CopyTo(destination);
        LsePart(offset, destination.Length - inOutput).CopyTo(destination[inOutput..]);
    }

    /// <summary>How many of the bytes [offset, offset + length) lie in O (the rest lie in LSE).</summary>
    private int InOutput(long offset, int length) => (int)Math.Clamp(OutputBytes - offset, 0, length);

    private Span<byte> OutputPart(long offset, int length) =>
        MemoryMarshal.AsBytes(result.Output.AsSpan()).Slice((int)Math.Min(offset, OutputBytes), length);

    private Span<byte> LsePart(long offset, int length) =>
        MemoryMarshal.AsBytes(result.Lse.AsSpan()).Slice((int)Math.Max(0, offset - OutputBytes), length);

    protected override void Release() => owner.Released(Bytes);
}
