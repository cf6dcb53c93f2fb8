using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ChatCluster.Tests.Infrastructure;

/// <summary>
/// A real silo as a user runs it: its own process (the build output of silo/, copied next to the tests),
/// listening on a free loopback port. <see cref="Kill"/> is SIGKILL: no shutdown code runs.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private SiloProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri BaseAddress { get; }

    public int ProcessId => _process.Id;

    /// <summary>Resident memory now (VmRSS), in bytes.</summary>
    public long ResidentBytes =>
        long.Parse(File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;

    public HttpClient Client { get; }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static Task<SiloProcess> StartAsync(params string[] arguments) => StartAsync(new Dictionary<string, string>(), arguments);

    /// <summary>Starts a silo with extra environment variables (OTEL_*, say).</summary>
    public static Task<SiloProcess> StartAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        StartAsync(environment, "/healthz", arguments);

    /// <summary>Starts a silo that may never be ready (a front with no engine): waits only until it is alive (/livez).</summary>
    public static Task<SiloProcess> StartUnreadyAsync(params string[] arguments) => StartAsync(new Dictionary<string, string>(), "/livez", arguments);

    private static async Task<SiloProcess> StartAsync(IReadOnlyDictionary<string, string> environment, string readyPath, string[] arguments)
    {
        var port = FreePort.Next();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ChatCluster.Silo.dll"));
        foreach (var a in arguments.Concat(["--urls", $"http://127.0.0.1:{port}"]))
        {
            start.ArgumentList.Add(a);
        }

        // Silos of tests that run at once must not meet on Orleans' default ports.
        if (!arguments.Contains("--silo-port"))
        {
            start.ArgumentList.Add("--silo-port");
            start.ArgumentList.Add(FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (!arguments.Contains("--gateway-port"))
        {
            start.ArgumentList.Add("--gateway-port");
            start.ArgumentList.Add("0");
        }

        var silo = new SiloProcess(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}"));
        silo._process.OutputDataReceived += (_, e) => silo.Append(e.Data);
        silo._process.ErrorDataReceived += (_, e) => silo.Append(e.Data);
        silo._process.BeginOutputReadLine();
        silo._process.BeginErrorReadLine();
        await silo.WaitHealthyAsync(readyPath);
        return silo;
    }

    /// <summary>SIGTERM, as an orchestrator stops a pod; returns how long the process took to exit, and its exit code.</summary>
    public async Task<(TimeSpan Took, int ExitCode)> TerminateAsync(TimeSpan bound)
    {
        var started = Stopwatch.StartNew();
        Assert.Equal(0, SendSignal(_process.Id, SignalTerminate));
        using var timeout = new CancellationTokenSource(bound);
        await _process.WaitForExitAsync(timeout.Token);
        return (started.Elapsed, _process.ExitCode);
    }

    /// <summary>
    /// Lets the process run only in short slices (SIGCONT, 2 ms, SIGSTOP, 10 ms) until <paramref name="until"/> is
    /// cancelled, and leaves it stopped. A reply of the test model takes milliseconds, so a test that kills a node
    /// while it generates cannot count on the reply still running when the kill lands, least of all on a loaded
    /// machine; slowed this way, what the node had started when the test saw it start is still running when it is
    /// killed. Its membership probes (1 s timeout) and the routers' load polls are answered within its slices.
    /// </summary>
    public async Task RunInSlicesAsync(CancellationToken until)
    {
        while (true)
        {
            Assert.Equal(0, SendSignal(_process.Id, SignalContinue));
            await Task.Delay(TimeSpan.FromMilliseconds(2), CancellationToken.None);
            Assert.Equal(0, SendSignal(_process.Id, SignalStop));
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10), until);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private const int SignalTerminate = 15; // Linux SIGTERM

    private const int SignalContinue = 18; // Linux SIGCONT

    private const int SignalStop = 19; // Linux SIGSTOP

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    /// <summary>SIGKILL, and wait until the process is gone.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        Client.Dispose();
        _process.Dispose();
        await Task.CompletedTask;
    }

    private async Task WaitHealthyAsync(string readyPath)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The silo exited with {_process.ExitCode}:\n{Log}");
            }

            try
            {
                if ((await Client.GetAsync(readyPath)).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The silo did not become healthy:\n{Log}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
