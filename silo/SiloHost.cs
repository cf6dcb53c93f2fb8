using ChatCluster.Conversations;
using ChatCluster.Gateway;
using ChatCluster.Grains.Inference;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Scheduling;
using ChatCluster.InferenceGrains;
using ChatCluster.Silo.Hosting;
using ChatCluster.Silo.Routing;
using ChatCluster.Silo.Telemetry;
using Orleans.Dashboard;

namespace ChatCluster.Silo;

/// <summary>
/// Composes a node for its role (<see cref="SiloRole"/>): engines (loaded before the node listens, so /healthz
/// answering means they serve) and their inference grains; the gateway with conversation grains and the
/// router that sends their turns to engines anywhere in the cluster; an Orleans silo
/// (<see cref="ClusterConfiguration"/>) and telemetry, in one ASP.NET Core app.
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
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownBoundOf(options));

        // A front silo touches no engine type: it loads neither the model nor the ONNX Runtime library.
        var engines = options.Role.HostsEngines() ? LoadEngines(options) : null;
        builder.Services.AddSingleton(TimeProvider.System);
        builder.UseOrleans(silo =>
        {
            ClusterConfiguration.Configure(silo, options, engines?.Devices);
            if (options.DashboardOn)
            {
                silo.AddDashboard();
            }
        });

        if (engines is not null)
        {
            builder.Services.AddSingleton(engines);
            builder.Services.AddSingleton<ILocalEngines>(engines);
            builder.Services.AddSingleton<CallerWatch>();
            builder.Services.AddHostedService(sp => new EngineDrain(engines, TimeSpan.FromSeconds(options.DrainSeconds), sp.GetRequiredService<ILogger<EngineDrain>>()));
        }

        if (options.Role.HostsGateway())
        {
            AddGateway(builder, options, engines);
            builder.Services.AddHostedService<HeapCompactor>();
        }
        else
        {
            // No API here, but the same keys guard /metrics and /dashboard.
            builder.Services.AddChatGateway(GatewayOptionsFor(options, engines));
        }

        builder.AddChatClusterTelemetry();

        var app = builder.Build();
        if (options.Role.HostsGateway())
        {
            app.MapChatGateway();
        }
        else
        {
            app.UseKeyProtectedPaths();
        }

        app.MapGet("/healthz", Healthz(app.Services, options.Role));
        app.MapGet("/livez", static () => Results.Text("ok")); // the process serves, whatever the cluster's state (Kubernetes' liveness)
        app.MapChatClusterMetrics();
        if (options.DashboardOn)
        {
            app.MapOrleansDashboard(routePrefix: DashboardPath);
        }
        if (engines is not null)
        {
            app.Lifetime.ApplicationStopped.Register(engines.Dispose);
        }

        return Task.FromResult(app);
    }

    /// <summary>How long after SIGTERM the process ends at the latest, whatever Redis does (the serve command arms <see cref="ShutdownBound"/>).</summary>
    public static TimeSpan ShutdownBoundOf(SiloOptions options) => TimeSpan.FromSeconds(options.DrainSeconds) + ShutdownBound.AfterDrain;

    /// <summary>One engine per device of --device, all of the same model.</summary>
    private static LocalEngines LoadEngines(SiloOptions options)
    {
        var loaded = new List<(string, InferenceEngine)>();
        try
        {
            foreach (var name in SiloRoles.ParseDevices(options.Device))
            {
                var device = ExecutionDevice.Parse(name);
                loaded.Add((device.Name, InferenceEngine.Load(options.Model, device, new SchedulerOptions
                {
                    MaxBatchRows = options.MaxBatch,
                    MaxQueuedRequests = options.MaxQueue,
                    Graph = options.Graph,
                    Threads = options.Threads,
                    AllowSpinning = options.IntraOpSpinning,
                    PrefixCacheBytes = options.PrefixCacheMiB * 1024L * 1024,
                })));
            }

            return new LocalEngines(loaded);
        }
        catch
        {
            new LocalEngines(loaded).Dispose();
            throw;
        }
    }

    /// <summary>The gateway, conversation grains' services, and the router they share.</summary>
    private static void AddGateway(WebApplicationBuilder builder, SiloOptions options, LocalEngines? engines)
    {
        var services = builder.Services;
        services.AddSingleton(new ConversationLimits { MaxMessages = options.MaxConversationMessages, MaxBytes = options.MaxConversationBytes });
        services.AddSingleton(new RoutingOptions { Random = options.Routing == "random" });
        services.AddSingleton<EngineLoads>();
        services.AddSingleton<EngineCatalog>();
        services.AddHostedService(sp => sp.GetRequiredService<EngineCatalog>());
        services.AddSingleton<IEngineRouter, CacheAwareRouter>();
        services.AddSingleton(sp => new InferenceClient(
            sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<IEngineRouter>(), sp.GetRequiredService<ILocalSiloDetails>().SiloAddress,
            sp.GetService<ILocalEngines>()));

        services.AddChatGateway(GatewayOptionsFor(options, engines));
    }

    /// <summary>
    /// The gateway's options. The served model's name is the local engine's, or on a front silo the --model
    /// folder's (only its config is read): every silo of a cluster is given the same --model.
    /// </summary>
    private static GatewayOptions GatewayOptionsFor(SiloOptions options, LocalEngines? engines)
    {
        var info = engines?.All.First().Info;
        return new GatewayOptions
        {
            ModelId = info?.Id ?? ModelConfig.Load(options.Model).Id,
            ModelCreatedUnixSeconds = info?.CreatedUnixSeconds ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ApiKeys = options.ApiKeys,
            KeysFile = options.KeysFile,
            AllowedOrigins = options.AllowedOrigins,
            RequestsPerMinute = options.RequestsPerMinute,
            MaxConcurrentStreamsPerKey = options.MaxStreamsPerKey,
            MaxBeamWidth = Math.Min(Inference.Sampling.SamplingLimits.MaxBeamWidth, options.MaxBatch),
            KeyProtectedPaths = [TelemetryServiceCollectionExtensions.MetricsPath, DashboardPath],
        };
    }

    /// <summary>
    /// 200 once the node serves: engines are loaded before the app starts, and a node with a gateway also waits
    /// until its router knows an engine (its own or another silo's), so a load balancer sends no request that
    /// could only get "no engine".
    /// </summary>
    private static Delegate Healthz(IServiceProvider services, SiloRole role) => () =>
    {
        if (role.HostsGateway() && services.GetRequiredService<IEngineRouter>().Models.Count == 0)
        {
            return Results.Text("no inference engine is known yet", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return Results.Text("ok");
    };

    private static void Validate(SiloOptions options)
    {
        if (options.MaxBatch < 1 || options.MaxQueue < 1)
        {
            throw new ArgumentException("--max-batch and --max-queue must be at least 1.");
        }

        if (options.Threads < 0)
        {
            throw new ArgumentException("--threads must be 0 (one per core) or more.");
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

        if (options.Role != SiloRole.All && options.Redis is null)
        {
            throw new ArgumentException($"--role {options.Role.Name()} needs --redis: a front silo and an inference silo only serve together, in one cluster.");
        }

        if (options.Routing is not ("cache" or "random"))
        {
            throw new ArgumentException($"--routing '{options.Routing}' is not a policy: expected cache or random.");
        }

        if (options.DrainSeconds < 0)
        {
            throw new ArgumentException("--drain-seconds must be 0 or more.");
        }
    }
}
