using ILGPU;
using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Tiled attention with no inline PTX: runs on any ILGPU accelerator (the CPU one in CI). One thread per query row
/// of an m-block, one block per (m-block, head); it visits the same key tiles, with the same skip and mask rules,
/// as the tensor-core kernel (<see cref="TileMath"/>). Online softmax in float32 with exp2 folding, any head dim
/// up to <see cref="MaxDim"/>. q/k/v are read as raw 16-bit words: <c>dtype</c> 0 = f32 (two words), 1 = f16, 2 = bf16.
/// </summary>
internal static class PortableKernel
{
    public const int MaxDim = 256;


    public static void Run(
        FlashParams p,
        int dtype,
        ArrayView<ushort> q,
        ArrayView<ushort> k,
        ArrayView<ushort> v,
        ArrayView<float> o,
        ArrayView<float> lse)
    {
        int mBlock = TileMath.MBlock(p, Grid.IdxX, Grid.DimX);
        int row = mBlock * p.BlockRows + Group.IdxX;
        int h = Grid.IdxY;
        int kvh = h / p.Group;
        int dim = p.HeadDim;
        if (row >= p.QCount)
        {
            return;
        }

        var acc = LocalMemory.Allocate<float>(MaxDim);
        for (int d = 0; d < dim; d++)
        {
            acc[d] = 0f;
        }

        float m = float.NegativeInfinity;
        float l = 0f;
        long qBase = ((long)(p.QRowOffset + row) * p.Heads + h) * dim;
        TileMath.KeyTiles(p, mBlock, out int nMin, out int nMax);
        for (int n = nMin; n <= nMax; n++)
        {
            bool masked = TileMath.TileNeedsMask(p, mBlock, n);
            int j0 = n * p.BlockKeys;
            int j1 = j0 + p.BlockKeys < p.KCount ? j0 + p.BlockKeys : p.KCount;
            for (int j = j0; j < j1; j++)
            {
                if (masked && !TileMath.Visible(p, row, j))
                {
                    continue;
                }

                long kBase = ((long)(p.KRowOffset + j) * p.KvHeads + kvh) * dim;
                float s = 0f;
                for (int d = 0; d < dim; d++)
                {
                    s += Load(q, dtype, qBase + d) * Load(k, dtype, kBase + d);
                }

                s *= p.ScaleLog2;
                if (s > m)
                {
                    float alpha = Exp2(m - s);
                    for (int d = 0; d < dim; d++)
                    {
                        acc[d] *= alpha;
                    }

                    l *= alpha;
                    m = s;
                }

                float e = Exp2(s - m);
                l += e;
                for (int d = 0; d < dim; d++)
                {
                    acc[d] += e * Load(v, dtype, kBase + d);
                }
            }
        }

        long oBase = ((long)(p.QRowOffset + row) * p.Heads + h) * dim;
        long lseIndex = (long)h * p.LseStride + p.QRowOffset + row;
        if (l > 0f)
        {
            float inv = 1f / l;
            float lseNew = SoftmaxMerge.BlockLse<PortableMath>(m, l);
            if (p.Merge != 0)
            {
                lse[lseIndex] = SoftmaxMerge.Combine<PortableMath>(lse[lseIndex], lseNew, out float wa, out float wb);
                wb *= inv;
                for (int d = 0; d < dim; d++)
                {
                    o[oBase + d] = (wa * o[oBase + d]) + (wb * acc[d]);
                }
            }
            else
            {
                for (int d = 0; d < dim; d++)
                {
                    o[oBase + d] = acc[d] * inv;
                }

                lse[lseIndex] = lseNew;
            }
        }
        else if (p.Merge == 0)
        {
            for (int d = 0; d < dim; d++)
            {
                o[oBase + d] = 0f;
            }

            lse[lseIndex] = float.NegativeInfinity;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Exp2(float x) => SoftMath.Exp2(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Load(ArrayView<ushort> data, int dtype, long index)
    {
        if (dtype == 0)
        {
            uint lo = data[2 * index];
            uint hi = data[(2 * index) + 1];
            return Interop.IntAsFloat(lo | (hi << 16));
        }

        uint bits = data[index];
        return dtype == 2 ? Interop.IntAsFloat(bits << 16) : HalfBitsToSingle(bits);
    }

    /// <summary>IEEE binary16 bits to float32, subnormals and inf/NaN included.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float HalfBitsToSingle(uint h)
    {
        uint sign = (h & 0x8000u) << 16;
        uint exp = (h >> 10) & 0x1Fu;
        uint man = h & 0x3FFu;
        if (exp == 0)
        {
            float f = man * 5.9604644775390625e-8f;
            return sign != 0 ? -f : f;
        }

        if (exp == 31)
        {
            return Interop.IntAsFloat(sign | 0x7F800000u | (man << 13));
        }

        return Interop.IntAsFloat(sign | ((exp + 112) << 23) | (man << 13));
    }
}
