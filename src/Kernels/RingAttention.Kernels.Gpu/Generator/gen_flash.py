#!/usr/bin/env python3
"""Generates Flash/*.g.cs (one file per kernel) and FlashVariants.g.cs (their launch facts): straight-line FA2
forward kernels (ILGPU 1.5.3 never unrolls loops, so every fragment loop is written out here with scalar locals;
see bench/NOTES.md).

Tile: BR = 64*SLABS query rows (4 warps x SLABS m16 slabs), BC = 64 keys, head dim D: exactly 64 or 128 (constant),
or any multiple of 8 up to 256 by head-dim class (see PADDED: D read at run time, tiles of 64/128/256 columns whose
columns past D are zero-filled, k-steps only up to the class's D).
Shared: Q [BR, P], K [BC, P], V [BC, P] bf16/f16, rows of 2P bytes, 16-B chunks XOR-swizzled by row & 7.
Schedule (FA2): wait K[n]; issue V[n]; S = Q K^T; mask; online softmax; wait V[n]; issue K[n-1]; O += P V.
usage: python3 gen_flash.py ..      (from Generator/: writes ../Flash/*.g.cs, one file per kernel, and
                                     ../FlashVariants.g.cs, the table of launch facts FlashLauncher reads)
A test (GeneratedKernelsTests) runs this into a temp directory and fails if any committed file differs.
"""
import os
import sys

BC = 64
DTYPES = ("Bf16", "F16")
# Head-dim classes. EXACT ones take D = C as a constant (the tuned d = 64 / 128 kernels, and d = 96 in 128-column
# tiles: a constant D saves the registers whose lack spilled the class kernel); the others serve every multiple
# of 8 above the previous class up to C, D read at run time, in tiles of tile(C) columns (zero-filled past D).
EXACT = (64, 96, 128)
PADDED = (32, 64, 96, 128, 160, 192, 224, 256)


def tile(c):
    """Columns of a shared-memory tile row: a power of two (the loaders map a thread to a 16-B chunk by bit masks)."""
    return 64 if c <= 64 else 128 if c <= 128 else 256


def lower(c, exact=False):
    """The smallest head dim a class serves."""
    if exact:
        return c
    i = PADDED.index(c)
    return 8 if i == 0 else PADDED[i - 1] + 8


def variant_name(prefix, dt, c, suffix, exact):
    return f"{prefix}{dt}D{c}{suffix}" if exact else f"{prefix}{dt}Dx{c}{suffix}"


def emit_columns(w, exact, c, p):
    """Kernels whose tile is wider than D: whether this thread's 16-B chunk lies below D (cols = 1) or in the zero
    padding (cols = 0: its loads copy no bytes, and read from the row's first chunk); for a class kernel also the global
    row of one head (grb bytes, D read at run time)."""
    if exact and c == p:
        return
    if not exact:
        w("        uint grb = (uint)p.HeadDim * 2u;")
    w(f"        int cols = ldChunk < {c // 8 if exact else '(p.HeadDim >> 3)'} ? 1 : 0;")
    w("        ldChunk *= cols;")

NB = BC // 8  # n-blocks of S per slab


def tree(op, terms):
    """Balanced reduction expression (depth log2 n instead of a serial chain of n)."""
    while len(terms) > 1:
        nxt = [op(terms[i], terms[i + 1]) for i in range(0, len(terms) - 1, 2)]
        if len(terms) % 2:
            nxt.append(terms[-1])
        terms = nxt
    return terms[0]


