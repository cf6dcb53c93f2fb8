using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace ChatCluster.Tests.Infrastructure;

/// <summary>
/// A real redis-server process for tests: on a free loopback port, with its own temporary directory, the
/// append-only file on and fsynced on every write (<c>--appendonly yes --appendfsync always</c>, no RDB
/// snapshots), so whatever Redis acknowledged survives <see cref="KillAsync"/> (SIGKILL).
/// <para>
/// Use it as an xunit class fixture (shared by a class's tests) or start one with <see cref="StartAsync"/> for a
/// test that kills or restarts it. Without redis-server on the machine it fails, saying how to install it.
/// </para>
/// </summary>
public sealed class RedisServer : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly string[] _extraArguments;
    private readonly StringBuilder _output = new();
    private Process? _process;

    public RedisServer()
        : this([])
    {
    }

    private RedisServer(string[] extraArguments)
    {
        _extraArguments = extraArguments;
        Port = FreePort.Next();
        Directory = System.IO.Directory.CreateTempSubdirectory("chatcluster-redis-").FullName;
    }

    public int Port { get; }

    /// <summary>"127.0.0.1:port", the form <c>--redis</c> takes.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>The server's working directory (appendonlydir lives here).</summary>
    public string Directory { get; }

    /// <summary>A client of this server, for tests that read what the silos stored.</summary>
    public Task<ConnectionMultiplexer> ConnectAsync() => ConnectionMultiplexer.ConnectAsync(Endpoint);

    /// <summary>Starts a server; <paramref name="extraArguments"/> are redis-server options, e.g. "--requirepass", "pw".</summary>
    public static async Task<RedisServer> StartAsync(params string[] extraArguments)
    {
        var server = new RedisServer(extraArguments);
        try
        {
            await server.InitializeAsync();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    public Task InitializeAsync() => LaunchAsync();

    /// <summary>Kills the server with SIGKILL: no shutdown, no final save; only what is in the AOF remains.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Starts the server again on the same port and directory; it reloads the AOF before answering.</summary>
    public async Task RestartAsync()
    {
        await KillAsync();
        await LaunchAsync();
    }

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit();
            }

            process.Dispose();
            _process = null;
        }

        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    private async Task LaunchAsync()
    {
        var start = new ProcessStartInfo(FindRedisServer())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        foreach (string argument in (string[])[
            "--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", Directory, "--daemonize", "no",
            "--appendonly", "yes", "--appendfsync", "always", "--save", "", .. _extraArguments])
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await WaitUntilReadyAsync(process);
    }

    // Ready means it answers PING with PONG, or NOAUTH when a password is set, and not LOADING (still reading
    // the AOF): asked over a raw socket, independent of the client under test.
    private async Task WaitUntilReadyAsync(Process process)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < ReadyTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException(
                    $"redis-server exited with code {process.ExitCode} before answering on port {Port}:\n{Output()}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                NetworkStream stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray());
                var reply = new byte[64];
                int read = await stream.ReadAsync(reply);
                string answer = Encoding.ASCII.GetString(reply, 0, read);
                if (answer.StartsWith("+PONG", StringComparison.Ordinal) || answer.StartsWith("-NOAUTH", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (SocketException)
            {
                // Not listening yet.
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"redis-server did not answer PING on port {Port} within {ReadyTimeout}:\n{Output()}");
    }

    private static string FindRedisServer()
    {
        string[] candidates = [
            .. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(directory => Path.Combine(directory, "redis-server")),
            "/usr/bin/redis-server",
        ];
        return candidates.FirstOrDefault(File.Exists) ?? throw new InvalidOperationException(
            "redis-server was not found on PATH or at /usr/bin/redis-server. These tests run a real Redis: " +
            "install it with `apt-get install -y redis-server` (.ci/run does this).");
    }

    private void Remember(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }
}
