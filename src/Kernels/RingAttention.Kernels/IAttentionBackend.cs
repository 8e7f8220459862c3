using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels;

/// <summary>
/// One compute device's blockwise attention, as handles in the device's own memory: the ring allocates q, a running
/// O/LSE and K/V blocks once, fills them, accumulates, and downloads only what must leave. The CPU backend implements
/// the same contract over host memory (its handles expose <see cref="DeviceHandle.HostMemory"/>), so there is one ring
/// loop, one block kind and one transfer path for every backend (ADR 12). Grains know kernels only through this.
/// Handles are owned by the caller, who disposes each exactly when it is consumed; a disposed handle's memory goes
/// back to the backend (a GPU pools it for the next handle of the same size, so a steady ring allocates nothing).
/// Calls are not thread-safe with respect to each other, with one exception: the copy lane (<see cref="AllocateRows"/>,
/// <see cref="AllocateKeyValues"/>, <see cref="CopyToDevice"/>, <see cref="CopyFromDevice"/>, <see cref="TryCopyFromPeer"/>) may run on another thread
/// beside <see cref="Accumulate"/> (a GPU copies on its own stream), one copy-lane call at a time, on handles the
/// kernel does not write.
/// </summary>
public interface IAttentionBackend : IDisposable
{
    /// <summary>Short name for logs and progress ("cpu", "cuda:0").</summary>
    string Name { get; }

    /// <summary>Memory of an accelerator, for admission; null when the backend's memory is the host's (the CPU).</summary>
    long? MemoryBytes { get; }

    /// <summary>Bytes held by live handles (not counting a pool).</summary>
    long ResidentBytes { get; }

    /// <summary>
    /// Memory for query rows whose bytes arrive later through <see cref="CopyToDevice"/>, a chunk at a time: a shard's q
    /// streams from its file to the device without ever being whole on the host (1M tokens of q in bf16 with 32 heads
    /// is 8 GiB, beyond one .NET array).
    /// </summary>
    DeviceRows AllocateRows(ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans);

    /// <summary>Memory for a K/V block (K then V) whose bytes arrive later through <see cref="CopyToDevice"/>.</summary>
    DeviceKeyValues AllocateKeyValues(ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans);

    /// <summary>A running result in the "no key seen" state (output 0, lse -inf).</summary>
    DeviceAccumulator CreateAccumulator(int rows, int heads, int headDim);

    /// <summary><paramref name="count"/> accumulators of <see cref="CreateAccumulator"/> at once (a device turn's shards:
    /// a GPU backend waits for their initialisation once rather than once each).</summary>
    IReadOnlyList<DeviceAccumulator> CreateAccumulators(int count, int rows, int heads, int headDim)
    {
        var created = new List<DeviceAccumulator>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                created.Add(CreateAccumulator(rows, heads, headDim));
            }

