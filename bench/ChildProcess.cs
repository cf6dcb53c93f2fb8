using System.Diagnostics;

namespace ChatCluster.Bench;

/// <summary>
/// A server the bench starts (redis-server, a silo). Its last output lines are kept to explain a failed start.
/// Disposing kills it with its children, so a bench that stops (Ctrl+C included: see Program.cs) leaves no
/// server behind holding ports and CPU.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private const int KeptLines = 40;

    private readonly Process _process;
    private readonly Queue<string> _output = new();

    private ChildProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    /// <summary>The process id, for reading its memory from /proc (the load mode).</summary>
    public int Id => _process.Id;

    /// <summary>Starts <paramref name="fileName"/>; <paramref name="environment"/> is added to the bench's own environment.</summary>
    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var child = new ChildProcess(name, Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}"));
        child._process.OutputDataReceived += (_, e) => child.Keep(e.Data);
        child._process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Polls <paramref name="isReady"/> until it says yes; throws with the process's last output if it exits or takes too long.</summary>
    public async Task WaitReadyAsync(Func<CancellationToken, Task<bool>> isReady, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}:\n{Output()}");
            }

            if (await isReady(cancellationToken))
            {
                return;
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException($"{Name} was not ready within {timeout.TotalSeconds:F0} s:\n{Output()}");
    }

    public void Dispose()
    {
        _process.Kill(entireProcessTree: true); // a no-op when it has exited
        _process.WaitForExit();
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Enqueue(line);
            if (_output.Count > KeptLines)
            {
                _output.Dequeue();
            }
        }
    }

    private string Output()
    {
        lock (_output)
        {
            return string.Join('\n', _output);
        }
    }
}
