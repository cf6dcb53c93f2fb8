// A local ChatCluster under Aspire, in one command from the repository root:
//
//     dotnet run --project deploy/aspire                 # 2 silos
//     dotnet run --project deploy/aspire -- --silos 3    # or Silos=3 in the environment / appsettings.json
//     dotnet run --project deploy/aspire -- --front 1 --inference 2   # the split layout (--role front/inference)
//
// It starts, as plain processes (no containers):
//   redis    redis-server on 127.0.0.1 (append-only file fsynced on every write), data in RedisData
//   siloN    N silos of silo/Silo.csproj (--role all: gateway and engine in each), each with its own HTTP and
//            Orleans silo port, all on that Redis (membership and conversation state), started once Redis
//            answers PING, healthy on GET /healthz
//   or, with --front N and/or --inference M (either > 0; Silos is then ignored), the split layout, one
//   Orleans cluster on that Redis:
//   inferenceN  M silos with --role inference (the engines, no /v1 API), added first; healthy on /healthz
//               once their model is loaded
//   frontN      N silos with --role front (HTTP API and conversations, no model); started with the inference
//               silos, not after them: a front's /healthz answers 200 only once it knows an engine, so a
//               front turns healthy when the first inference silo has joined. Send requests to a front.
//   the Aspire dashboard (its URL, with a login token, is printed at start), which receives every silo's
//            traces, metrics and logs over OTLP: a turn sent through one silo to a conversation that lives on
//            another, or through a front to the inference silo that generates it, shows as one trace across both.
//
// Settings (command line `--Name value`, environment `Name=value`, or appsettings.json):
//   Silos      how many silos with --role all (default 2), when Front and Inference are both 0
//   Front      how many --role front silos (default 0; 1 when only Inference is given)
//   Inference  how many --role inference silos (default 0; 1 when only Front is given)
//              Front or Inference > 0 selects the split layout
//   HttpPort   silo i listens on HttpPort+i (default 8081, as in README's cluster); in the split layout the
//              fronts come first (front0 on HttpPort), then the inference silos; 0 = free ports
//   RedisPort  default 0 = a free port
//   RedisData  Redis' data folder (default <temp>/chatcluster-aspire/redis): conversations survive restarts
//   ClusterId  default a new one per run, so no silo of an earlier run lingers in membership; stored
//              conversations are keyed by service, not cluster, and carry over
//   Model      a model folder for every silo (default: the bundled model)
//
// Stop it with Ctrl+C in its terminal, or SIGTERM to the ChatCluster.AppHost process: the silos, redis-server
// and the dashboard are gone about 5-10 s later. Started in the background from a script it ignores SIGINT
// (shells start background jobs with SIGINT ignored), so send SIGTERM there.
using System.Net;
using System.Net.Sockets;
using ChatCluster.AppHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

var builder = DistributedApplication.CreateBuilder(args);
var settings = ClusterSettings.Read(builder.Configuration);

Directory.CreateDirectory(settings.RedisData);
builder.Services.AddHealthChecks().AddCheck(RedisPing.CheckName, new RedisPing(settings.RedisPort));
var redis = builder.AddExecutable(
        "redis", "redis-server", settings.RedisData,
        "--port", settings.RedisPort.ToString(), "--bind", "127.0.0.1", "--dir", settings.RedisData,
        "--daemonize", "no", "--appendonly", "yes", "--appendfsync", "always")
    .WithEndpoint(port: settings.RedisPort, targetPort: settings.RedisPort, scheme: "tcp", name: "tcp", isProxied: false)
    .WithHealthCheck(RedisPing.CheckName);

// (name, --role, index of its HTTP port): inference silos first, so that they are added (and start) first.
List<(string Name, string? Role, int PortIndex)> silos = settings.Split
    ? [
        .. Enumerable.Range(0, settings.Inference).Select(i => ($"inference{i}", (string?)"inference", settings.Front + i)),
        .. Enumerable.Range(0, settings.Front).Select(i => ($"front{i}", (string?)"front", i)),
    ]
    : [.. Enumerable.Range(0, settings.Silos).Select(i => ($"silo{i}", (string?)null, i))];

