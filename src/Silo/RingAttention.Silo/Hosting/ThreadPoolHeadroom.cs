namespace RingAttention.Silo.Hosting;

/// <summary>
/// The CPU backend keeps every core busy with Parallel.For on thread-pool threads for seconds at a time. The pool
/// adds threads only about once a second when it sees starvation, so Orleans' own work (messages, membership probes)
/// queued behind kernels stalled for 1-2 s on a 2-core machine and the silo reported itself degraded. A higher
/// minimum lets the pool hand Orleans a thread at once while kernels run.
/// </summary>
public static class ThreadPoolHeadroom
{
    public static void Ensure()
    {
        ThreadPool.GetMinThreads(out int workers, out int io);
        int wanted = (Environment.ProcessorCount * 4) + 8;
        if (workers < wanted)
        {
            ThreadPool.SetMinThreads(wanted, io);
        }
    }
}
