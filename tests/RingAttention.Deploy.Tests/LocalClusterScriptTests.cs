namespace RingAttention.Deploy.Tests;

/// <summary>scripts/local-cluster.sh start --gpus: one silo per GPU, and a plain refusal where there is none.</summary>
public sealed class LocalClusterScriptTests
{
    [SkippableFact]
    public void StartGpus_NoGpu_RefusedBeforeStartingAnything()
    {
        Skip.If(File.Exists("/dev/nvidia0"), "this machine has a GPU: start --gpus would start silos");
        string state = Directory.CreateTempSubdirectory("ringattn-gpus-").FullName;
        try
        {
            var start = Tools.Run("bash", [Repo.PathOf("scripts/local-cluster.sh"), "start", "--gpus"], Repo.Root, TimeSpan.FromSeconds(30),
                env => env["RINGATTN_CLUSTER_DIR"] = state);

            Assert.True(start.ExitCode == 1, start.Describe("local-cluster.sh start --gpus"));
            Assert.Contains("start --gpus: no GPU found", start.StdErr, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(state, "*.pid"));
            Assert.False(File.Exists(Path.Combine(state, "gpus")));
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }
}
