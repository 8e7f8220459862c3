using System.Buffers;
using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// Everything one Accumulate call's workers share, read-only: pinned pointers into q, k, v and the accumulator,
/// shapes, the query tiles and the key spans. Pins are released on Dispose.
/// </summary>
internal sealed unsafe class CpuAttentionCall : IDisposable
{
    private readonly MemoryHandle[] _pins;

    public CpuAttentionCall(AttentionSpec spec, TensorRows queries, KeyValueBlock keyValues, PartialResult accumulator, int queryTileRows)
    {
        Type = spec.DType;
        Heads = spec.Heads;
        KvHeads = spec.KvHeads;
        GroupSize = spec.GroupSize;
        HeadDim = spec.HeadDim;
        Scale = spec.EffectiveScale;
        Bounds = new MaskBounds(spec.Mask);
        QueryRows = queries.Rows;
        Tiles = QueryTile.Plan(queries.Spans, queryTileRows);
        KeySpans = [.. keyValues.Keys.Spans];
        KeySpanRows = new int[KeySpans.Length];
        for (int s = 1; s < KeySpans.Length; s++)
        {
            KeySpanRows[s] = KeySpanRows[s - 1] + KeySpans[s - 1].Count;
        }

        _pins = [queries.Data.Pin(), keyValues.Keys.Data.Pin(), keyValues.Values.Data.Pin(), accumulator.Output.AsMemory().Pin(), accumulator.Lse.AsMemory().Pin()];
        Q = (byte*)_pins[0].Pointer;
        K = (byte*)_pins[1].Pointer;
        V = (byte*)_pins[2].Pointer;
        Output = (float*)_pins[3].Pointer;
        Lse = (float*)_pins[4].Pointer;
    }

    public ElementType Type { get; }

    public int Heads { get; }

    public int KvHeads { get; }

    public int GroupSize { get; }

    public int HeadDim { get; }

    public float Scale { get; }

    public MaskBounds Bounds { get; }

    public int QueryRows { get; }

    public QueryTile[] Tiles { get; }

    public TokenSpan[] KeySpans { get; }

    /// <summary>Row of the kv block where each key span starts.</summary>
    public int[] KeySpanRows { get; }

    /// <summary>q: <c>[queryRows, heads, headDim]</c> in <see cref="Type"/>.</summary>
    public byte* Q { get; }

    /// <summary>k: <c>[keyRows, kvHeads, headDim]</c> in <see cref="Type"/>.</summary>
    public byte* K { get; }

    /// <summary>v: <c>[keyRows, kvHeads, headDim]</c> in <see cref="Type"/>.</summary>
    public byte* V { get; }

    /// <summary>Accumulator o: <c>[queryRows, heads, headDim]</c> f32.</summary>
    public float* Output { get; }

    /// <summary>Accumulator lse: <c>[heads, queryRows]</c> f32.</summary>
    public float* Lse { get; }

    /// <summary>Work items: every (head, query tile); head-major so concurrent workers share one kv head's K/V in cache.</summary>
    public int WorkItems => Tiles.Length * Heads;

    public void Dispose()
    {
        foreach (var pin in _pins)
        {
            pin.Dispose();
        }
    }
}
