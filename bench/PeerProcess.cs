using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace ChatCluster.Bench;

/// <summary>
/// A peer engine in a process of its own (ONNX Runtime GenAI, PyTorch), driven over a line protocol so that
/// its rounds interleave with the engine's in one run: it prints "ready" once loaded; "run TOKENS SECONDS
/// IDS;IDS;..." runs that static batch again and again for SECONDS and answers one JSON line; "ids TOKENS IDS"
/// answers one greedy generation's ids; "quit" ends it. Its stderr is kept to explain a failure.
/// </summary>
internal sealed class PeerProcess : IDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _errors = new();

    private PeerProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public static PeerProcess Start(string name, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var peer = new PeerProcess(name, Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}"));
        peer._process.ErrorDataReceived += (_, e) => peer.Keep(e.Data);
        peer._process.BeginErrorReadLine();
        var first = peer.ReadLine();
        if (first != "ready")
        {
            throw new InvalidOperationException($"{name} did not start: {first}\n{peer.Errors()}");
        }

        return peer;
    }

    public Measurement Run(int[][] prompts, int tokens, double seconds)
    {
        var line = Ask($"run {tokens} {seconds.ToString(CultureInfo.InvariantCulture)} {string.Join(';', prompts.Select(p => string.Join(',', p)))}");
        using var doc = JsonDocument.Parse(line);
        var r = doc.RootElement;
        double D(string name) => r.GetProperty(name).GetDouble();
        return new Measurement(D("tokens_per_second"), D("step_ms"), D("ttft_p50_ms"), D("ttft_p99_ms"), D("itl_p50_ms"), D("itl_p99_ms"), null);
    }

    public int[] Generate(int[] prompt, int tokens) =>
        [.. Ask($"ids {tokens} {string.Join(',', prompt)}").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)];

    public void Dispose()
    {
        try
        {
            _process.StandardInput.WriteLine("quit");
            _process.StandardInput.Flush();
            if (!_process.WaitForExit(5000))
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (IOException)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit();
        _process.Dispose();
    }

    private string Ask(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
        return ReadLine();
    }

    private string ReadLine() =>
        _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"{Name} exited ({Exited()}):\n{Errors()}");

    private string Exited() => _process.WaitForExit(2000) ? $"code {_process.ExitCode}" : "still running";

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_errors)
        {
            _errors.Enqueue(line);
            if (_errors.Count > 40)
            {
                _errors.Dequeue();
            }
        }
    }

    private string Errors()
    {
        lock (_errors)
        {
            return string.Join('\n', _errors);
        }
    }
}
