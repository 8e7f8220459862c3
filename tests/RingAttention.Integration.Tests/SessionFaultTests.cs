using RingAttention.Client;
using RingAttention.Contracts.Sessions;
using RingAttention.Tensors;
using Xunit.Abstractions;

namespace RingAttention.Integration.Tests;

/// <summary>
/// A session on three silo processes (Redis membership, probe timeout 1 s): a silo that holds shards of the session
/// (not the session grain's) is killed with SIGKILL between appends. The next appends and attend go on (the shard calls
/// are retried; the lost shards re-activate on the silos left and reload their pages from the segments), and the
/// attend is bitwise the one of a session built without a fault.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class SessionFaultTests(HarnessFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task ShardSiloKilledBetweenAppends_NextAttendBitwiseEqualToTheFaultFreeSession()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        int[] sizes = [600, 1, 90, 300, 7, 200];
        string whole = Inputs.Write(fixture.PathFor("session-drill.safetensors"), sizes.Sum() + 2, 4, 2, 64, ElementType.BF16, seed: 23);
        var parts = Split(whole, sizes);
        byte[] queries = QueryRows(whole, sizes.Sum(), 2);
        var spec = new SessionSpec { Heads = 4, Shards = 6, Causal = true, PageTokens = 64 };
        string id = $"drill-{Guid.NewGuid():N}"[..16], cleanId = $"clean-{Guid.NewGuid():N}"[..16];

        var (session, _) = await fixture.Client.CreateSessionAsync(id, spec with { InputPath = parts[0] });
        await session.AppendAsync(new SessionRows { InputPath = parts[1] });
        await session.AppendAsync(new SessionRows { InputPath = parts[2] });
        var before = await session.StatsAsync();
        int sessionSilo = Index(before.Silo);
        int victim = before.ShardStats.Select(s => Index(s.Silo)).First(i => i != sessionSilo);
        output.WriteLine($"session grain on silo {sessionSilo}; killing silo {victim}, which holds shards " +
            string.Join(",", before.ShardStats.Where(s => Index(s.Silo) == victim).Select(s => s.Index)));
        await fixture.Cluster.KillAsync(victim);
        try
        {
            foreach (string part in parts.Skip(3))
            {
                await session.AppendAsync(new SessionRows { InputPath = part });
            }

            var afterLoss = await session.AttendAsync(ElementType.BF16, 2, queries);
            var after = await session.StatsAsync();
            Assert.DoesNotContain(after.ShardStats, s => Index(s.Silo) == victim);
            Assert.Equal(sizes.Sum(), after.Tokens);

            var (clean, _) = await fixture.Client.CreateSessionAsync(cleanId, spec with { InputPath = parts[0] });
            foreach (string part in parts.Skip(1))
            {
                await clean.AppendAsync(new SessionRows { InputPath = part });
            }

            var faultFree = await clean.AttendAsync(ElementType.BF16, 2, queries);
            Assert.Equal(faultFree.Output, afterLoss.Output);
            Assert.Equal(faultFree.Lse, afterLoss.Lse);
            await clean.DropAsync();
            await session.DropAsync();
        }
        finally
        {
            await fixture.Cluster.RestartAsync(victim);
            await fixture.Cluster.WaitAllReadyAsync(HarnessFixture.Silos, TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>Silo index from a parsable silo address ("127.0.0.1:PORT@GENERATION").</summary>
    private int Index(string silo) => fixture.Cluster.IndexOf("S" + silo.Split('@')[0] + ":0");

    private List<string> Split(string whole, int[] sizes)
    {
        using var file = SafetensorsFile.Open(whole);
        var paths = new List<string>();
        int first = 0;
        foreach (int size in sizes)
        {
            string path = fixture.PathFor($"session-drill-part-{paths.Count}.safetensors");
            var tensors = new List<(string, ElementType, long[], ReadOnlyMemory<byte>)>();
            foreach (string name in new[] { "k", "v" })
            {
                var info = file.GetTensor(name);
                byte[] rows = new byte[size * info.RowBytes];
                file.ReadRows(name, first, size, rows);
                tensors.Add((name, info.Type, [size, info.Shape[1], info.Shape[2]], rows));
            }

            SafetensorsFile.Write(path, tensors);
            paths.Add(path);
            first += size;
        }

        return paths;
    }

    private static byte[] QueryRows(string whole, int first, int n)
    {
        using var file = SafetensorsFile.Open(whole);
        byte[] rows = new byte[n * file.GetTensor("q").RowBytes];
        file.ReadRows("q", first, n, rows);
        return rows;
    }
}
