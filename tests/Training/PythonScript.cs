using System.Diagnostics;

namespace ChatCluster.Tests.Training;

/// <summary>Runs a script with Debian's python3 (the one with torch) from the repository root.</summary>
internal static class PythonScript
{
    /// <summary>Returns the script's standard output; fails the test if it exits non-zero or runs past <paramref name="limit"/>.</summary>
    public static string Run(TimeSpan limit, params string[] arguments)
    {
        var start = new ProcessStartInfo("/usr/bin/python3")
        {
            WorkingDirectory = ChatCluster.Tests.Infrastructure.TestPaths.RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in arguments)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();  // tqdm's bars; drained so the pipe never fills
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{string.Join(' ', arguments)} ran past {limit}");
        }
        string tail = stderr.Result.Length > 3000 ? stderr.Result[^3000..] : stderr.Result;
        Assert.True(process.ExitCode == 0, $"{arguments[0]} exited {process.ExitCode}\n{stdout.Result}\n{tail}");
        return stdout.Result;
    }
}
