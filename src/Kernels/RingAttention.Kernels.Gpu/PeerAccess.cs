namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Enables direct access between the devices of one silo (NVLink or PCIe peer-to-peer), so that a K/V block handed
/// from a shard on one device to a shard on another is copied device to device; pairs that cannot reach each other
/// are left out and their hand-offs are staged through host memory.
/// </summary>
internal static class PeerAccess
{
    /// <returns>Ordered pairs (a can read b's memory) that have peer access now.</returns>
    public static int EnableAll(IReadOnlyList<IlgpuAttentionBackend> backends)
    {
        int pairs = 0;
        for (int a = 0; a < backends.Count; a++)
        {
            for (int b = a + 1; b < backends.Count; b++)
            {
                var first = backends[a].Accelerator;
                var second = backends[b].Accelerator;
                if (first.CanAccessPeer(second) && second.CanAccessPeer(first) && first.EnableBidirectionalPeerAccess(second))
                {
                    pairs += 2;
                }
            }
        }

        return pairs;
    }
}
