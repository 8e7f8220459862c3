#!/usr/bin/env python3
"""Generates Hopper/*.g.ptx: warp-specialized FlashAttention forward kernels for sm_90a, written as PTX (issue 14,
ADR 22). ILGPU cannot keep a wgmma in flight across C# statements (it copies every asm operand), so these kernels are
emitted whole by this program and loaded through the driver (WarpSpecializedKernel.cs); the ILGPU kernels stay for
every other GPU and head dim.

Block: 3 warpgroups, 384 threads, one block per SM; block x takes work tiles (m-block, head) x, x + gridDim.x, ...
(head by head; each head's m-blocks from the last under a causal mask). Without a mask the launch is persistent (one
block per SM: no tail wave, and the next tile's Q loads as soon as both consumers have issued their last S GEMM of the
previous one; the barriers' phases run on across tiles); with one it is one block per tile, so that the hardware's
block scheduler balances the unequal tiles (measured: a static persistent stride lost 13-15 % at 16K-32K causal).
  warpgroup 0, the producer: `setmaxnreg.dec` to 40 registers; one thread issues TMA tensor copies
    (`cp.async.bulk.tensor.3d`, 128-byte swizzle) of the Q tile once and of K and V tiles into a ring of STAGES
    shared-memory stages, each completing on a "full" mbarrier and re-armed when the consumers arrive on its "empty" one.
  warpgroups 1 and 2, the consumers: `setmaxnreg.inc` to 232; each owns 64 of the block's 128 query rows. Per key tile
    (BK keys) S = Q·Kᵀ runs as wgmma m64nBKk16 (A and B from shared memory), O += P·V as wgmma m64nDk16 with A = P in
    registers (the S accumulators converted in place) and B = V (MN-major). Intra-warpgroup overlap (FA3): the S
    GEMM of tile j+1 and the P·V GEMM of tile j are in flight while the softmax of tile j+1 runs; only the rescale of O
    waits for P·V. Inter-warpgroup ping-pong (FA3), 16-bit d 128 only (PINGPONG): the two consumers take turns to issue
    their GEMMs (named barriers 1 and 2), so that one's softmax runs while the tensor cores work on the other's GEMMs.
Short query blocks (WarpSpecializedPlan; the `_short` variant of each 16-bit kernel, ADR 25): a tile may pack `pack` heads of one kv head (GQA), BM / pack tokens each, so
that a 16-token block fills a tile instead of an eighth of one (Q's tensor map is [rows][heads / pack][pack][dim], its
box pack heads x BM / pack rows, landing in shared memory row r = token·pack + head, the layout an unpacked tile has);
and the key range of a tile may split over `splits` blocks (flash-decoding), each writing partial (o, lse) in
DecodeKernel's layout for DecodeMerge to fold, so that a few tiles still fill the GPU.
Semantics are FlashParams' (see FlashParams.cs): positions, the DMin/DMax mask, the key limit, merge into an existing
float32 O / LSE, heavy-first block order. TMA zero-fills rows past the span (the tensor maps end there).

usage: python3 gen_hopper.py ..      (from Generator/: writes ../Hopper/*.g.ptx)
A test (GeneratedKernelsTests) runs this into a temp directory and fails if any committed file differs.
"""
import os
import sys

from gen_flash import write  # one file writer for both generators (LF endings, as the committed files)

BM = 128          # query rows per block (64 per consumer warpgroup)
STAGES = 2        # K/V stages in shared memory
CONSUMER_REGS = 232   # 256 threads x 232 + 128 x 40 <= 65536
PRODUCER_REGS = 40
NEG_INF = "0fFF800000"
LOG2E = "0f3FB8AA3B"
LN2 = "0f3F317218"
# FP8: P = 2^8 · exp2(s − m) in [0, 256] rather than [0, 1], so that small probabilities stay above e4m3's smallest
# subnormal (2^-9) longer before they round to zero (FA3's Max_offset); l sums the same scaled P, so 1/l cancels the
# factor in O, and the LSE takes the 8 back off.
FP8_P_SHIFT = "0f41000000"
DIMS = (64, 80, 96, 128, 160, 192, 224, 256)
FP8_DIMS = (128, 256)      # rows of whole 128-byte swizzle atoms
# Ping-pong turns (Kernel.consumer) where they paid, A/B on nvidia-h200 (bench/kernel-ab.sh, bench/NOTES.md v14):
# 16-bit d 128 without a mask +5-8 % (16K: 633 -> 673 TFLOP/s), causal within noise; d 64 -3 to -7 %, d 256 +-2 %,
# FP8 d 128 -4 to -5 % (918 -> 881).
PINGPONG = {("bf16", 128), ("f16", 128)}
# (dtype, head dim, short): the 16-bit kernels twice, as written for long query blocks and as the short-block variant
# (GQA packing and split keys: measured, the extra live values cost the long-block d 64 kernel 6-10 % when one kernel
# did both, bench/NOTES.md v19); FP8 never packs (its q·k descale is per head, folded into the scale per tile).
KERNELS = [(dt, d, short) for d in DIMS for short in (False, True) for dt in ("bf16", "f16")] + [("e4m3", d, False) for d in FP8_DIMS]


def elem_bytes(dt):
    return 1 if dt == "e4m3" else 2


def keys(d, dt="bf16"):
    """Keys per tile: 128 up to d = 128; fewer above, so that Q and two K/V stages fit the 227 KB of shared memory and
    the O accumulators (d / 2 registers a thread) leave room for S and P within 232 registers: 96 up to d = 192, 64 up
    to 256 (a tile's row of 96 keys is 12 swizzle atoms: every box stays 1024-byte aligned)."""
    if dt == "e4m3":
        return 128          # V is read transposed (K-major): a tile's row of keys is one 128-byte swizzle atom
    return 128 if d <= 128 else 96 if d <= 192 else 64


def name(dt, d, short=False):
    return f"ring_ws_{dt}_d{d}" + ("_short" if short else "")


def desc_hi(lbo, sbo):
    """High bits of a wgmma shared-memory descriptor, 128-byte swizzle (layout type 1 in bits 62-63); the start
    address (>> 4) is added at run time."""
    return ((lbo >> 4) << 16) | ((sbo >> 4) << 32) | (1 << 62)


class Ptx:
    def __init__(self):
        self.lines = []
        self.label = 0

    def __call__(self, s):
        self.lines.append("\t" + s)

    def lab(self, s):
        self.lines.append(s + ":")

    def new_label(self, stem):
        self.label += 1
        return f"L_{stem}_{self.label}"

    def wait(self, bar, parity):
        """Spin on an mbarrier phase (try_wait suspends the thread for a while in hardware before failing)."""
        top = self.new_label("wait")
        self.lab(top)
        self(f"mbarrier.try_wait.parity.shared::cta.b64 %wp, [{bar}], {parity};")
        self(f"@!%wp bra {top};")