foreach (var (name, role, portIndex) in silos)
{
    // Ports are passed as flags: the silo takes its cluster settings only from its command line. Endpoints are
    // not proxied, so the addresses the dashboard shows are the ones the silo listens on.
    var httpPort = settings.HttpPort == 0 ? FreePort.Next() : settings.HttpPort + portIndex;
    var siloPort = FreePort.Next();
    List<string> flags =
    [
        "--urls", $"http://127.0.0.1:{httpPort}",
        "--redis", $"127.0.0.1:{settings.RedisPort}",
        "--cluster-id", settings.ClusterId,
        "--silo-port", siloPort.ToString(),
        "--gateway-port", "0",
        "--advertise", "127.0.0.1",
    ];
    if (role is not null)
    {
        flags.AddRange(["--role", role]);
    }

    // Every silo of the cluster gets the same --model (a front reads only its config.json, for the model's name).
    if (settings.Model is { } model)
    {
        flags.AddRange(["--model", model]);
    }

    builder.AddProject<Projects.Silo>(name)
        .WithHttpEndpoint(port: httpPort, targetPort: httpPort, name: "http", isProxied: false)
        .WithEndpoint(port: siloPort, targetPort: siloPort, scheme: "tcp", name: "orleans", isProxied: false)
        .WithArgs([.. flags])
        .WithHttpHealthCheck("/healthz")
        .WaitFor(redis);
}

builder.Build().Run();

/// <summary>Public so that tests can name this assembly's entry point (Aspire.Hosting.Testing).</summary>
public partial class Program;

namespace ChatCluster.AppHost
{
    /// <summary>The app host's settings (names and defaults in the comment at the top of Program.cs).</summary>
    internal sealed record ClusterSettings(int Silos, int Front, int Inference, int HttpPort, int RedisPort, string RedisData, string ClusterId, string? Model)
    {
        /// <summary>Front and inference silos (--role front/inference) instead of Silos with --role all.</summary>
        public bool Split => Front > 0 || Inference > 0;

        public static ClusterSettings Read(IConfiguration configuration)
        {
            var silos = configuration.GetValue("Silos", 2);
            if (silos is < 1 or > 32)
            {
                throw new ArgumentException($"Silos={silos}: between 1 and 32.");
            }

            var front = configuration.GetValue("Front", 0);
            var inference = configuration.GetValue("Inference", 0);
            if (front is < 0 or > 32 || inference is < 0 or > 32)
            {
                throw new ArgumentException($"Front={front}, Inference={inference}: each between 0 and 32.");
            }

            // Half a split layout is no cluster: a front alone has no engine, engines alone serve no API.
            if (front > 0 && inference == 0)
            {
                inference = 1;
            }
            else if (inference > 0 && front == 0)
            {
                front = 1;
            }

            var count = front + inference > 0 ? front + inference : silos;
            var httpPort = configuration.GetValue("HttpPort", 8081);
            if (httpPort != 0 && (httpPort < 1 || httpPort + count - 1 > 65535))
            {
                throw new ArgumentException($"HttpPort={httpPort}: HttpPort..HttpPort+{count - 1} must be valid ports (0 = free ports).");
            }

            var redisPort = configuration.GetValue("RedisPort", 0);
            var model = configuration["Model"] is { Length: > 0 } path ? Path.GetFullPath(path) : null;
            if (model is not null && !Directory.Exists(model))
            {
                throw new ArgumentException($"Model={model}: no such folder.");
            }

            return new ClusterSettings(
                silos,
                front,
                inference,
                httpPort,
                redisPort == 0 ? FreePort.Next() : redisPort,
                Path.GetFullPath(configuration["RedisData"] ?? Path.Combine(Path.GetTempPath(), "chatcluster-aspire", "redis")),
                configuration["ClusterId"] ?? $"aspire-{DateTime.UtcNow:yyyyMMdd-HHmmss}",
                model);
        }
    }

    /// <summary>Redis is ready when it answers PING (and not -LOADING while it replays the append-only file).</summary>
    internal sealed class RedisPing(int port) : IHealthCheck
    {
        public const string CheckName = "redis-ping";

        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
                var reply = new byte[64];
                var read = await stream.ReadAsync(reply, cancellationToken);
                return read >= 5 && reply.AsSpan(0, 5).SequenceEqual("+PONG"u8)
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy(System.Text.Encoding.ASCII.GetString(reply, 0, read).Trim());
            }
            catch (SocketException e)
            {
                return HealthCheckResult.Unhealthy(e.Message);
            }
        }
    }

    internal static class FreePort
    {
        /// <summary>A loopback port the kernel just handed out and released.</summary>
        public static int Next()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