            return created;
        }
        catch
        {
            created.ForEach(a => a.Dispose());
            throw;
        }
    }

    /// <summary>Copies <paramref name="source"/> into a handle's data at byte <paramref name="byteOffset"/> (see each handle's byte layout).</summary>
    void CopyToDevice(DeviceHandle target, long byteOffset, ReadOnlySpan<byte> source);

    /// <summary>Copies a handle's data from byte <paramref name="byteOffset"/> to the host.</summary>
    void CopyFromDevice(DeviceHandle source, long byteOffset, Span<byte> destination);

    /// <summary>
    /// Copies all of <paramref name="source"/>'s data, a handle of another backend of this process (another device),
    /// into <paramref name="target"/> without passing through this process's staging buffers: device to device (NVLink
    /// or PCIe peer access) on this backend's copy stream, or straight from host memory. False when this backend cannot
    /// reach the source's memory; the caller then stages it through the host. Copy lane.
    /// </summary>
    bool TryCopyFromPeer(DeviceHandle target, DeviceHandle source);

    /// <summary>
    /// A token another process of this host can open to read <paramref name="handle"/>'s memory directly (CUDA IPC),
    /// or null when this backend cannot share memory between processes. The memory must stay allocated until the
    /// importer has copied it.
    /// </summary>
    byte[]? ExportForProcess(DeviceHandle handle);

    /// <summary>
    /// Copies the first <paramref name="bytes"/> of memory another process exported (<see cref="ExportForProcess"/>)
    /// into <paramref name="target"/>, device to device; false when it cannot be opened here (another host, another
    /// kind of device, the same process): the caller then fetches it over the data plane. Copy lane.
    /// </summary>
    bool TryCopyFromProcess(DeviceHandle target, byte[] exported, long bytes);

    /// <summary>
    /// Registers a pinned host array (allocated with <c>GC.AllocateArray(length, pinned: true)</c>) with the device so
    /// that copies to and from it run as direct DMA instead of through the driver's bounce buffer; dispose to unregister
    /// (before the array goes). A no-op for the host backend.
    /// </summary>
    IDisposable PageLock<T>(T[] pinnedArray)
        where T : unmanaged;

    /// <summary>
    /// Attention of <paramref name="queries"/> against <paramref name="keyValues"/>, masked by GLOBAL positions
    /// (spec.Mask), merged into <paramref name="accumulator"/> with the stable log-sum-exp merge (<see cref="SoftmaxMerge"/>).
    /// Uses spec's heads, kvHeads, headDim, mask and scale; spec.Tokens is the whole sequence and is not needed. The
    /// caller validated the spec once (<see cref="AttentionSpec.Validate"/>); this checks only that the operands fit it
    /// (<see cref="OperandCheck"/>). Fully masked tiles cost nothing. Accumulates in float32 whatever the storage type.
    /// </summary>
    void Accumulate(AttentionSpec spec, DeviceRows queries, DeviceKeyValues keyValues, DeviceAccumulator accumulator, CancellationToken cancellationToken = default);

    /// <summary>
    /// A K/V block of FP8 (e4m3) codes to bfloat16 in <paramref name="target"/> (the same heads, head dim and spans):
    /// kv head h's keys times <c>scales.Keys[h]</c>, its values times <c>scales.Values[h]</c>, each product rounded once
    /// to nearest even (<see cref="Fp8Descale.Dequantise"/>'s arithmetic: the bits dequantising on load would give).
    /// The ring's step for blocks kept in FP8 (<see cref="AttentionSpec.KeyValueScales"/>); compute lane.
    /// </summary>
    void DequantiseFp8(DeviceKeyValues codes, DeviceKeyValues target, Fp8KeyValueScales scales);

    /// <summary>
    /// <see cref="Accumulate"/> over several blocks in one call, in order (a session shard's pages). A backend may treat
    /// them as one launch (the GPU's split-K decode walks every page's rows in one kernel); by default, one after another.
    /// </summary>
    void AccumulateEach(AttentionSpec spec, DeviceRows queries, IReadOnlyList<DeviceKeyValues> blocks, DeviceAccumulator accumulator, CancellationToken cancellationToken = default)
    {
        foreach (var block in blocks)
        {
            if (block.Rows > 0)
            {
                Accumulate(spec, queries, block, accumulator, cancellationToken);
            }
        }
    }

    /// <summary>
    /// <see cref="AccumulateEach"/> of the same queries for several shards at once, shard i's blocks into accumulator i
    /// (session shards that share a device: ADR 21). A backend may share launches between them (the GPU's split-K decode
    /// runs every shard's chunks in one launch); each accumulator ends as it would after its own AccumulateEach, bit for
    /// bit. By default, one shard after another.
    /// </summary>
    void AccumulateShards(AttentionSpec spec, DeviceRows queries, IReadOnlyList<IReadOnlyList<DeviceKeyValues>> shards, IReadOnlyList<DeviceAccumulator> accumulators, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(shards);
        ArgumentNullException.ThrowIfNull(accumulators);
        if (shards.Count != accumulators.Count)
        {
            throw new ArgumentException($"{shards.Count} shards but {accumulators.Count} accumulators", nameof(accumulators));
        }

        for (int i = 0; i < shards.Count; i++)
        {
            AccumulateEach(spec, queries, shards[i], accumulators[i], cancellationToken);
        }
    }

    /// <summary>
    /// Merges each pair's source (o, lse) into its target by LSE, pairs in order (<see cref="SoftmaxMerge.MergeInto(PartialResult, PartialResult)"/>'s
    /// rule, the target the first side): session shards that share a device fold their partials there along the
    /// session's merge tree, and one result leaves the device instead of one per shard (ADR 27). Same rows, heads and
    /// head dim on both sides. Compute lane.
    /// </summary>
    void MergeAccumulators(IReadOnlyList<(DeviceAccumulator Target, DeviceAccumulator Source)> merges);

    /// <summary>
    /// Linear attention (<see cref="LinearAttentionSpec"/>), step 1: the state of each span of <paramref name="keyValues"/>
    /// (in the handle's span order) over that span's keys alone: what a shard gives the others.
    /// </summary>
    IReadOnlyList<Linear.LinearState> LinearSpanStates(LinearAttentionSpec spec, DeviceKeyValues keyValues, CancellationToken cancellationToken = default);

    /// <summary>
    /// Linear attention, step 2: o of <paramref name="queries"/> (the same spans as <paramref name="keyValues"/>) into the
    /// output part of <paramref name="output"/> (its lse is left as is). Span j starts from <paramref name="incoming"/>[j]:
    /// causal, the state of every token before the span; not causal, the whole sequence's.
    /// </summary>
    void LinearOutput(LinearAttentionSpec spec, DeviceRows queries, DeviceKeyValues keyValues, IReadOnlyList<Linear.LinearState> incoming,
        DeviceAccumulator output, CancellationToken cancellationToken = default);
}
