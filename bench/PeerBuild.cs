using System.Diagnostics;

namespace ChatCluster.Bench;

/// <summary>Builds a peer program of its own (bench/genai-peer, bench/llama-peer) before the bench starts it.</summary>
internal static class PeerBuild
{
    public static void Build(string project)
    {
        var start = new ProcessStartInfo("dotnet", ["build", project, "-c", "Release", "--nologo", "-v", "quiet"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet build");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"building {project} failed:\n{output.Result}\n{errors.Result}");
        }
    }
}
