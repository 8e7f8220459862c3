using System.Runtime.InteropServices;
using RingAttention.Attention;

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// One worker's f32 tile buffers, 64-byte aligned native memory so that no vector load splits a cache line
/// (a split 64-byte load costs two L1 accesses). Sized once for the largest head dim (256):
/// at the default 128 × 64 tiles that is Q^T and O 128 KiB each, K and V 64 KiB each, scores 32 KiB: ≈ 416 KiB per
/// worker, reused by every tile and every call.
/// </summary>
internal sealed unsafe class TileScratch : IDisposable
{
    private const int Alignment = 64;
    private float* _block;

    public TileScratch(int queryTile, int keyTile)
    {
        QueryTile = queryTile;
        KeyTile = keyTile;
        int maxDim = AttentionSpec.MaxHeadDim;
        nuint qt = (nuint)(maxDim * queryTile);
        nuint st = (nuint)(keyTile * queryTile);
        nuint kv = (nuint)(keyTile * maxDim);
        nuint o = (nuint)(queryTile * maxDim);
        nuint rows = (nuint)queryTile;
        nuint total = qt + st + kv + kv + o + (3 * rows);
        _block = (float*)NativeMemory.AlignedAlloc(total * sizeof(float), Alignment);
        NativeMemory.Clear(_block, total * sizeof(float));
        QueryT = _block;
        Scores = QueryT + qt;
        Keys = Scores + st;
        Values = Keys + kv;
        Output = Values + kv;
        RowMax = Output + o;
        RowSum = RowMax + rows;
        Rescale = RowSum + rows;
    }

    ~TileScratch() => Free();

    public int QueryTile { get; }

    public int KeyTile { get; }

    /// <summary>Q^T of the query tile, scaled, as B panels of 4 vectors: <c>[panels, headDim, 4·W]</c>.</summary>
    public float* QueryT { get; }

    /// <summary>S^T, then P^T in place: <c>[KeyTile, QueryTile]</c>.</summary>
    public float* Scores { get; }

    /// <summary>K tile as f32: <c>[KeyTile, headDim]</c>.</summary>
    public float* Keys { get; }

    /// <summary>V tile as f32 B panels of 4 vectors: <c>[panels, KeyTile, 4·W]</c> (at most KeyTile × 256 floats).</summary>
    public float* Values { get; }

    /// <summary>Unnormalised O of the query tile: <c>[QueryTile, paddedDim]</c>.</summary>
    public float* Output { get; }

    /// <summary>Running max m of each query row.</summary>
    public float* RowMax { get; }

    /// <summary>Running Σ exp(s - m) of each query row.</summary>
    public float* RowSum { get; }

    /// <summary>exp(m_old - m_new) of each query row for the current key tile.</summary>
    public float* Rescale { get; }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (_block != null)
        {
            NativeMemory.AlignedFree(_block);
            _block = null;
        }
    }
}
