using System.Text.RegularExpressions;

namespace RingAttention.Integration.Tests;

/// <summary>Operators read silo logs after the fact: every entry has a timestamp, and a restart keeps the old log.</summary>
[Collection(HarnessCollection.Name)]
public sealed partial class SiloLogTests(HarnessFixture fixture)
{
    [SkippableFact]
    public async Task Restart_KeepsThePreviousLog_AndEveryEntryIsTimestamped()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        const int silo = 2;
        string log = Path.Combine(fixture.Cluster.StateDirectory, $"silo-{silo}.log");
        string before = await File.ReadAllTextAsync(log);

        await fixture.Cluster.RestartAsync(silo);

        string rotated = await File.ReadAllTextAsync(log + ".1");
        Assert.StartsWith(before, rotated, StringComparison.Ordinal);
        // Entries are one line each (SimpleConsole single-line); the only other lines are exception stacks, which
        // start with whitespace.
        var entries = (await File.ReadAllLinesAsync(log)).Concat(rotated.Split('\n')).Where(l => l.Length > 0 && !char.IsWhiteSpace(l[0])).ToList();
        Assert.NotEmpty(entries);
        Assert.All(entries, line => Assert.Matches(Timestamp(), line));
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z ")]
    private static partial Regex Timestamp();
}
