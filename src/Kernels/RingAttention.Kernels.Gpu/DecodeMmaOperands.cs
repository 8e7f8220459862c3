using System.Runtime.CompilerServices;
using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// The loads of <see cref="DecodeMmaKernel"/>: a lane's words of q, K and V rows in the kernel's layouts (word j of a K
/// row or q: dims 16j + 4t .. +3; word i of a V row: dims 32i + 4g .. +3), each one 8-byte load.
/// </summary>
internal static class DecodeMmaOperands
{
    /// <summary>One turn's K rows (keys k0, k0 + 8) and V rows (v0, v0 + 1, v0 + 8, v0 + 9), zero past <paramref name="limit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TurnLoads LoadTurn<TRead>(long kAddr, long vAddr, long rowBytes, long kLane, long vLane, int k0, int v0, int limit, int dim, int g)
        where TRead : struct, IWordRead => new()
        {
            K0 = k0 < limit ? ReadK<TRead>(kAddr + (k0 * rowBytes) + kLane, dim) : default,
            K1 = k0 + 8 < limit ? ReadK<TRead>(kAddr + ((k0 + 8) * rowBytes) + kLane, dim) : default,
            Va = v0 < limit ? ReadV<TRead>(vAddr + (v0 * rowBytes) + vLane, dim, g) : default,
            Vb = v0 + 1 < limit ? ReadV<TRead>(vAddr + ((v0 + 1) * rowBytes) + vLane, dim, g) : default,
            Vc = v0 + 8 < limit ? ReadV<TRead>(vAddr + ((v0 + 8) * rowBytes) + vLane, dim, g) : default,
            Vd = v0 + 9 < limit ? ReadV<TRead>(vAddr + ((v0 + 9) * rowBytes) + vLane, dim, g) : default,
        };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Words8 LoadQ(ArrayView<ulong> q, long at, int dim)
    {
        var w = default(Words8);
        w.W0 = q[at / 4];
        w.W1 = dim > 16 ? q[(at + 16) / 4] : 0;
        w.W2 = dim > 32 ? q[(at + 32) / 4] : 0;
        w.W3 = dim > 48 ? q[(at + 48) / 4] : 0;
        w.W4 = dim > 64 ? q[(at + 64) / 4] : 0;
        w.W5 = dim > 80 ? q[(at + 80) / 4] : 0;
        w.W6 = dim > 96 ? q[(at + 96) / 4] : 0;
        w.W7 = dim > 112 ? q[(at + 112) / 4] : 0;
        return w;
    }

    /// <summary>The lane's word of each k-tile of a K row (32 bytes apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Words8 ReadK<TRead>(long address, int dim)
        where TRead : struct, IWordRead
    {
        var w = default(Words8);
        w.W0 = default(TRead).Read(address);
        w.W1 = dim > 16 ? default(TRead).Read(address + 32) : 0;
        w.W2 = dim > 32 ? default(TRead).Read(address + 64) : 0;
        w.W3 = dim > 48 ? default(TRead).Read(address + 96) : 0;
        w.W4 = dim > 64 ? default(TRead).Read(address + 128) : 0;
        w.W5 = dim > 80 ? default(TRead).Read(address + 160) : 0;
        w.W6 = dim > 96 ? default(TRead).Read(address + 192) : 0;
        w.W7 = dim > 112 ? default(TRead).Read(address + 224) : 0;
        return w;
    }

    /// <summary>The lane's words of a V row: dims 32i + 4g .. +3 (64 bytes apart), zero past the head dim.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Words4 ReadV<TRead>(long address, int dim, int g)
        where TRead : struct, IWordRead
    {
        var w = default(Words4);
        int x = 4 * g;
        w.W0 = x < dim ? default(TRead).Read(address) : 0;
        w.W1 = x + 32 < dim ? default(TRead).Read(address + 64) : 0;
        w.W2 = x + 64 < dim ? default(TRead).Read(address + 128) : 0;
        w.W3 = x + 96 < dim ? default(TRead).Read(address + 192) : 0;
        return w;
    }
}