def tree(w, op, ty, terms, tmp):
    """Balanced reduction into a fresh temporary; returns its name."""
    level = list(terms)
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            t = tmp()
            w(f"{op}.{ty} {t}, {level[i]}, {level[i + 1]};")
            nxt.append(t)
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


class Kernel:
    """One generated kernel (a dtype and a head dim): its constants, then one method per part of the PTX in order
    (header, barriers, producer, consumer with its per-tile steps, epilogue); `text()` emits it.
    FP8 (e4m3) differs from bf16/f16 in three places: each wgmma takes k = 32 (32 bytes, as 16 two-byte elements);
    V arrives transposed (Vᵀ [kv head][dim][key], made by Fp8Values.Transpose), since an FP8 B operand must be K-major;
    and P is packed for the FP8 A fragment, whose register i holds four keys 4t..4t+3 of a 16-key group where the S
    accumulators hold keys 2t, 2t+1, 8+2t, 9+2t: Vᵀ's keys are permuted to match within every 16 (Fp8Values), so no
    value moves between lanes. The descale factors scale S (q·k per head, folded into the softmax scale) and O (v per
    kv head, folded into 1/l)."""

    def __init__(self, dt, D, short=False):
        self.dt, self.D, self.short = dt, D, short
        assert not (short and dt == "e4m3")
        self.fp8 = self.dt == "e4m3"
        self.pingpong = (dt, D) in PINGPONG
        self.esz = elem_bytes(self.dt)
        assert self.D % 16 == 0 and 48 <= self.D <= 256 and (not self.fp8 or self.D * self.esz % 128 == 0)
        self.BK = keys(self.D, self.dt)
        self.EPP = 128 // self.esz            # elements per 128-byte part of a row
        self.H = (self.D * self.esz + 127) // 128  # 128-byte parts of a row (one TMA box and one swizzle atom each; past D zero-filled)
        self.QTILE = BM * self.H * 128
        self.KTILE = self.BK * self.H * 128
        self.HALF_Q = BM * 128           # bytes of one 64-column half of the Q tile
        self.HALF_K = self.BK * 128
        self.STAGE = 2 * self.KTILE
        self.BARS = self.QTILE + STAGES * self.STAGE
        self.EMPTY_Q = 8 + STAGES * 32
        self.SMEM = self.BARS + self.EMPTY_Q + 8 + 1024   # + 1 KB to align the base to the swizzle atom
        self.NS = self.BK // 8                # n8 blocks of S
        self.NO = self.D // 8                 # n8 blocks of O (P·V runs as m64nDk16: no work on the zero columns)
        self.KS = self.D * self.esz // 32          # k-steps of S (32 bytes each)
        self.PS = self.BK * self.esz // 32         # k-steps of P·V
        if self.fp8:
            assert self.BK * self.esz == 128 and self.D * self.BK == self.KTILE   # one Vᵀ box: D rows of one swizzle atom
        self.w = Ptx()
        self.ty = self.dt
        self.out = self.w.lines
        self._tmps = 0

    def text(self):
        """The kernel's PTX (entry to closing brace) and its dynamic shared memory in bytes."""
        self.header()
        self.barriers()
        self.producer()
        self.consumer()
        self.epilogue()
        return "\n".join(self.out), self.SMEM

    def header(self):
        """The entry, its parameters and registers; parameters loaded, the block's shared memory and tile count."""
        w = self.w
        self.out.append(f"// {name(self.dt, self.D, self.short)}: {self.dt}, head dim {self.D}, {BM} query rows x {self.BK} keys per tile, {STAGES} stages, "
                   f"{self.SMEM} bytes of dynamic shared memory.")
        self.out.append(f".visible .entry {name(self.dt, self.D, self.short)}(")
        params = [".param .align 64 .b8 tq[128]", ".param .align 64 .b8 tk[128]", ".param .align 64 .b8 tv[128]",
                  ".param .u64 p_o", ".param .u64 p_lse"] + \
                 [f".param .u32 p_{n}" for n in ("qcount", "qpos0", "qrow", "kcount", "kpos0", "krow", "heads", "group",
                                                  "dmin", "dmax")] + \
                 [".param .f32 p_scale", ".param .u32 p_lsestride", ".param .u32 p_merge", ".param .u32 p_heavy",
                  ".param .u32 p_pack", ".param .u32 p_splits", ".param .u64 p_chunks"] + \
                 ([".param .u64 p_qkd", ".param .u64 p_vd"] if self.fp8 else [])
        self.out.append(",\n".join("\t" + p for p in params))
        self.out.append(")")
        self.out.append(".maxntid 384, 1, 1")
        self.out.append(".minnctapersm 1")
        self.out.append("{")
        # registers
        w(".reg .pred %wp, %pt, %pf, %pe, %pm, %pq, %pl, %px, %pp;")
        w(f".reg .f32 %s<{self.NS * 4}>;")
        w(f".reg .f32 %o<{self.NO * 4}>;")
        w(f".reg .b32 %pa<{self.PS * 4}>;")
        w(".reg .f32 %f<200>;")
        w(".reg .b32 %r<64>;")
        w(".reg .b64 %rd<48>;")
        w(".reg .b32 %xtid, %wg, %bx, %h, %kvh, %mb, %base, %sq, %bars, %nmin, %nmax, %n, %stg, %ph, %pstg, %pph, %zero;")
        w(".reg .b32 %qcount, %qpos0, %qrow, %kcount, %kpos0, %krow, %heads, %group, %dmin, %dmax, %lsestride, %merge, %heavy, %mblocks, %total, %tile, %qph;")
        if self.short:
            w(".reg .b32 %pack, %splits, %ps, %tb, %sp, %kvheads, %qd8;")
            w(".reg .pred %pg;")
            w(".reg .b64 %rdc;")
        w(".reg .f32 %c, %m0, %m1, %l0, %l1, %al0, %al1;")
        if self.pingpong:
            w(".reg .b32 %myturn, %nextturn;")
        w(".reg .b64 %tq, %tk, %tv, %po, %plse, %state;")
        if self.fp8:
            w(".reg .f32 %cb, %vd;")
            w(".reg .b16 %pk<2>;")
            w(".reg .b64 %pqkd, %pvd;")
        for p in ("qcount", "qpos0", "qrow", "kcount", "kpos0", "krow", "heads", "group", "dmin", "dmax", "lsestride", "merge", "heavy") + \
                (("pack", "splits") if self.short else ()):
            w(f"ld.param.u32 %{p}, [p_{p}];")
        w("ld.param.f32 %c, [p_scale];")
        w("ld.param.u64 %po, [p_o];")
        w("ld.param.u64 %plse, [p_lse];")
        if self.fp8:
            w("ld.param.u64 %pqkd, [p_qkd];")
            w("ld.param.u64 %pvd, [p_vd];")
            w("mov.f32 %cb, %c;")
        w("mov.u32 %zero, 0;")
        w("setp.eq.u32 %pt, %zero, 0;")
        w("setp.ne.u32 %pf, %zero, 0;")
        w("mov.u32 %xtid, %tid.x;")
        w("shr.u32 %wg, %xtid, 7;")
        if not self.short:
            # persistent grid: block x takes work tiles x, x + gridDim.x, ... of mblocks x heads (p_pack, p_splits: 1)
            w(f"add.u32 %mblocks, %qcount, {BM - 1};")
            w(f"shr.u32 %mblocks, %mblocks, {BM.bit_length() - 1};")
            w("mul.lo.u32 %total, %mblocks, %heads;")
        else:
            # GQA packing: a tile holds %tb = BM / pack tokens x pack heads of one kv head (row r: token r >> %ps, head
            # h + (r & pack - 1)); pack is a power of two (1: one head a tile)
            w("clz.b32 %r0, %pack;")
            w("mov.u32 %ps, 31;")
            w("sub.u32 %ps, %ps, %r0;")
            w(f"mov.u32 %tb, {BM};")
            w("shr.u32 %tb, %tb, %ps;")
            w("div.u32 %kvheads, %heads, %group;")
            w("setp.gt.u32 %pp, %splits, 1;")                         # split keys: partials in DecodeKernel's layout
            w("ld.param.u64 %rdc, [p_chunks];")
            w("setp.ne.u64 %pg, %rdc, 0;")
            w("or.pred %pp, %pp, %pg;")                              # a chunk table: partials too, one a chunk
            # persistent grid: block x takes work tiles x, x + gridDim.x, ... of mblocks x head groups x splits
            w("add.u32 %mblocks, %qcount, %tb;")
            w("sub.u32 %mblocks, %mblocks, 1;")
            w(f"mov.u32 %r0, {BM.bit_length() - 1};")
            w("sub.u32 %r0, %r0, %ps;")
            w("shr.u32 %mblocks, %mblocks, %r0;")
            w("shr.u32 %r0, %heads, %ps;")
            w("mul.lo.u32 %total, %mblocks, %r0;")
            w("mul.lo.u32 %total, %total, %splits;")
        # shared memory: base aligned to 1024
        w("mov.u32 %base, smem;")
        w("add.u32 %base, %base, 1023;")
        w("and.b32 %base, %base, -1024;")
        w(f"add.u32 %bars, %base, {self.BARS};")

    def tile_coords(self, producer=False):
        """Work tile %tile -> split %sp, m-block %mb, first head %h, kv head %kvh; its key-tile range [%nmin, %nmax]
        (TileMath.KeyTiles, in 64 bits: DMin/DMax may be int.MinValue/MaxValue; then split %sp's share of it) and %pe
        when it sees no key. Head by head, so that the tiles in flight share one head's K/V in L2 (measured: ordering
        causal tiles m-block first, every head's block before the next, lost 13-15 % at 16K-32K with 32 kv heads);
        heavy first (causal): each head's m-blocks from the last; a tile's splits side by side.
        With a chunk table (p_chunks, short kernels: ChunkedTiles), split %sp is chunk %sp of it: its K/V tensor maps
        (in global memory, fenced for the tensor-map proxy before the producer's first copy through them), its first
        row in them, key count and first position replace the parameters', and it takes all of its key tiles."""
        w = self.w
        if self.short:
            w("rem.u32 %sp, %tile, %splits;")
            w("div.u32 %r50, %tile, %splits;")
            w("div.u32 %r51, %r50, %mblocks;")                 # head group
            w("mul.lo.u32 %r4, %r51, %mblocks;")
            w("sub.u32 %r4, %r50, %r4;")                       # m-block index within the head group
            w("shl.b32 %h, %r51, %ps;")
        else:
            w("div.u32 %h, %tile, %mblocks;")
            w("mul.lo.u32 %r4, %h, %mblocks;")
            w("sub.u32 %r4, %tile, %r4;")                      # m-block index within the head
        w("sub.u32 %r2, %mblocks, 1;")
        w("sub.u32 %r2, %r2, %r4;")
        w("setp.ne.u32 %px, %heavy, 0;")
        w("selp.b32 %mb, %r2, %r4, %px;")
        w("div.u32 %kvh, %h, %group;")
        if self.short:
            chunk = w.new_label("chunk")
            w(f"@!%pg bra {chunk};")
            w("ld.param.u64 %rdc, [p_chunks];")
            w("mad.wide.u32 %rdc, %sp, 32, %rdc;")              # 32 bytes a chunk: K map, V map, row, count, position
            w("ld.global.nc.v4.u32 {%krow, %kcount, %kpos0, %r55}, [%rdc+16];")
            if producer:
                w("ld.global.nc.u64 %tk, [%rdc];")
                w("ld.global.nc.u64 %tv, [%rdc+8];")
                w("fence.proxy.tensormap::generic.acquire.sys [%tk], 128;")
                w("fence.proxy.tensormap::generic.acquire.sys [%tv], 128;")
            w.lab(chunk)
        rows = "%tb" if self.short else BM
        w(f"mul.lo.u32 %r1, %mb, {rows};")                    # firstRow (a token)
        w(f"add.u32 %r2, %r1, {rows};")
        w("min.s32 %r2, %r2, %qcount;")
        w("sub.s32 %r2, %r2, 1;")                              # lastRow
        w("cvt.s64.s32 %rd0, %qpos0;")
        w("cvt.s64.s32 %rd1, %r1;")
        w("add.s64 %rd2, %rd0, %rd1;")                         # qFirst
        w("cvt.s64.s32 %rd1, %r2;")
        w("add.s64 %rd3, %rd0, %rd1;")                         # qLast
        w("cvt.s64.s32 %rd4, %dmax;")
        w("cvt.s64.s32 %rd5, %dmin;")
        w("cvt.s64.s32 %rd6, %kpos0;")
        w("sub.s64 %rd7, %rd2, %rd4;")
        w("sub.s64 %rd7, %rd7, %rd6;")
        w("max.s64 %rd7, %rd7, 0;")                            # jMin
        w("sub.s64 %rd8, %rd3, %rd5;")
        w("sub.s64 %rd8, %rd8, %rd6;")
        w("cvt.s64.s32 %rd9, %kcount;")
        w("sub.s64 %rd9, %rd9, 1;")
        w("min.s64 %rd8, %rd8, %rd9;")                         # jMax
        w("setp.gt.s64 %pe, %rd7, %rd8;")
        w("setp.lt.s32 %px, %r2, %r1;")
        w("or.pred %pe, %pe, %px;")                            # no visible key
        if self.BK & (self.BK - 1) == 0:
            w(f"shr.s64 %rd7, %rd7, {self.BK.bit_length() - 1};")
            w(f"shr.s64 %rd8, %rd8, {self.BK.bit_length() - 1};")
        else:
            w(f"div.s64 %rd7, %rd7, {self.BK};")
            w(f"div.s64 %rd8, %rd8, {self.BK};")                    # jMax < 0 only with %pe, which overrides it
        w("cvt.u32.u64 %nmin, %rd7;")
        w("cvt.u32.u64 %nmax, %rd8;")
        w("selp.b32 %nmin, 0, %nmin, %pe;")
        w("selp.b32 %nmax, -1, %nmax, %pe;")
        if not self.short:
            return
        # split %sp of %splits takes key tiles [nmin + sp·n / splits, nmin + (sp + 1)·n / splits) of the n in range
        # (a chunk: all of its own)
        whole = w.new_label("whole")
        w(f"@%pg bra {whole};")
        w("sub.s32 %r52, %nmax, %nmin;")
        w("add.s32 %r52, %r52, 1;")
        w("mul.lo.u32 %r53, %sp, %r52;")
        w("div.u32 %r53, %r53, %splits;")
        w("add.u32 %r54, %sp, 1;")
        w("mul.lo.u32 %r54, %r54, %r52;")
        w("div.u32 %r54, %r54, %splits;")
        w("add.u32 %r54, %nmin, %r54;")
        w("sub.u32 %nmax, %r54, 1;")
        w("add.u32 %nmin, %nmin, %r53;")
        w("setp.gt.s32 %px, %nmin, %nmax;")
        w("or.pred %pe, %pe, %px;")
        w.lab(whole)

    def barriers(self):
        """Every mbarrier initialised by thread 0; then the producer warpgroup goes its way, the consumers theirs."""
        w = self.w
        # barriers: fullQ, then per stage fullK, emptyK, fullV, emptyV, then emptyQ (consumers done with the Q tile)
        w("setp.eq.u32 %px, %xtid, 0;")
        w("@%px mbarrier.init.shared::cta.b64 [%bars], 1;")
        for s in range(STAGES):
            for i, count in enumerate((1, 8, 1, 8)):
                w(f"@%px mbarrier.init.shared::cta.b64 [%bars+{8 + 32 * s + 8 * i}], {count};")
        w(f"@%px mbarrier.init.shared::cta.b64 [%bars+{self.EMPTY_Q}], 8;")
        w("@%px fence.mbarrier_init.release.cluster;")
        w("bar.sync 0;")
        w("setp.ne.u32 %px, %wg, 0;")
        w("@%px bra L_CONSUMER;")

    def producer(self):
        """Warpgroup 0: one thread issues the TMA copies of each tile's Q and of its K/V tiles into the stages."""
        w = self.w
        w(f"setmaxnreg.dec.sync.aligned.u32 {PRODUCER_REGS};")
        w("setp.ne.u32 %px, %xtid, 0;")
        w("@%px bra L_DONE;")
        w("mov.u64 %tq, tq;")
        w("cvta.param.u64 %tq, %tq;")
        w("mov.u64 %tk, tk;")
        w("cvta.param.u64 %tk, %tk;")
        w("mov.u64 %tv, tv;")
        w("cvta.param.u64 %tv, %tv;")
        w("mov.u32 %stg, 0;")
        w("mov.u32 %ph, 0;")
        w("mov.u32 %qph, 0;")
        w("mov.u32 %tile, %ctaid.x;")
        w.lab("L_PTILE")
        w("setp.ge.u32 %px, %tile, %total;")
        w("@%px bra L_DONE;")
        self.tile_coords(producer=True)
        w("@%pe bra L_PNEXT;")
        w(f"add.u32 %r9, %bars, {self.EMPTY_Q};")
        w("xor.b32 %r8, %qph, 1;")
        w.wait("%r9", "%r8")                                       # the consumers are done with the previous Q
        w("xor.b32 %qph, %qph, 1;")
        w(f"mbarrier.arrive.expect_tx.shared::cta.b64 %state, [%bars], {self.QTILE};")
        if self.short:
            w("mad.lo.u32 %r3, %mb, %tb, %qrow;")
            w("shr.u32 %r56, %h, %ps;")                        # head group: Q's map is [rows][heads / pack][pack][dim]
            q = "4d", "%zero, %r56, %r3"
        else:
            w(f"mad.lo.u32 %r3, %mb, {BM}, %qrow;")
            q = "3d", "%h, %r3"
        for hh in range(self.H):
            w(f"mov.u32 %r{12 + hh}, {self.EPP * hh};")
        for hh in range(self.H):
            w(f"add.u32 %r4, %base, {hh * self.HALF_Q};")
            w(f"cp.async.bulk.tensor.{q[0]}.shared::cluster.global.mbarrier::complete_tx::bytes [%r4], [%tq, {{%r{12 + hh}, {q[1]}}}], [%bars];")
        w("mov.u32 %n, %nmax;")
        w.lab("L_PLOOP")
        w(f"mad.lo.u32 %r5, %stg, {self.STAGE}, %base;")
        w(f"add.u32 %r5, %r5, {self.QTILE};")                          # K of this stage; V follows at + KTILE
        w("shl.b32 %r6, %stg, 5;")
        w("add.u32 %r6, %r6, %bars;")                              # + 8: fullK, +16 emptyK, +24 fullV, +32 emptyV
        w(f"mad.lo.u32 %r7, %n, {self.BK}, %krow;")
        w("xor.b32 %r8, %ph, 1;")
        for tensor, full, empty, off in (("%tk", 8, 16, 0), ("%tv", 24, 32, self.KTILE)):
            w(f"add.u32 %r9, %r6, {empty};")
            w.wait("%r9", "%r8")
            w(f"add.u32 %r9, %r6, {full};")
            w(f"mbarrier.arrive.expect_tx.shared::cta.b64 %state, [%r9], {self.KTILE};")
            if self.fp8 and tensor == "%tv":
                # Vᵀ: one box of D rows x BK keys; key coordinates from the span's first key (the transposed copy starts there)
                w(f"mul.lo.u32 %r16, %n, {self.BK};")
                w(f"add.u32 %r10, %r5, {off};")
                w("cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%r10], [%tv, {%r16, %zero, %kvh}], [%r9];")
                continue
            for hh in range(self.H):
                w(f"add.u32 %r10, %r5, {off + hh * self.HALF_K};")
                w(f"cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%r10], [{tensor}, {{%r{12 + hh}, %kvh, %r7}}], [%r9];")
        w("add.u32 %stg, %stg, 1;")
        w(f"setp.eq.u32 %px, %stg, {STAGES};")
        w("selp.b32 %stg, 0, %stg, %px;")
        w("xor.b32 %r11, %ph, 1;")
        w("selp.b32 %ph, %r11, %ph, %px;")
        w("sub.u32 %n, %n, 1;")
        w("setp.ge.s32 %px, %n, %nmin;")
        w("@%px bra L_PLOOP;")
        w.lab("L_PNEXT")
        w("mov.u32 %r0, %nctaid.x;")
        w("add.u32 %tile, %tile, %r0;")
        w("bra L_PTILE;")

    def consumer(self):
        """Warpgroups 1 and 2: S, the online softmax and O += P·V per key tile, the GEMMs of neighbouring tiles overlapped."""
        w = self.w
        w.lab("L_CONSUMER")
        w(f"setmaxnreg.inc.sync.aligned.u32 {CONSUMER_REGS};")
        # r20 cw (0/1), r21 warp in wg, r22 lane, r23 g, r24 t
        w("sub.u32 %r20, %wg, 1;")
        w("shr.u32 %r21, %xtid, 5;")
        w("and.b32 %r21, %r21, 3;")
        w("and.b32 %r22, %xtid, 31;")
        w("shr.u32 %r23, %r22, 2;")
        w("and.b32 %r24, %r22, 3;")
        w("setp.eq.u32 %pl, %r22, 0;")                            # lane 0 arrives for its warp
        if self.short:
            # row R of e0/e1 (r57): cw·64 + warp·16 + g; its token offset R >> ps (r58); %qd8: the token of row R + 8
            # (e2/e3) less R's (8 unpacked)
            w("mul.lo.u32 %r57, %r20, 64;")
            w("mad.lo.u32 %r57, %r21, 16, %r57;")
            w("add.u32 %r57, %r57, %r23;")
            w("shr.u32 %r58, %r57, %ps;")
            w("add.u32 %qd8, %r57, 8;")
            w("shr.u32 %qd8, %qd8, %ps;")
            w("sub.u32 %qd8, %qd8, %r58;")
        if self.pingpong:
            # turns: consumer 0 waits on named barrier 1 and passes to 2, consumer 1 the other way round; each barrier
            # completes with 256 threads (the waiting warpgroup's sync and the other's arrive). Consumer 0 arrives on
            # its own barrier once here, so that it takes the first turn.
            w("add.u32 %myturn, %r20, 1;")
            w("xor.b32 %nextturn, %myturn, 3;")
            first = w.new_label("firstturn")
            w("setp.ne.u32 %px, %r20, 0;")
            w(f"@%px bra {first};")
            w("bar.arrive 1, 256;")
            w.lab(first)
        w("mov.u32 %stg, 0;")
        w("mov.u32 %ph, 0;")
        w("mov.u32 %qph, 0;")
        w("mov.u32 %tile, %ctaid.x;")
        w.lab("L_CTILE")
        w("setp.ge.u32 %px, %tile, %total;")
        w("@%px bra L_DONE;")
        self.tile_coords()
        if self.fp8:
            # this head's q·k descale folded into the softmax scale; its kv head's v descale, applied with 1/l
            w("mul.wide.u32 %rd9, %h, 4;")
            w("add.s64 %rd9, %pqkd, %rd9;")
            w("ld.global.nc.f32 %f6, [%rd9];")
            w("mul.f32 %c, %cb, %f6;")
            w("mul.wide.u32 %rd9, %kvh, 4;")
            w("add.s64 %rd9, %pvd, %rd9;")
            w("ld.global.nc.f32 %vd, [%rd9];")
        w("mov.f32 %m0, " + NEG_INF + ";")
        w("mov.f32 %m1, " + NEG_INF + ";")
        w("mov.f32 %l0, 0f00000000;")
        w("mov.f32 %l1, 0f00000000;")
        for i in range(self.NO * 4):
            w(f"mov.f32 %o{i}, 0f00000000;")
        w("@%pe bra L_EPILOGUE;")
        # Q descriptor of this warpgroup's 64 rows; rows of this thread: dr0 = qpos(row g) - kpos(key 2t of tile 0)
        qhi = desc_hi(16, 1024)
        w(f"mad.lo.u32 %r25, %r20, {64 * 128}, %base;")
        w("shr.u32 %r25, %r25, 4;")
        w("cvt.u64.u32 %rd10, %r25;")
        w(f"add.s64 %rd10, %rd10, {qhi};")                         # Q descriptor
        if self.short:
            w("mul.lo.u32 %r26, %mb, %tb;")
            w("add.u32 %r26, %r26, %qpos0;")
            w("add.u32 %r26, %r26, %r58;")
        else:
            w(f"mul.lo.u32 %r26, %mb, {BM};")
            w("add.u32 %r26, %r26, %qpos0;")
            w("mad.lo.u32 %r26, %r20, 64, %r26;")
            w("mad.lo.u32 %r26, %r21, 16, %r26;")
            w("add.u32 %r26, %r26, %r23;")
        w("sub.u32 %r26, %r26, %kpos0;")
        w("shl.b32 %r27, %r24, 1;")
        w("sub.u32 %r26, %r26, %r27;")                             # dr0 for tile 0
        w("sub.u32 %r28, %kcount, %r27;")                          # key limit minus 2t, for tile 0
        # 64-bit tile facts for TileNeedsMask: qFirst (rd2) and the tile's last row (qLast, rd3, when short)
        w("mov.b64 %rd11, %rd3;" if self.short else f"add.s64 %rd11, %rd2, {BM - 1};")
        w.wait("%bars", "%qph")
        w("xor.b32 %qph, %qph, 1;")
        w("mov.u32 %n, %nmax;")

        # first tile: S, softmax, P
        self.wait_k()
        self.take_turn()
        self.issue_s()
        self.pass_turn()
        w("wgmma.wait_group.sync.aligned 0;")
        self.arrive(16, "%stg")
        self.mask_and_softmax()
        self.rescale_and_pack()
        self.advance()
        w("sub.u32 %n, %n, 1;")
        w("setp.lt.s32 %px, %n, %nmin;")
        w("@%px bra L_LAST;")
        w.lab("L_CLOOP")
        self.wait_k()
        self.wait_v()
        self.take_turn()
        self.issue_s()                    # S of tile n (in flight)
        self.issue_pv(False)              # O += P·V of tile n + 1 (in flight)
        self.pass_turn()
        w("wgmma.wait_group.sync.aligned 1;")
        self.arrive(16, "%stg")           # K of tile n read
        self.mask_and_softmax()
        w("wgmma.wait_group.sync.aligned 0;")
        self.arrive(32, "%pstg")          # V of tile n + 1 read
        self.rescale_and_pack()
        self.advance()
        w("sub.u32 %n, %n, 1;")
        w("setp.ge.s32 %px, %n, %nmin;")
        w("@%px bra L_CLOOP;")
        w.lab("L_LAST")
        w(f"@%pl mbarrier.arrive.shared::cta.b64 %state, [%bars+{self.EMPTY_Q}];")   # every S GEMM of this tile is done
        self.wait_v()
        self.issue_pv(True)
        w("wgmma.wait_group.sync.aligned 0;")
        self.arrive(32, "%pstg")

    def take_turn(self):
        """Ping-pong: waits until the other consumer has issued its GEMMs (PINGPONG)."""
        if self.pingpong:
            self.w("bar.sync %myturn, 256;")

    def pass_turn(self):
        if self.pingpong:
            self.w("bar.arrive %nextturn, 256;")

    def stage_addrs(self):
        w = self.w
        w(f"mad.lo.u32 %r30, %stg, {self.STAGE}, %base;")
        w(f"add.u32 %r30, %r30, {self.QTILE};")                    # K tile of stage stg
        w("shl.b32 %r31, %stg, 5;")
        w("add.u32 %r31, %r31, %bars;")

    def wait_k(self):
        """Waits for the K tile of stage %stg; leaves its address in %r30."""
        w = self.w
        self.stage_addrs()
        w("add.u32 %r32, %r31, 8;")
        w.wait("%r32", "%ph")

    def wait_v(self):
        """Waits for the V tile of the previous tile's stage (%pstg, phase %pph); leaves its address in %r34."""
        w = self.w
        w(f"mad.lo.u32 %r34, %pstg, {self.STAGE}, %base;")
        w(f"add.u32 %r34, %r34, {self.QTILE + self.KTILE};")
        w("shl.b32 %r35, %pstg, 5;")
        w("add.u32 %r35, %r35, %bars;")
        w("add.u32 %r36, %r35, 24;")
        w.wait("%r36", "%pph")

    def issue_s(self):
        """S = Q·Kᵀ on the K tile at %r30 (issued, not waited for). The fence orders every register write before it
        (the P and O registers too) with the wgmmas after it."""
        w = self.w
        w("shr.u32 %r33, %r30, 4;")
        w("cvt.u64.u32 %rd12, %r33;")
        w(f"add.s64 %rd12, %rd12, {desc_hi(16, 1024)};")      # K descriptor
        w("wgmma.fence.sync.aligned;")
        regs = ",".join(f"%s{i}" for i in range(self.NS * 4))
        for kk in range(self.KS):
            half, off = kk // 4, 32 * (kk % 4)
            w(f"add.s64 %rd13, %rd10, {(half * self.HALF_Q + off) >> 4};")
            w(f"add.s64 %rd14, %rd12, {(half * self.HALF_K + off) >> 4};")
            scale = "%pf" if kk == 0 else "%pt"
            if self.fp8:
                w(f"wgmma.mma_async.sync.aligned.m64n{self.BK}k32.f32.e4m3.e4m3 {{{regs}}}, %rd13, %rd14, {scale}, 1, 1;")
            else:
                w(f"wgmma.mma_async.sync.aligned.m64n{self.BK}k16.f32.{self.ty}.{self.ty} {{{regs}}}, %rd13, %rd14, {scale}, 1, 1, 0, 0;")
        w("wgmma.commit_group.sync.aligned;")

    def issue_pv(self, fence):
        """O += P·V on the V tile at %r34 (issued, not waited for)."""
        w = self.w
        w("shr.u32 %r37, %r34, 4;")
        w("cvt.u64.u32 %rd15, %r37;")
        if self.fp8:
            w(f"add.s64 %rd15, %rd15, {desc_hi(16, 1024)};")  # Vᵀ descriptor: K-major, like K's
        else:
            w(f"add.s64 %rd15, %rd15, {desc_hi(self.HALF_K, 1024)};")  # V descriptor: 64-column halves HALF_K apart
        if fence:
            w("wgmma.fence.sync.aligned;")
        regs = ",".join(f"%o{i}" for i in range(self.NO * 4))
        for kk in range(self.PS):
            a = ",".join(f"%pa{4 * kk + e}" for e in range(4))
            if self.fp8:
                w(f"add.s64 %rd16, %rd15, {(kk * 32) >> 4};")
                w(f"wgmma.mma_async.sync.aligned.m64n{self.D}k32.f32.e4m3.e4m3 {{{regs}}}, {{{a}}}, %rd16, %pt, 1, 1;")
            else:
                w(f"add.s64 %rd16, %rd15, {(kk * 16 * 128) >> 4};")
                w(f"wgmma.mma_async.sync.aligned.m64n{self.D}k16.f32.{self.ty}.{self.ty} {{{regs}}}, {{{a}}}, %rd16, %pt, 1, 1, 1;")
        w("wgmma.commit_group.sync.aligned;")

    def arrive(self, bar_off, stage_reg):
        w = self.w
        w(f"shl.b32 %r38, {stage_reg}, 5;")
        w("add.u32 %r38, %r38, %bars;")
        w(f"@%pl mbarrier.arrive.shared::cta.b64 %state, [%r38+{bar_off}];")

    def tmp(self):
        """A fresh float temporary for reductions (the 190 above %f7 in turn)."""
        self._tmps += 1
        return f"%f{self._tmps % 190 + 8}"

    def mask_and_softmax(self):
        """Mask tile %n where needed, then the online softmax: new maxima, P = exp2(S·c − m·c) in place, row sums;
        alpha (%al0/%al1) rescales O and l once P·V of the previous tile is done."""
        w = self.w
        # TileNeedsMask in 64 bits
        skip = w.new_label("nomask")
        w(f"mul.wide.s32 %rd17, %n, {self.BK};")                   # k0
        w(f"add.s64 %rd18, %rd17, {self.BK};")
        w("cvt.s64.s32 %rd19, %kcount;")
        w("setp.gt.s64 %pm, %rd18, %rd19;")
        w("add.s64 %rd20, %rd6, %rd17;")                       # kFirst
        w(f"add.s64 %rd21, %rd20, {self.BK - 1};")                  # kLast
        w("sub.s64 %rd22, %rd2, %rd21;")
        w("setp.lt.or.s64 %pm, %rd22, %rd5, %pm;")
        w("sub.s64 %rd22, %rd11, %rd20;")
        w("setp.gt.or.s64 %pm, %rd22, %rd4, %pm;")
        w(f"@!%pm bra {skip};")
        w(f"mul.lo.u32 %r40, %n, {self.BK};")
        w("sub.u32 %r41, %r26, %r40;")                         # dr0 of this tile (row R)
        if self.short:
            w("add.u32 %r49, %r41, %qd8;")                     # row R + 8
        w("sub.u32 %r42, %r28, %r40;")                         # key limit - 2t of this tile
        for j in range(self.NS):
            for e in range(4):
                half, col = e >> 1, e & 1
                reg = f"%s{4 * j + e}"
                if self.short:
                    w(f"add.s32 %r43, {'%r49' if half else '%r41'}, {-8 * j - col};")
                else:
                    w(f"add.s32 %r43, %r41, {8 * half - 8 * j - col};")
                w("setp.ge.s32 %pq, %r43, %dmin;")
                w("setp.le.and.s32 %pq, %r43, %dmax, %pq;")
                w(f"setp.gt.and.s32 %pq, %r42, {8 * j + col}, %pq;")
                w(f"selp.f32 {reg}, {reg}, {NEG_INF}, %pq;")
        w.lab(skip)
        for r in range(2):
            e0, e1 = 2 * r, 2 * r + 1
            terms = [f"%s{4 * j + e}" for j in range(self.NS) for e in (e0, e1)]
            mx = tree(w, "max", "f32", terms, self.tmp)
            w(f"shfl.sync.bfly.b32 %f0, {mx}, 1, 31, -1;")
            w(f"max.f32 %f1, {mx}, %f0;")
            w("shfl.sync.bfly.b32 %f0, %f1, 2, 31, -1;")
            w("max.f32 %f1, %f1, %f0;")
            w(f"max.f32 %f2, %m{r}, %f1;")                     # new max
            w("mul.f32 %f3, %f2, %c;")
            w(f"setp.eq.f32 %pq, %f2, {NEG_INF};")
            w("selp.f32 %f3, 0f00000000, %f3, %pq;")           # ms
            w(f"mul.f32 %f4, %m{r}, %c;")
            w("sub.f32 %f4, %f4, %f3;")
            w(f"ex2.approx.ftz.f32 %al{r}, %f4;")
            w(f"mov.f32 %m{r}, %f2;")
            w("neg.f32 %f5, %f3;")
            if self.fp8:
                w(f"add.f32 %f5, %f5, {FP8_P_SHIFT};")          # P in [0, 256] (see FP8_P_SHIFT)
            for x in terms:
                w(f"fma.rn.f32 {x}, {x}, %c, %f5;")
                w(f"ex2.approx.ftz.f32 {x}, {x};")
            rs = tree(w, "add", "f32", terms, self.tmp)
            w(f"fma.rn.f32 %l{r}, %l{r}, %al{r}, {rs};")

    def rescale_and_pack(self):
        w = self.w
        for j in range(self.NO):
            for e in range(4):
                w(f"mul.f32 %o{4 * j + e}, %o{4 * j + e}, %al{e >> 1};")
        if self.fp8:
            # register e of k-step kk: row g (e even) or g + 8 (e odd), keys 2t, 2t+1, 8+2t, 9+2t of n8 blocks
            # 4kk + 2(e >> 1) and the next, lowest byte first (cvt packs its first source into the upper byte)
            for kk in range(self.PS):
                for e in range(4):
                    j, r = 4 * kk + 2 * (e >> 1), 2 * (e & 1)
                    w(f"cvt.rn.satfinite.e4m3x2.f32 %pk0, %s{4 * j + r + 1}, %s{4 * j + r};")
                    w(f"cvt.rn.satfinite.e4m3x2.f32 %pk1, %s{4 * (j + 1) + r + 1}, %s{4 * (j + 1) + r};")
                    w(f"mov.b32 %pa{4 * kk + e}, {{%pk0, %pk1}};")
            return
        cvt = "cvt.rn.bf16x2.f32" if self.dt == "bf16" else "cvt.rn.f16x2.f32"
        for kk in range(self.PS):
            a, b = 2 * kk, 2 * kk + 1
            # cvt packs its first source into the upper half: (hi, lo)
            w(f"{cvt} %pa{4 * kk + 0}, %s{4 * a + 1}, %s{4 * a + 0};")
            w(f"{cvt} %pa{4 * kk + 1}, %s{4 * a + 3}, %s{4 * a + 2};")
            w(f"{cvt} %pa{4 * kk + 2}, %s{4 * b + 1}, %s{4 * b + 0};")
            w(f"{cvt} %pa{4 * kk + 3}, %s{4 * b + 3}, %s{4 * b + 2};")

    def advance(self):
        w = self.w
        w("mov.u32 %pstg, %stg;")
        w("mov.u32 %pph, %ph;")
        w("add.u32 %stg, %stg, 1;")
        w(f"setp.eq.u32 %px, %stg, {STAGES};")
        w("selp.b32 %stg, 0, %stg, %px;")
        w("xor.b32 %r39, %ph, 1;")
        w("selp.b32 %ph, %r39, %ph, %px;")

    def epilogue(self):
        """Row sums across the quad, the merge weights of FlashTiles.Weights, O and LSE stored (merged or written)."""
        w = self.w
        # FlashTiles.Weights / Store
        w.lab("L_EPILOGUE")
        for r in range(2):
            w(f"shfl.sync.bfly.b32 %f0, %l{r}, 1, 31, -1;")
            w(f"add.f32 %l{r}, %l{r}, %f0;")
            w(f"shfl.sync.bfly.b32 %f0, %l{r}, 2, 31, -1;")
            w(f"add.f32 %l{r}, %l{r}, %f0;")
        # token(r) and head(r): the registers of row R + 8r's token within the span and its head
        if self.short:
            w("mul.lo.u32 %r44, %mb, %tb;")                        # the tile's first token
            w("sub.u32 %r45, %pack, 1;")
            for r in range(2):
                # row R + 8r: token r54+r, head r52+r; with split keys, index r60+r of DecodeKernel.PartialIndex
                w(f"add.u32 %r46, %r57, {8 * r};")
                w(f"shr.u32 %r{54 + r}, %r46, %ps;")
                w(f"add.u32 %r{54 + r}, %r{54 + r}, %r44;")
                w(f"and.b32 %r{52 + r}, %r46, %r45;")
                w(f"add.u32 %r{52 + r}, %r{52 + r}, %h;")
                w("mad.lo.u32 %r46, %sp, %kvheads, %kvh;")
                w(f"mad.lo.u32 %r46, %r46, %qcount, %r{54 + r};")
                w("mul.lo.u32 %r47, %kvh, %group;")
                w(f"sub.u32 %r47, %r{52 + r}, %r47;")
                w(f"mad.lo.u32 %r{60 + r}, %r46, %group, %r47;")

            def token(r):
                return f"%r{54 + r}"

            def head(r):
                return f"%r{52 + r}"
        else:
            w(f"mul.lo.u32 %r44, %mb, {BM};")
            w("mad.lo.u32 %r44, %r20, 64, %r44;")
            w("mad.lo.u32 %r44, %r21, 16, %r44;")
            w("add.u32 %r44, %r44, %r23;")                         # row of e0/e1; + 8 for e2/e3

            def token(r):
                w(f"add.u32 %r45, %r44, {8 * r};")
                return "%r45"

            def head(r):
                return "%h"
        for r in range(2):
            # old LSE (read by the whole quad before lane t = 0 writes it)
            t = token(r)
            w(f"mov.f32 %f{10 + r}, {NEG_INF};")
            w(f"setp.lt.s32 %pq, {t}, %qcount;")
            w("setp.ne.and.u32 %pq, %merge, 0, %pq;")
            w(f"mad.lo.u32 %r46, {head(r)}, %lsestride, %qrow;")
            w(f"add.u32 %r46, %r46, {t};")
            if self.short:
                w(f"selp.b32 %r46, %r{60 + r}, %r46, %pp;")
            w("mul.wide.u32 %rd23, %r46, 4;")
            w(f"add.s64 %rd{24 + r}, %plse, %rd23;")
            w(f"@%pq ld.global.f32 %f{10 + r}, [%rd{24 + r}];")
        w("bar.warp.sync -1;")
        for r in range(2):
            done = w.new_label("rowdone")
            t = token(r)
            w(f"setp.ge.s32 %pq, {t}, %qcount;")
            w(f"@%pq bra {done};")
            # f12 wa, f13 wb, f14 lseOut; r47 mode
            empty = w.new_label("empty")
            weights = w.new_label("weights")
            w(f"setp.gt.f32 %pq, %l{r}, 0f00000000;")
            w(f"@!%pq bra {empty};")
            w(f"rcp.rn.f32 %f15, %l{r};")                          # 1/l
            if self.fp8:
                w("mul.f32 %f15, %f15, %vd;")                      # the v descale with it (only O is scaled)
            w(f"lg2.approx.ftz.f32 %f16, %l{r};")
            w(f"fma.rn.f32 %f16, %m{r}, %c, %f16;")
            if self.fp8:
                w(f"sub.f32 %f16, %f16, {FP8_P_SHIFT};")             # l summed P times 2^8
            w(f"mul.f32 %f16, %f16, {LN2};")                       # lseNew
            w("setp.ne.u32 %pq, %merge, 0;")
            w("mov.f32 %f12, 0f00000000;")
            w("mov.f32 %f13, %f15;")
            w("mov.f32 %f14, %f16;")
            w("mov.u32 %r47, 2;")
            w(f"@!%pq bra {weights};")
            w("mov.u32 %r47, 1;")
            w(f"setp.eq.f32 %pq, %f{10 + r}, {NEG_INF};")           # old side empty: take the new one whole
            w(f"@%pq bra {weights};")
            w(f"max.f32 %f17, %f{10 + r}, %f16;")
            w(f"sub.f32 %f18, %f{10 + r}, %f17;")
            w(f"mul.f32 %f18, %f18, {LOG2E};")
            w("ex2.approx.ftz.f32 %f18, %f18;")
            w("sub.f32 %f19, %f16, %f17;")
            w(f"mul.f32 %f19, %f19, {LOG2E};")
            w("ex2.approx.ftz.f32 %f19, %f19;")
            w("add.f32 %f20, %f18, %f19;")
            w("div.rn.f32 %f12, %f18, %f20;")
            w("div.rn.f32 %f21, %f19, %f20;")
            w("mul.f32 %f13, %f21, %f15;")
            w("lg2.approx.ftz.f32 %f22, %f20;")
            w(f"fma.rn.f32 %f14, %f22, {LN2}, %f17;")
            w(f"bra {weights};")
            w.lab(empty)
            w("mov.f32 %f12, 0f00000000;")
            w("mov.f32 %f13, 0f00000000;")
            w(f"mov.f32 %f14, {NEG_INF};")
            w("setp.ne.u32 %pq, %merge, 0;")
            w("selp.b32 %r47, 0, 2, %pq;")
            w.lab(weights)
            w("setp.eq.u32 %pq, %r47, 0;")
            w(f"@%pq bra {done};")
            # o index ((qrow + token) * heads + head) * D + 2t, or the partial's index * D + 2t
            w(f"add.u32 %r48, %qrow, {t};")
            w(f"mad.lo.u32 %r48, %r48, %heads, {head(r)};")
            if self.short:
                w(f"selp.b32 %r48, %r{60 + r}, %r48, %pp;")
            w("cvt.u64.u32 %rd26, %r48;")
            w(f"mul.lo.u64 %rd26, %rd26, {self.D * 4};")
            w("mul.wide.u32 %rd27, %r24, 8;")
            w("add.s64 %rd26, %rd26, %rd27;")
            w("add.s64 %rd26, %po, %rd26;")
            over = w.new_label("overwrite")
            stored = w.new_label("stored")
            w("setp.eq.u32 %pq, %r47, 2;")
            w(f"@%pq bra {over};")
            for j in range(self.NO):
                x0, x1 = f"%o{4 * j + 2 * r}", f"%o{4 * j + 2 * r + 1}"
                w(f"ld.global.v2.f32 {{%f23, %f24}}, [%rd26+{32 * j}];")
                w(f"mul.f32 %f25, %f13, {x0};")
                w("fma.rn.f32 %f23, %f12, %f23, %f25;")
                w(f"mul.f32 %f26, %f13, {x1};")
                w("fma.rn.f32 %f24, %f12, %f24, %f26;")
                w(f"st.global.v2.f32 [%rd26+{32 * j}], {{%f23, %f24}};")
            w(f"bra {stored};")
            w.lab(over)
            for j in range(self.NO):
                x0, x1 = f"%o{4 * j + 2 * r}", f"%o{4 * j + 2 * r + 1}"
                w(f"mul.f32 %f23, %f13, {x0};")
                w(f"mul.f32 %f24, %f13, {x1};")
                w(f"st.global.v2.f32 [%rd26+{32 * j}], {{%f23, %f24}};")
            w.lab(stored)
            w("setp.eq.u32 %pq, %r24, 0;")
            w(f"@%pq st.global.f32 [%rd{24 + r}], %f14;")
            w.lab(done)
        w("mov.u32 %r0, %nctaid.x;")
        w("add.u32 %tile, %tile, %r0;")
        w("bra L_CTILE;")
        w.lab("L_DONE")
        w("ret;")
        self.out.append("}")



