using ChatCluster.Conversations;
using ChatCluster.Gateway;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Scheduling;
using ChatCluster.Silo.Hosting;
using ChatCluster.Silo.Telemetry;
using Orleans.Dashboard;

namespace ChatCluster.Silo;

/// <summary>
/// Composes a node: the model (loaded before the node listens, so /healthz answering means it serves), an
/// Orleans silo hosting the conversation grains (<see cref="ClusterConfiguration"/>), the gateway, and
/// telemetry, in one ASP.NET Core app.
/// </summary>
public static class SiloHost
{
    /// <summary>The Orleans dashboard (grains, silos, call rates), on the node's own HTTP port.</summary>
    public const string DashboardPath = "/dashboard";

    /// <summary>A node from serve's command line, built but not started (the tests' in-process servers).</summary>
    public static Task<WebApplication> CreateAppAsync(string[] args) => CreateAppAsync(Commands.ServeCommand.Parse(args));

    public static Task<WebApplication> CreateAppAsync(SiloOptions options, CancellationToken cancellationToken = default)
    {
        Validate(options);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.Urls);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        builder.Logging.AddFilter("Orleans.Runtime.Silo", LogLevel.Error); // its ServerGC advice does not apply to a node that also runs inference
        builder.Logging.AddFilter("Polly", LogLevel.Warning);

        // One engine per model per device on each silo: a DI singleton, the only object Orleans guarantees is node-local.
        var engine = InferenceEngine.Load(options.Model, ExecutionDevice.Parse(options.Device), new SchedulerOptions
        {
            MaxBatchRows = options.MaxBatch,
            MaxQueuedRequests = options.MaxQueue,
            PrefixCacheBytes = options.PrefixCacheMiB * 1024L * 1024,
        });
        builder.Services.AddSingleton(engine);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(new ConversationLimits { MaxMessages = options.MaxConversationMessages, MaxBytes = options.MaxConversationBytes });
        builder.UseOrleans(silo =>
        {
            ClusterConfiguration.Configure(silo, options);
            silo.AddDashboard();
        });

        builder.Services.AddChatGateway(new GatewayOptions
        {
            ModelId = engine.Info.Id,
            ApiKeys = options.ApiKeys,
            KeysFile = options.KeysFile,
            AllowedOrigins = options.AllowedOrigins,
            RequestsPerMinute = options.RequestsPerMinute,
            MaxConcurrentStreamsPerKey = options.MaxStreamsPerKey,
            MaxBeamWidth = Math.Min(Inference.Sampling.SamplingLimits.MaxBeamWidth, options.MaxBatch),
            KeyProtectedPaths = [TelemetryServiceCollectionExtensions.MetricsPath, DashboardPath],
        });
        builder.AddChatClusterTelemetry();

        var app = builder.Build();
        app.MapChatGateway();
        app.MapGet("/healthz", static () => Results.Text("ok"));
        app.MapChatClusterMetrics();
        app.MapOrleansDashboard(routePrefix: DashboardPath);
        app.Lifetime.ApplicationStopped.Register(engine.Dispose);
        return Task.FromResult(app);
    }

    private static void Validate(SiloOptions options)
    {
        if (options.MaxBatch < 1 || options.MaxQueue < 1)
        {
            throw new ArgumentException("--max-batch and --max-queue must be at least 1.");
        }

        if (options.PrefixCacheMiB < 0 || options.ConversationIdleMinutes < 1)
        {
            throw new ArgumentException("--prefix-cache-mb must be 0 or more and --conversation-idle-minutes at least 1.");
        }

        if (options.MaxConversationMessages < 2 || options.MaxConversationBytes < 1)
        {
            throw new ArgumentException("--max-conversation-messages must be at least 2 (one turn) and --max-conversation-bytes at least 1.");
        }

        if (options.SiloPort is < 1 or > 65535)
        {
            throw new ArgumentException($"--silo-port must be a port number (1-65535); it is {options.SiloPort}.");
        }

        if (options.GatewayPort is < 0 or > 65535)
        {
            throw new ArgumentException($"--gateway-port must be a port number (1-65535), or 0 for none; it is {options.GatewayPort}.");
        }

        if (options.Kubernetes && options.Redis is null)
        {
            throw new ArgumentException("--kubernetes needs --redis: the pods of a deployment find each other through Redis membership.");
        }

        if (string.IsNullOrWhiteSpace(options.ClusterId))
        {
            throw new ArgumentException("--cluster-id must not be empty.");
        }
    }
}
