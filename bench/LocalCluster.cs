using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Spectre.Console;

namespace ChatCluster.Bench;

/// <summary>
/// A redis-server (AOF on) and silo processes on it (--gateway-port 0, --cluster-id bench), all on this machine,
/// each on ports the kernel just handed out so that runs of other people on the machine are left alone. The
/// cluster and load modes start one. Disposing stops the silos, then Redis, and deletes Redis's folder.
/// </summary>
internal sealed class LocalCluster : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private readonly DirectoryInfo _redisDirectory;
    private readonly List<ChildProcess> _processes = [];

    private LocalCluster(DirectoryInfo redisDirectory) => _redisDirectory = redisDirectory;

    /// <summary>The silos, healthy, in the order of the names they were started with.</summary>
    public IReadOnlyList<Node> Silos { get; private set; } = [];

    /// <summary>The redis-server's process id (for its memory).</summary>
    public int RedisProcessId => _processes[0].Id;

    /// <summary>A started process: silos have a URL, the base of the conversation API and of /metrics.</summary>
    public sealed record Node(string Name, string Url, int ProcessId);

    /// <summary>
    /// Starts Redis, then the named silos at once, and waits until every one answers /healthz.
    /// <paramref name="siloEnvironment"/> goes to the silos only (runtime knobs such as DOTNET_GCConserveMemory),
    /// and so do <paramref name="siloArguments"/>, after the cluster's own (engine flags such as --max-batch).
    /// </summary>
    public static Task<LocalCluster> StartAsync(IReadOnlyList<string> siloNames, string model,
        IReadOnlyDictionary<string, string> siloEnvironment, CancellationToken cancellationToken, IReadOnlyList<string>? siloArguments = null) =>
        StartAsync([.. siloNames.Select(name => (name, siloArguments ?? []))], model, siloEnvironment, cancellationToken);

    /// <summary>As above, each silo with arguments of its own (its role, its routing).</summary>
    public static async Task<LocalCluster> StartAsync(IReadOnlyList<(string Name, IReadOnlyList<string> Arguments)> silos, string model,
        IReadOnlyDictionary<string, string> siloEnvironment, CancellationToken cancellationToken)
    {
        // The silo's build output is copied next to the bench by the project reference in Bench.csproj.
        var siloDll = Path.Combine(AppContext.BaseDirectory, "ChatCluster.Silo.dll");
        if (!File.Exists(siloDll))
        {
            throw new InvalidOperationException($"{siloDll} is missing; build the bench (dotnet build -c Release bench/Bench.csproj)");
        }

        var cluster = new LocalCluster(Directory.CreateTempSubdirectory("chatcluster-bench-redis-"));
        try
        {
            await cluster.StartRedisAndSilosAsync(silos, siloDll, model, siloEnvironment, cancellationToken);
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        // Silos first: a silo that loses Redis under it logs errors and retries until it is stopped.
        foreach (var process in Enumerable.Reverse(_processes))
        {
            process.Dispose();
        }

        _redisDirectory.Delete(recursive: true);
    }

    private async Task StartRedisAndSilosAsync(IReadOnlyList<(string Name, IReadOnlyList<string> Arguments)> siloSpecs, string siloDll, string model,
        IReadOnlyDictionary<string, string> siloEnvironment, CancellationToken cancellationToken)
    {
        var redisPort = FreePort();
        var redis = ChildProcess.Start("redis-server", FindRedisServer(),
            ["--port", Port(redisPort), "--bind", "127.0.0.1", "--dir", _redisDirectory.FullName, "--daemonize", "no",
             "--save", "", "--appendonly", "yes"], _redisDirectory.FullName);
        _processes.Add(redis);
        AnsiConsole.MarkupLine($"  redis-server on 127.0.0.1:{redisPort}; starting {siloSpecs.Count} silo(s)...");
        await redis.WaitReadyAsync(ct => AnswersPingAsync(redisPort, ct), StartTimeout, cancellationToken);

        var silos = siloSpecs.Select(spec =>
        {
            var (name, siloArguments) = spec;
            var url = $"http://127.0.0.1:{FreePort()}";
            var process = ChildProcess.Start(name, "dotnet",
                [siloDll, "--urls", url, "--model", model, "--redis", $"127.0.0.1:{redisPort}", "--silo-port", Port(FreePort()),
                 "--gateway-port", "0", "--cluster-id", "bench", .. siloArguments], environment: siloEnvironment);
            _processes.Add(process);
            return (Process: process, Node: new Node(name, url, process.Id));
        }).ToList();

        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Task.WhenAll(silos.Select(s => s.Process.WaitReadyAsync(ct => IsHealthyAsync(probe, s.Node.Url, ct), StartTimeout, cancellationToken)));
        Silos = [.. silos.Select(s => s.Node)];
        AnsiConsole.MarkupLine($"  {Markup.Escape(string.Join(", ", Silos.Select(s => $"{s.Name} {s.Url}")))}: healthy");
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