HEADER = "// <auto-generated> by Generator/gen_hopper.py; edit the generator, not this file. </auto-generated>\n"


def module(dt, d, short=False):
    body, smem = Kernel(dt, d, short).text()
    # 8.3: the short kernels' tensor-map fence (fence.proxy.tensormap); the others as first written
    return (HEADER + (".version 8.3\n" if short else ".version 8.0\n") + ".target sm_90a\n.address_size 64\n\n"
            ".extern .shared .align 1024 .b8 smem[];\n\n" + body + "\n"), smem


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else ".."
    os.makedirs(os.path.join(out, "Hopper"), exist_ok=True)
    rows = []
    for dt, d, short in KERNELS:
        text, smem = module(dt, d, short)
        write(os.path.join(out, "Hopper", f"{name(dt, d, short)}.g.ptx"), text)
        rows.append(f"        new(ElementType.{ {'e4m3': 'F8E4M3'}.get(dt, dt.upper()) }, Dim: {d}, Threads: 384, BlockRows: {BM}, BlockKeys: {keys(d, dt)}, Stages: {STAGES}, "
                    f"SharedBytes: {smem}, Entry: \"{name(dt, d, short)}\"" + (", Short: true" if short else "") + "),")
    write(os.path.join(out, "WarpSpecializedVariants.g.cs"), HEADER.replace("//", "//", 1) +
          "using RingAttention.Tensors;\n\nnamespace RingAttention.Kernels.Gpu;\n\n"
          "/// <summary>Every generated warp-specialized Hopper kernel (Hopper/*.g.ptx) and its launch facts, from the generator.</summary>\n"
          "internal static class WarpSpecializedVariants\n{\n    public static readonly WarpSpecializedVariant[] All =\n    [\n" +
          "\n".join(rows) + "\n    ];\n}\n")


if __name__ == "__main__":
    main()
