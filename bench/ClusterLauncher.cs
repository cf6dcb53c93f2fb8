using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Spectre.Console;

namespace ChatCluster.Bench;

/// <summary>
/// The cluster mode: a redis-server and two silos on it, all on this machine, then the http mode with a
/// conversation created and driven through silo A ("local") against one created through A and driven through
/// B ("remote": every token crosses from A's grain to B over Orleans). Writes stack.md and stack.json.
/// </summary>
internal static class ClusterLauncher
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    public static async Task<int> RunAsync(HttpBenchOptions options, CancellationToken cancellationToken)
    {
        // The silo's build output is copied next to the bench by the project reference in Bench.csproj.
        var siloDll = Path.Combine(AppContext.BaseDirectory, "ChatCluster.Silo.dll");
        if (!File.Exists(siloDll))
        {
            throw new InvalidOperationException($"{siloDll} is missing; build the bench (dotnet build -c Release bench/Bench.csproj)");
        }

        var redisDirectory = Directory.CreateTempSubdirectory("chatcluster-bench-redis-");
        try
        {
            var redisPort = FreePort();
            using var redis = ChildProcess.Start("redis-server", FindRedisServer(),
                ["--port", Port(redisPort), "--bind", "127.0.0.1", "--dir", redisDirectory.FullName, "--daemonize", "no",
                 "--save", "", "--appendonly", "yes"], redisDirectory.FullName);
            AnsiConsole.MarkupLine($"  redis-server on 127.0.0.1:{redisPort}; starting two silos...");
            await redis.WaitReadyAsync(ct => AnswersPingAsync(redisPort, ct), StartTimeout, cancellationToken);

            using var a = StartSilo("silo A", siloDll, options.Model, redisPort, out var urlA);
            using var b = StartSilo("silo B", siloDll, options.Model, redisPort, out var urlB);
            using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            await Task.WhenAll(
                a.WaitReadyAsync(ct => IsHealthyAsync(probe, urlA, ct), StartTimeout, cancellationToken),
                b.WaitReadyAsync(ct => IsHealthyAsync(probe, urlB, ct), StartTimeout, cancellationToken));
            AnsiConsole.MarkupLine($"  silo A {urlA}, silo B {urlB}: healthy");

            var targets = new[] { HttpTarget.Parse($"local={urlA}"), HttpTarget.Parse($"remote={urlA},{urlB}") };
            var setup = "Two silo processes (--gateway-port 0, --cluster-id bench) on one redis-server (AOF on), the bench " +
                "client alongside, all on this machine; local: conversations created and driven through silo A; remote: " +
                "created through A, driven through B";
            return await new HttpBenchmark(options with { Targets = targets }).RunAsync("stack", setup, cancellationToken);
        }
        finally
        {
            redisDirectory.Delete(recursive: true);
        }
    }

    private static ChildProcess StartSilo(string name, string siloDll, string model, int redisPort, out string url)
    {
        url = $"http://127.0.0.1:{FreePort()}";
        return ChildProcess.Start(name, "dotnet",
            [siloDll, "--urls", url, "--model", model, "--redis", $"127.0.0.1:{redisPort}", "--silo-port", Port(FreePort()),
             "--gateway-port", "0", "--cluster-id", "bench"]);
    }

    private static async Task<bool> IsHealthyAsync(HttpClient probe, string url, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await probe.GetAsync($"{url}/healthz", cancellationToken);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false; // not listening yet
        }
    }

    /// <summary>Ready means PONG over a raw socket: the silos would otherwise start against a Redis that refuses them.</summary>
    private static async Task<bool> AnswersPingAsync(int port, CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
            var reply = new byte[16];
            var read = await stream.ReadAsync(reply, cancellationToken);
            return Encoding.ASCII.GetString(reply, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>A loopback port the kernel just handed out and released: free now, and not handed out again soon.</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static string FindRedisServer() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "redis-server"))
            .Append("/usr/bin/redis-server")
            .FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("redis-server was not found on PATH or at /usr/bin/redis-server (apt-get install redis-server)");
}
