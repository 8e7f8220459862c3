using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// The online-softmax step of one key tile, on S^T (<c>[keys, QueryTile]</c>, queries along the vector lanes):
/// every per-query reduction (max, sum) is a lane-wise operation down the key rows, with no horizontal shuffles.
/// </summary>
internal static unsafe class OnlineSoftmax<TV>
    where TV : struct, ISimd<TV>
{
    /// <summary>
    /// Sets S^T[j, i] = -inf where query (firstQuery + i) may not see key (firstKey + j). Only partially visible
    /// tiles come here (diagonal tiles of causal/window masks), so its cost is bounded by one tile row per key.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ApplyMask(float* scores, int stride, int keys, int queryVecs, long firstKey, long firstQuery, MaskBounds bounds)
    {
        TV minusInf = TV.Create(float.NegativeInfinity);
        int lanes = queryVecs * TV.Count;
        for (int j = 0; j < keys; j++)
        {
            var (first, last) = bounds.QueryRange(firstKey + j);
            // Tile-local and clamped to [-1, lanes] so the values are small integers, exact in float.
            TV lo = TV.Create(Math.Clamp(first - firstQuery, -1, lanes));
            TV hi = TV.Create(Math.Clamp(last - firstQuery, -1, lanes));
            float* row = scores + ((long)j * stride);
            for (int v = 0; v < queryVecs; v++)
            {
                TV index = TV.Add(TV.Indices, TV.Create(v * TV.Count));
                TV s = TV.Load(row + (v * TV.Count));
                s = TV.SelectLess(index, lo, minusInf, s);
                s = TV.SelectLess(hi, index, minusInf, s);
                TV.Store(s, row + (v * TV.Count));
            }
        }
    }

    /// <summary>
    /// Scores are in log2 units. m_new = max(m, max_j s_j); P^T = 2^(S^T - m_new) in place;
    /// l = l·2^(m - m_new) + Σ_j p_j; rescale[i] = 2^(m - m_new). A query with no visible key so far keeps m = -inf,
    /// l = 0: its exponent base is taken as 0, so 2^(-inf - 0) = 0 and no -inf - (-inf) = NaN is ever formed.
    /// </summary>
    /// <returns>True when some query's max moved, so O must be rescaled before P·V is added.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool Update(float* scores, int stride, int keys, int queryVecs, float* rowMax, float* rowSum, float* rescale)
    {
        bool moved = false;
        TV one = TV.Create(1f);
        for (int v = 0; v < queryVecs; v++)
        {
            int lane = v * TV.Count;
            float* column = scores + lane;
            TV tileMax = TV.Create(float.NegativeInfinity);
            for (int j = 0; j < keys; j++)
            {
                tileMax = TV.Max(tileMax, TV.Load(column + ((long)j * stride)));
            }

            TV oldMax = TV.Load(rowMax + lane);
            TV newMax = TV.Max(oldMax, tileMax);
            TV baseMax = TV.SelectLess(newMax, TV.Create(float.MinValue), default, newMax);
            TV sum0 = default, sum1 = default;
            int k = 0;
            // Two partial sums: the exp chain is ~13 dependent ops, the add chain must not serialise on top of it.
            for (; k + 1 < keys; k += 2)
            {
                float* p0 = column + ((long)k * stride);
                float* p1 = p0 + stride;
                TV e0 = FastExp2.Exp2(TV.Subtract(TV.Load(p0), baseMax));
                TV e1 = FastExp2.Exp2(TV.Subtract(TV.Load(p1), baseMax));
                TV.Store(e0, p0);
                TV.Store(e1, p1);
                sum0 = TV.Add(sum0, e0);
                sum1 = TV.Add(sum1, e1);
            }

            if (k < keys)
            {
                float* p0 = column + ((long)k * stride);
                TV e0 = FastExp2.Exp2(TV.Subtract(TV.Load(p0), baseMax));
                TV.Store(e0, p0);
                sum0 = TV.Add(sum0, e0);
            }

            TV alpha = FastExp2.Exp2(TV.Subtract(oldMax, baseMax));
            TV.Store(TV.Fma(TV.Load(rowSum + lane), alpha, TV.Add(sum0, sum1)), rowSum + lane);
            TV.Store(newMax, rowMax + lane);
            TV.Store(alpha, rescale + lane);
            moved |= !TV.AllEqual(alpha, one);
        }

        return moved;
    }
}