def kernel(dt, C, SLABS, exact):
    """C: the head-dim class (see CLASSES). An exact class has D = C as a constant; a padded one reads D at run time
    (p.HeadDim, any multiple of 8 in the class), keeps tiles of P = tile(C) columns whose columns at or past D are
    zero-filled by the loads, and runs ceil(C/16) k-steps and d-blocks: the zero columns add nothing to Q K^T and the
    O columns past D are never stored."""
    P = tile(C)
    D = C
    BR = 64 * SLABS
    RB = 2 * P        # bytes of a shared-memory row
    KS = (C + 15) // 16   # k-steps of Q K^T
    DB = 2 * KS       # d-blocks of O (8 columns each)
    GRB = f"{2 * D}u" if exact else "grb"   # bytes of a global row of one head
    out = []
    w = out.append
    name = variant_name("Flash", dt, C, f"S{SLABS}", exact)
    what = f"head dim {D}" if exact else f"head dims {lower(C, exact)}-{C} (multiples of 8, read from p.HeadDim; tiles of {P} columns)"
    w(f"    /// <summary>{dt}, {what}, {BR} query rows per block ({SLABS} m16 slab(s) per warp), {BC} keys per tile.</summary>")
    w(f"    public static void {name}(FlashParams p, ArrayView<float> o, ArrayView<float> lse)")
    w("    {")
    w("        var dyn = SharedMemory.GetDynamic<Chunk16>();")
    w("        uint sQ = Ptx.SharedBase();")
    w(f"        uint sK = sQ + {BR * RB}u;")
    w(f"        uint sV = sK + {BC * RB}u;")
    w("        int tid = Group.IdxX;")
    w("        int lane = tid & 31;")
    w("        int warp = tid >> 5;")
    w("        int g = lane >> 2;")
    w("        int t = lane & 3;")
    w("        int mBlock = TileMath.MBlock(p, Grid.IdxX, Grid.DimX);")
    w("        int h = Grid.IdxY;")
    w("        int kvh = h / p.Group;")
    w(f"        p.BlockRows = {BR};")
    w(f"        p.BlockKeys = {BC};")
    w("        TileMath.KeyTiles(p, mBlock, out int nMin, out int nMax);")
    w("        float c = p.ScaleLog2;")
    # loader
    w(f"        int ldChunk = tid & {P // 8 - 1};")
    w(f"        int ldRow = tid >> {(P // 8).bit_length() - 1};")
    w(f"        uint ldDst = (uint)(ldRow * {RB} + ((ldChunk ^ (ldRow & 7)) << 4));")
    emit_columns(w, exact, C, P)
    w(f"        ulong qStride = (ulong)p.Heads * {GRB};")
    w(f"        ulong kvStride = (ulong)p.KvHeads * {GRB};")
    w(f"        ulong qSrc = p.QPtr + ((ulong)(p.QRowOffset + (mBlock * {BR})) * qStride) + ((ulong)h * {GRB}) + ((ulong)ldChunk * 16u);")
    w(f"        ulong kSrc = p.KPtr + ((ulong)p.KRowOffset * kvStride) + ((ulong)kvh * {GRB}) + ((ulong)ldChunk * 16u);")
    w(f"        ulong vSrc = p.VPtr + ((ulong)p.KRowOffset * kvStride) + ((ulong)kvh * {GRB}) + ((ulong)ldChunk * 16u);")
    kc, kq = ("", "") if exact and C == P else ("cols * (", ")")
    w(f"        FlashTiles.Load(sQ + ldDst, qSrc, qStride, ldRow, {1024 // P}, {BR}, {kc}p.QCount - (mBlock * {BR}){kq});")
    w("        if (nMin <= nMax)")
    w("        {")
    w(f"            FlashTiles.Load(sK + ldDst, kSrc + ((ulong)(nMax * {BC}) * kvStride), kvStride, ldRow, {1024 // P}, {BC}, {kc}p.KCount - (nMax * {BC}){kq});")
    w("        }")
    w("        Ptx.CpAsyncCommit();")
    # fragment addresses
    w("        uint r7 = (uint)(lane & 7);")
    w("        uint hq = (uint)(lane >> 4);")
    w("        uint hk = (uint)((lane >> 3) & 1);")
    for s in range(SLABS):
        w(f"        uint qA{s} = sQ + (uint)(({s * 64} + (warp * 16) + (lane & 15)) * {RB});")
    w(f"        uint kA = sK + (uint)(((lane & 7) + ((lane >> 4) << 3)) * {RB});")
    w(f"        uint vA = sV + (uint)(((lane & 7) + (((lane >> 3) & 1) << 3)) * {RB});")
    # state
    for s in range(SLABS):
        for r in range(2):
            w(f"        float m{s}_{r} = float.NegativeInfinity, l{s}_{r} = 0f;")
        for db in range(DB):
            w(f"        float o{s}_{db}_0 = 0f, o{s}_{db}_1 = 0f, o{s}_{db}_2 = 0f, o{s}_{db}_3 = 0f;")
    w("        for (int n = nMax; n >= nMin; n--)")
    w("        {")
    w("            Ptx.CpAsyncWaitAll();")
    w("            Group.Barrier();")
    w(f"            FlashTiles.Load(sV + ldDst, vSrc + ((ulong)(n * {BC}) * kvStride), kvStride, ldRow, {1024 // P}, {BC}, {kc}p.KCount - (n * {BC}){kq});")
    w("            Ptx.CpAsyncCommit();")
    for s in range(SLABS):
        for j in range(NB):
            w(f"            float s{s}_{j}_0 = 0f, s{s}_{j}_1 = 0f, s{s}_{j}_2 = 0f, s{s}_{j}_3 = 0f;")
    mma = f"Ptx.Mma{dt}"
    for kk in range(KS):
        w(f"            // k-step {kk}")
        w(f"            uint cq{kk} = (({2 * kk}u + hq) ^ r7) << 4;")
        w(f"            uint ck{kk} = (({2 * kk}u + hk) ^ r7) << 4;")
        for s in range(SLABS):
            w(f"            Ptx.Ldsm4(qA{s} + cq{kk}, out uint qa{s}_{kk}_0, out uint qa{s}_{kk}_1, out uint qa{s}_{kk}_2, out uint qa{s}_{kk}_3);")
        for np_ in range(BC // 16):
            w(f"            Ptx.Ldsm4(kA + {16 * np_ * RB}u + ck{kk}, out uint kb{kk}_{np_}_0, out uint kb{kk}_{np_}_1, out uint kb{kk}_{np_}_2, out uint kb{kk}_{np_}_3);")
            for s in range(SLABS):
                qa = f"qa{s}_{kk}_0, qa{s}_{kk}_1, qa{s}_{kk}_2, qa{s}_{kk}_3"
                j0, j1 = 2 * np_, 2 * np_ + 1
                w(f"            {mma}(ref s{s}_{j0}_0, ref s{s}_{j0}_1, ref s{s}_{j0}_2, ref s{s}_{j0}_3, {qa}, kb{kk}_{np_}_0, kb{kk}_{np_}_1);")
                w(f"            {mma}(ref s{s}_{j1}_0, ref s{s}_{j1}_1, ref s{s}_{j1}_2, ref s{s}_{j1}_3, {qa}, kb{kk}_{np_}_2, kb{kk}_{np_}_3);")
    # masking
    w("            if (TileMath.TileNeedsMask(p, mBlock, n))")
    w("            {")
    w(f"                int dr = p.QPos0 - p.KPos0 + (mBlock * {BR}) - (n * {BC}) + (warp * 16) + g - (2 * t);")
    w(f"                int kl = p.KCount - (n * {BC}) - (2 * t);")
    for s in range(SLABS):
        for j in range(NB):
            for e in range(4):
                half, col = e >> 1, e & 1
                w(f"                s{s}_{j}_{e} = Ptx.Mask(s{s}_{j}_{e}, dr + {s * 64 + 8 * half - 8 * j - col}, {8 * j + col}, kl, p.DMin, p.DMax);")
    w("            }")
    # softmax
    for s in range(SLABS):
        for r in range(2):
            e0, e1 = 2 * r, 2 * r + 1
            terms = [f"s{s}_{j}_{e}" for j in range(NB) for e in (e0, e1)]
            expr = tree(lambda a, b: f"Ptx.Max({a}, {b})", terms)
            w(f"            float mx{s}_{r} = {expr};")
            w(f"            mx{s}_{r} = Ptx.Max(mx{s}_{r}, Ptx.ShflXor(mx{s}_{r}, 1));")
            w(f"            mx{s}_{r} = Ptx.Max(mx{s}_{r}, Ptx.ShflXor(mx{s}_{r}, 2));")
            w(f"            float mn{s}_{r} = Ptx.Max(m{s}_{r}, mx{s}_{r});")
            w(f"            float ms{s}_{r} = mn{s}_{r} == float.NegativeInfinity ? 0f : mn{s}_{r} * c;")
            w(f"            float al{s}_{r} = Ptx.Ex2((m{s}_{r} * c) - ms{s}_{r});")
            w(f"            m{s}_{r} = mn{s}_{r};")
            for j in range(NB):
                for e in (e0, e1):
                    w(f"            s{s}_{j}_{e} = Ptx.Ex2(Ptx.Fma(s{s}_{j}_{e}, c, -ms{s}_{r}));")
            sums = tree(lambda a, b: f"({a} + {b})", [f"s{s}_{j}_{e}" for j in range(NB) for e in (e0, e1)])
            w(f"            float rs{s}_{r} = {sums};")
            w(f"            l{s}_{r} = (l{s}_{r} * al{s}_{r}) + rs{s}_{r};")
            for db in range(DB):
                w(f"            o{s}_{db}_{e0} *= al{s}_{r};")
                w(f"            o{s}_{db}_{e1} *= al{s}_{r};")
    pack = f"Ptx.Pack{dt}"
    for s in range(SLABS):
        for kk in range(BC // 16):
            a, b = 2 * kk, 2 * kk + 1
            w(f"            uint pa{s}_{kk}_0 = {pack}(s{s}_{a}_0, s{s}_{a}_1);")
            w(f"            uint pa{s}_{kk}_1 = {pack}(s{s}_{a}_2, s{s}_{a}_3);")
            w(f"            uint pa{s}_{kk}_2 = {pack}(s{s}_{b}_0, s{s}_{b}_1);")
            w(f"            uint pa{s}_{kk}_3 = {pack}(s{s}_{b}_2, s{s}_{b}_3);")
    w("            Ptx.CpAsyncWaitAll();")
    w("            Group.Barrier();")
    w("            if (n > nMin)")
    w("            {")
    w(f"                FlashTiles.Load(sK + ldDst, kSrc + ((ulong)((n - 1) * {BC}) * kvStride), kvStride, ldRow, {1024 // P}, {BC}, {kc}p.KCount - ((n - 1) * {BC}){kq});")
    w("            }")
    w("            Ptx.CpAsyncCommit();")
    for kk in range(BC // 16):
        w(f"            // key-step {kk}")
        for dp in range(DB // 2):
            w(f"            Ptx.Ldsm4T(vA + {16 * kk * RB}u + ((({2 * dp}u + hq) ^ r7) << 4), out uint vb{kk}_{dp}_0, out uint vb{kk}_{dp}_1, out uint vb{kk}_{dp}_2, out uint vb{kk}_{dp}_3);")
            for s in range(SLABS):
                pa = f"pa{s}_{kk}_0, pa{s}_{kk}_1, pa{s}_{kk}_2, pa{s}_{kk}_3"
                d0, d1 = 2 * dp, 2 * dp + 1
                w(f"            {mma}(ref o{s}_{d0}_0, ref o{s}_{d0}_1, ref o{s}_{d0}_2, ref o{s}_{d0}_3, {pa}, vb{kk}_{dp}_0, vb{kk}_{dp}_1);")
                w(f"            {mma}(ref o{s}_{d1}_0, ref o{s}_{d1}_1, ref o{s}_{d1}_2, ref o{s}_{d1}_3, {pa}, vb{kk}_{dp}_2, vb{kk}_{dp}_3);")
    w("        }")
    w("")
    w("        Ptx.CpAsyncWaitAll();")
    # epilogue
    for s in range(SLABS):
        for r in range(2):
            w(f"        l{s}_{r} += Ptx.ShflXor(l{s}_{r}, 1);")
            w(f"        l{s}_{r} += Ptx.ShflXor(l{s}_{r}, 2);")
            w(f"        int row{s}_{r} = (mBlock * {BR}) + {s * 64 + 8 * r} + (warp * 16) + g;")
            w(f"        float lo{s}_{r} = FlashTiles.ReadLse(p, lse, h, row{s}_{r});")
    w("        Warp.Barrier();")
    for s in range(SLABS):
        for r in range(2):
            e0, e1 = 2 * r, 2 * r + 1
            w(f"        if (row{s}_{r} < p.QCount)")
            w("        {")
            w(f"            long ob = (((long)(p.QRowOffset + row{s}_{r}) * p.Heads) + h) * {D if exact else 'p.HeadDim'} + (2 * t);")
            w(f"            FlashTiles.Weights(p.Merge, m{s}_{r} * c, l{s}_{r}, lo{s}_{r}, out float wa, out float wb, out float lseOut, out int mode);")
            w("            if (mode != 0)")
            w("            {")
            for db in range(DB):
                store = f"FlashTiles.Store(o, ob + {8 * db}, mode, wa, wb, o{s}_{db}_{e0}, o{s}_{db}_{e1});"
                w(f"                {store}" if exact or 8 * db < lower(C, exact) else f"                if ({8 * db} < p.HeadDim) {{ {store} }}")
            w("                if (t == 0)")
            w("                {")
            w(f"                    lse[((long)h * p.LseStride) + p.QRowOffset + row{s}_{r}] = lseOut;")
            w("                }")
            w("            }")
            w("        }")
    w("    }")
    return "\n".join(out)


def wgmma_kernel(dt, C, WG, exact):
    """sm_90a kernel: WG warpgroups (4 warps each) per block, 64 query rows per warpgroup, all sharing each 64-key
    K/V tile. S = Q·Kᵀ on wgmma m64n64k16 with A (Q) and B (K) from shared memory; O += P·V with A = P straight from
    the S accumulators (registers) and B = V, transposed, from shared memory. Q/K/V tiles use the canonical
    128-byte-swizzle layout: 64-column halves of rows x 128 B, 16-B chunk c of row r at (c ^ (r & 7)), 1024-B
    aligned, so one layout serves the K-major operands (Q, K) and the MN-major one (V). Each GEMM chain is one asm
    block with its commit and wait inside (see emit_chain_s)."""
    P = tile(C)
    D = C
    RK = 64           # keys per tile
    R = 64 * WG       # query rows per block (WG warpgroups of 64 rows share each K/V tile)
    H = (C + 63) // 64  # 64-column halves that hold columns below C (O += P V runs on these)
    TILE = R * P * 2  # bytes of the Q tile
    TK = RK * P * 2   # bytes of a K or V tile (RK keys)
    NJ = RK // 8      # 8-key blocks of S
    KS = (C + 15) // 16
    GRB = f"{2 * D}u" if exact else "grb"
    out = []
    w = out.append
    name = variant_name("Wgmma", dt, C, f"Wg{WG}", exact)
    what = f"head dim {D}" if exact else f"head dims {lower(C, exact)}-{C} (multiples of 8, read from p.HeadDim; tiles of {P} columns)"
    w(f"    /// <summary>sm_90a wgmma kernel: {dt}, {what}, {WG} warpgroup(s) x 64 query rows per block, {RK} keys per tile.</summary>")
    w(f"    public static void {name}(FlashParams p, ArrayView<float> o, ArrayView<float> lse)")
    w("    {")
    w("        var dyn = SharedMemory.GetDynamic<Chunk16>();")
    w("        uint sQ = (Ptx.SharedBase() + 1023u) & ~1023u;")
    w(f"        uint sK = sQ + {TILE}u;")
    w(f"        uint sV = sK + {TK}u;")
    w("        int tid = Group.IdxX;")
    w("        int lane = tid & 31;")
    w("        int warp = tid >> 5;")
    w("        int wr = ((warp & 3) * 16) + ((warp >> 2) * 64);")
    w("        int g = lane >> 2;")
    w("        int t = lane & 3;")
    w("        int mBlock = TileMath.MBlock(p, Grid.IdxX, Grid.DimX);")
    w("        int h = Grid.IdxY;")
    w("        int kvh = h / p.Group;")
    w(f"        p.BlockRows = {R};")
    w(f"        p.BlockKeys = {RK};")
    w("        TileMath.KeyTiles(p, mBlock, out int nMin, out int nMax);")
    w("        float c = p.ScaleLog2;")
    w(f"        int ldChunk = tid & {P // 8 - 1};")
    w(f"        int ldRow = tid >> {(P // 8).bit_length() - 1};")
    w(f"        uint ldDst = (uint)(((ldChunk >> 3) * {R * 128}) + (ldRow * 128) + (((ldChunk & 7) ^ (ldRow & 7)) << 4));")
    w(f"        uint ldDstKv = (uint)(((ldChunk >> 3) * {RK * 128}) + (ldRow * 128) + (((ldChunk & 7) ^ (ldRow & 7)) << 4));")
    emit_columns(w, exact, C, P)
    w(f"        ulong qStride = (ulong)p.Heads * {GRB};")
    w(f"        ulong kvStride = (ulong)p.KvHeads * {GRB};")
    w(f"        ulong qSrc = p.QPtr + ((ulong)(p.QRowOffset + (mBlock * {R})) * qStride) + ((ulong)h * {GRB}) + ((ulong)ldChunk * 16u);")
    w(f"        ulong kSrc = p.KPtr + ((ulong)p.KRowOffset * kvStride) + ((ulong)kvh * {GRB}) + ((ulong)ldChunk * 16u);")
    w(f"        ulong vSrc = p.VPtr + ((ulong)p.KRowOffset * kvStride) + ((ulong)kvh * {GRB}) + ((ulong)ldChunk * 16u);")
    rpp = 1024 * WG // P
    kc, kq = ("", "") if exact and C == P else ("cols * (", ")")
    w(f"        FlashTiles.LoadRows(sQ + ldDst, qSrc, qStride, ldRow, {rpp}, {R}, {kc}p.QCount - (mBlock * {R}){kq}, {rpp * 128});")
    w("        if (nMin <= nMax)")
    w("        {")
    w(f"            FlashTiles.LoadRows(sK + ldDstKv, kSrc + ((ulong)(nMax * {RK}) * kvStride), kvStride, ldRow, {rpp}, {RK}, {kc}p.KCount - (nMax * {RK}){kq}, {rpp * 128});")
    w("        }")
    w("        Ptx.CpAsyncCommit();")
    w("        Ptx.CpAsyncWaitAll();")
    w("        Ptx.FenceProxyAsync();")
    w("        Group.Barrier();")
    w("        float m0 = float.NegativeInfinity, l0 = 0f, m1 = float.NegativeInfinity, l1 = 0f;")
    for hh in range(H):
        for j in range(8):
            w(f"        float o{hh}_{j}_0 = 0f, o{hh}_{j}_1 = 0f, o{hh}_{j}_2 = 0f, o{hh}_{j}_3 = 0f;")
    w("        for (int n = nMax; n >= nMin; n--)")
    w("        {")
    w("            if (n != nMax)")
    w("            {")
    w("                Ptx.CpAsyncWaitAll();")
    w("                Ptx.FenceProxyAsync();")
    w("                Group.Barrier();")
    w("            }")
    w("            uint vb = sV;")
    w(f"            FlashTiles.LoadRows(vb + ldDstKv, vSrc + ((ulong)(n * {RK}) * kvStride), kvStride, ldRow, {rpp}, {RK}, {kc}p.KCount - (n * {RK}){kq}, {rpp * 128});")
    w("            Ptx.CpAsyncCommit();")
    for j in range(NJ):
        w(f"            float s{j}_0 = 0f, s{j}_1 = 0f, s{j}_2 = 0f, s{j}_3 = 0f;")
    w("            Ptx.WgmmaFence();")
    emit_chain_s(w, dt, KS, R, RK)
    w("            if (TileMath.TileNeedsMask(p, mBlock, n))")
    w("            {")
    w(f"                int dr = p.QPos0 - p.KPos0 + (mBlock * {R}) - (n * {RK}) + wr + g - (2 * t);")
    w(f"                int kl = p.KCount - (n * {RK}) - (2 * t);")
    for j in range(NJ):
        for e in range(4):
            half, col = e >> 1, e & 1
            w(f"                s{j}_{e} = Ptx.Mask(s{j}_{e}, dr + {8 * half - 8 * j - col}, {8 * j + col}, kl, p.DMin, p.DMax);")
    w("            }")
    for r in range(2):
        e0, e1 = 2 * r, 2 * r + 1
        terms = [f"s{j}_{e}" for j in range(NJ) for e in (e0, e1)]
        expr = tree(lambda a, b: f"Ptx.Max({a}, {b})", terms)
        w(f"            float mx{r} = {expr};")
        w(f"            mx{r} = Ptx.Max(mx{r}, Ptx.ShflXor(mx{r}, 1));")
        w(f"            mx{r} = Ptx.Max(mx{r}, Ptx.ShflXor(mx{r}, 2));")
        w(f"            float mn{r} = Ptx.Max(m{r}, mx{r});")
        w(f"            float ms{r} = mn{r} == float.NegativeInfinity ? 0f : mn{r} * c;")
        w(f"            float al{r} = Ptx.Ex2((m{r} * c) - ms{r});")
        w(f"            m{r} = mn{r};")
        for j in range(NJ):
            for e in (e0, e1):
                w(f"            s{j}_{e} = Ptx.Ex2(Ptx.Fma(s{j}_{e}, c, -ms{r}));")
        sums = tree(lambda a, b: f"({a} + {b})", [f"s{j}_{e}" for j in range(NJ) for e in (e0, e1)])
        w(f"            float rs{r} = {sums};")
        w(f"            l{r} = (l{r} * al{r}) + rs{r};")
        for hh in range(H):
            for j in range(8):
                w(f"            o{hh}_{j}_{e0} *= al{r};")
                w(f"            o{hh}_{j}_{e1} *= al{r};")
    pack = f"Ptx.Pack{dt}"
    for kk in range(RK // 16):
        a, b = 2 * kk, 2 * kk + 1
        w(f"            uint pa{kk}_0 = {pack}(s{a}_0, s{a}_1);")
        w(f"            uint pa{kk}_1 = {pack}(s{a}_2, s{a}_3);")
        w(f"            uint pa{kk}_2 = {pack}(s{b}_0, s{b}_1);")
        w(f"            uint pa{kk}_3 = {pack}(s{b}_2, s{b}_3);")
    w("            Ptx.CpAsyncWaitAll();")
    w("            Ptx.FenceProxyAsync();")
    w("            Group.Barrier();")
    w("            if (n > nMin)")
    w("            {")
    w(f"                FlashTiles.LoadRows(sK + ldDstKv, kSrc + ((ulong)((n - 1) * {RK}) * kvStride), kvStride, ldRow, {rpp}, {RK}, {kc}p.KCount - ((n - 1) * {RK}){kq}, {rpp * 128});")
    w("            }")
    w("            Ptx.CpAsyncCommit();")
    w("            Ptx.WgmmaFence();")
    emit_chain_pv(w, dt, RK, H)
    w("        }")
    w("")
    w("        Ptx.CpAsyncWaitAll();")
    for r in range(2):
        w(f"        l{r} += Ptx.ShflXor(l{r}, 1);")
        w(f"        l{r} += Ptx.ShflXor(l{r}, 2);")
        w(f"        int row{r} = (mBlock * {R}) + {8 * r} + wr + g;")
        w(f"        float lo{r} = FlashTiles.ReadLse(p, lse, h, row{r});")
    w("        Warp.Barrier();")
    for r in range(2):
        e0, e1 = 2 * r, 2 * r + 1
        w(f"        if (row{r} < p.QCount)")
        w("        {")
        w(f"            long ob = (((long)(p.QRowOffset + row{r}) * p.Heads) + h) * {D if exact else 'p.HeadDim'} + (2 * t);")
        w(f"            FlashTiles.Weights(p.Merge, m{r} * c, l{r}, lo{r}, out float wa, out float wb, out float lseOut, out int mode);")
        w("            if (mode != 0)")
        w("            {")
        for hh in range(H):
            for j in range(8):
                col = 64 * hh + 8 * j
                if col >= C:
                    continue
                store = f"FlashTiles.Store(o, ob + {col}, mode, wa, wb, o{hh}_{j}_{e0}, o{hh}_{j}_{e1});"
                w(f"                {store}" if exact or col < lower(C, exact) else f"                if ({col} < p.HeadDim) {{ {store} }}")
        w("                if (t == 0)")
        w("                {")
        w(f"                    lse[((long)h * p.LseStride) + p.QRowOffset + row{r}] = lseOut;")
        w("                }")
        w("            }")
        w("        }")
    w("    }")
    return "\n".join(out)


def _refs(w, names):
    for i, n in enumerate(names):
        w(f"                Ref<float> x{i} = {n};")


def _back(w, names):
    for i, n in enumerate(names):
        w(f"                {n} = x{i}.Value;")


def emit_chain_s(w, dt, KS, R, RK):
    """S = Q·Kᵀ as ONE inline-asm block of KS back-to-back wgmmas (A = Q and B = K from shared memory): with one
    asm per wgmma, ILGPU's operand copies between them made ptxas inject a warpgroup.arrive before every wgmma."""
    ty = dt.lower()
    names = [f"s{j}_{e}" for j in range(8) for e in range(4)]
    regs = ",".join(f"%{i}" for i in range(32))
    body = "{ .reg .pred p; .reg .b64 qd, kd; setp.ne.b32 p, %34, 0; "
    for kk in range(KS):
        half, off = kk // 4, 32 * (kk % 4)
        body += f"add.s64 qd, %32, {(half * R * 128 + off) >> 4}; add.s64 kd, %33, {(half * RK * 128 + off) >> 4}; "
        body += f"wgmma.mma_async.sync.aligned.m64n64k16.f32.{ty}.{ty} {{{regs}}}, qd, kd, p, 1, 1, 0, 0; "
    # commit and wait inside the block: ILGPU copies the outputs right after the asm, and a read of in-flight
    # accumulators makes ptxas serialise every wgmma of the kernel (C7514).
    body += "wgmma.commit_group.sync.aligned; wgmma.wait_group.sync.aligned 0; }"
    w("            {")
    _refs(w, names)
    w("                Input<ulong> dq = Ptx.Desc128(sQ + (uint)((warp >> 2) * 8192), 16u, 1024u), dk = Ptx.Desc128(sK, 16u, 1024u);")
    w("                Input<uint> one = 1u;")
    args = ", ".join(f"ref x{i}" for i in range(32))
    w(f"                CudaAsm.EmitRef(\"{body}\", {args}, ref dq, ref dk, ref one);")
    _back(w, names)
    w("            }")


def emit_chain_pv(w, dt, RK, H):
    """O += P·V: per 64-column half, asm blocks of two back-to-back wgmmas (32 accumulators + 8 P registers + the
    descriptor fit ILGPU's 44-operand limit)."""
    ty = dt.lower()
    regs = ",".join(f"%{i}" for i in range(32))
    for hh in range(H):
        names = [f"o{hh}_{j}_{e}" for j in range(8) for e in range(4)]
        for k0 in range(0, RK // 16, 2):
            body = "{ .reg .pred p; .reg .b64 vd; setp.ne.b32 p, %41, 0; "
            for i, kk in enumerate((k0, k0 + 1)):
                body += f"add.s64 vd, %40, {(hh * RK * 128 + kk * 2048) >> 4}; "
                a = 32 + 4 * i
                body += f"wgmma.mma_async.sync.aligned.m64n64k16.f32.{ty}.{ty} {{{regs}}}, {{%{a},%{a + 1},%{a + 2},%{a + 3}}}, vd, p, 1, 1, 1; "
            body += "wgmma.commit_group.sync.aligned; wgmma.wait_group.sync.aligned 0; }"
            w("            {")
            _refs(w, names)
            pas = [f"pa{kk}_{e}" for kk in (k0, k0 + 1) for e in range(4)]
            w("                " + " ".join(f"Input<uint> i{i} = {n};" for i, n in enumerate(pas)))
            w(f"                Input<ulong> dv = Ptx.Desc128(vb, {RK * 128}u, 1024u);")
            w("                Input<uint> one = 1u;")
            args = ", ".join(f"ref x{i}" for i in range(32)) + ", " + ", ".join(f"ref i{i}" for i in range(8))
            w(f"                CudaAsm.EmitRef(\"{body}\", {args}, ref dv, ref one);")
            _back(w, names)
            w("            }")


HEADER = "// <auto-generated> by Generator/gen_flash.py; edit the generator, not this file. </auto-generated>\n"
VARIANTS = [(dt, c, slabs, True) for dt in DTYPES for c in EXACT for slabs in (1, 2)] + \
           [(dt, c, slabs, False) for dt in DTYPES for c in PADDED for slabs in ((2,) if tile(c) <= 128 else (1,))]
WGMMA = [(dt, c, wg, True) for dt in DTYPES for c in EXACT for wg in (1, 2)] + \
        [(dt, c, wg, False) for dt in DTYPES for c in PADDED for wg in ((2,) if tile(c) <= 128 else (1, 2))]


def launch_facts():
    """(dtype, lowest D, highest D, tile columns, wgmma, width, threads, block rows, block keys, shared bytes, method) of
    every kernel, from the same constants the kernels are written with: the launcher reads these instead of restating
    the layout."""
    facts = []
    for dt, c, slabs, exact in VARIANTS:
        br, p = 64 * slabs, tile(c)
        facts.append((dt, lower(c, exact), c, p, False, slabs, 128, br, BC, (br + 2 * BC) * p * 2, variant_name("Flash", dt, c, f"S{slabs}", exact)))
    for dt, c, wg, exact in WGMMA:
        r, rk, p = 64 * wg, 64, tile(c)
        # Q tile + K and V tiles, and 1 KB of slack to align the base to the 1024-byte swizzle atom.
        facts.append((dt, lower(c, exact), c, p, True, wg, 128 * wg, r, rk, r * p * 2 + 2 * rk * p * 2 + 1024, variant_name("Wgmma", dt, c, f"Wg{wg}", exact)))
    return facts


def write(path, text):
    with open(path, "w", newline="\n") as f:
        f.write(text)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else ".."
    os.makedirs(os.path.join(out, "Flash"), exist_ok=True)
    kernels = [(variant_name("Flash", dt, c, f"S{s}", e), kernel(dt, c, s, e)) for dt, c, s, e in VARIANTS] + \
              [(variant_name("Wgmma", dt, c, f"Wg{wg}", e), wgmma_kernel(dt, c, wg, e)) for dt, c, wg, e in WGMMA]
    for name, body in kernels:
        write(os.path.join(out, "Flash", f"{name}.g.cs"), HEADER +
              "#pragma warning disable IDE0059, IDE0060, CS0219\n"
              "using ILGPU;\nusing ILGPU.Runtime.Cuda;\n\nnamespace RingAttention.Kernels.Gpu;\n\n"
              "/// <summary>Generated FA2 forward kernels (see Generator/gen_flash.py for the tile scheme).</summary>\n"
              "internal static partial class FlashKernels\n{\n" + body + "\n}\n")
    rows = []
    for dt, lo, hi, p, wgmma, width, threads, br, bk, shared, method in launch_facts():
        rows.append(f"        new(ElementType.{dt.upper()}, MinDim: {lo}, Dim: {hi}, Tile: {p}, Wgmma: {str(wgmma).lower()}, Width: {width}, Threads: {threads}, "
                    f"BlockRows: {br}, BlockKeys: {bk}, SharedBytes: {shared}, Kernel: FlashKernels.{method}),")
    write(os.path.join(out, "FlashVariants.g.cs"), HEADER +
          "using RingAttention.Tensors;\n\nnamespace RingAttention.Kernels.Gpu;\n\n"
          "/// <summary>Every generated kernel and its launch facts (threads, tile, shared memory), from the generator.</summary>\n"
          "internal static class FlashVariants\n{\n    public static readonly FlashVariant[] All =\n    [\n" + "\n".join(rows) + "\n    ];\n}\n")


if __name__ == "__main__":
    main()
