using ChatCluster.Conversations;
using ChatCluster.Gateway;
using ChatCluster.Grains;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Scheduling;
using ChatCluster.Silo.Redis;
using ChatCluster.Silo.Runtime;
using ChatCluster.Silo.Storage;
using ChatCluster.Silo.Telemetry;

namespace ChatCluster.Silo;

/// <summary>
/// Composes a silo: the model (loaded before the node listens, so /healthz answering means it serves), the
/// grain runtime with the inference and conversation grains, grain storage (Redis with --redis, else memory),
/// the gateway, and telemetry.
/// </summary>
public static class SiloHost
{
    /// <summary>A node from serve's command line, built but not started (the tests' in-process servers).</summary>
    public static Task<WebApplication> CreateAppAsync(string[] args) => CreateAppAsync(Commands.ServeCommand.Parse(args));

    public static async Task<WebApplication> CreateAppAsync(SiloOptions options, CancellationToken cancellationToken = default)
    {
        if (options.MaxBatch < 1 || options.MaxQueue < 1)
        {
            throw new ArgumentException("--max-batch and --max-queue must be at least 1.");
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.Urls);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        var engine = InferenceEngine.Load(options.Model, ExecutionDevice.Parse(options.Device), new SchedulerOptions
        {
            MaxBatchRows = options.MaxBatch,
            MaxQueuedRequests = options.MaxQueue,
        });
        builder.Services.AddSingleton(engine);
        builder.Services.AddGrainRuntime();
        builder.Services.AddGrain<IInferenceGrain, InferenceGrain>();
        builder.Services.AddGrain<IConversationGrain, ConversationGrain>();
        builder.Services.AddSingleton(new ConversationOptions { ModelId = engine.Info.Id });
        if (options.Redis is { } redis)
        {
            var connection = await RedisConnection.ConnectAsync(new RedisOptions { Endpoint = RedisEndpoint.Parse(redis) }, cancellationToken);
            builder.Services.AddSingleton(connection);
            builder.Services.AddSingleton<IGrainStorage>(new RedisGrainStorage(connection));
        }

        builder.Services.AddChatGateway(new GatewayOptions
        {
            ModelId = engine.Info.Id,
            ApiKeys = options.ApiKeys,
            KeysFile = options.KeysFile,
            AllowedOrigins = options.AllowedOrigins,
            RequestsPerMinute = options.RequestsPerMinute,
            MaxConcurrentStreamsPerKey = options.MaxStreamsPerKey,
            MaxBeamWidth = Math.Min(Inference.Sampling.SamplingLimits.MaxBeamWidth, options.MaxBatch),
        });
        builder.Services.AddChatClusterTelemetry();

        var app = builder.Build();
        app.MapChatGateway();
        app.MapGet("/healthz", static () => Results.Text("ok"));
        app.Lifetime.ApplicationStopped.Register(engine.Dispose);
        return app;
    }
}
