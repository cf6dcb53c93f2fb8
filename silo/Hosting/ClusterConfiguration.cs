using System.Net;
using ChatCluster.Conversations;
using Orleans.Configuration;
using StackExchange.Redis;

namespace ChatCluster.Silo.Hosting;

/// <summary>
/// The Orleans side of a node. Single node (no --redis): localhost clustering and in-memory conversation
/// state. With --redis: membership and conversation state in Redis, so every silo on the same Redis and
/// cluster id joins one cluster, and a conversation whose silo died reactivates on a survivor from its last
/// acknowledged turn.
/// </summary>
internal static class ClusterConfiguration
{
    /// <summary>Stored state is keyed by service, not cluster: a redeployed cluster (new cluster id) keeps its conversations.</summary>
    public const string ServiceId = "chatcluster";

    /// <summary>
    /// How long a silo waits for a probe answer. Orleans' default (5 s, three misses) declares a SIGKILLed silo
    /// dead after 10-15 s; at 1 s the first call on a survivor succeeded 1.3-2.4 s after the kill (2 and 3 silos
    /// on this machine), which is what a chat user notices.
    /// </summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);

    public static void Configure(ISiloBuilder silo, SiloOptions options)
    {
        var advertised = ParseAdvertise(options.Advertise);
        if (options.Redis is null)
        {
            silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: ServiceId, clusterId: options.ClusterId);
            silo.AddMemoryGrainStorage(ConversationStorage.Name, o => o.GrainStorageSerializer = new JsonGrainStateSerializer());
        }
        else
        {
            var redis = RedisConfiguration(options.Redis);
            silo.Configure<ClusterOptions>(o =>
            {
                o.ServiceId = ServiceId;
                o.ClusterId = options.ClusterId;
            });
            if (options.Kubernetes)
            {
                // The pod's IP (downward API) is advertised and the ports listen on every interface of the pod.
                silo.Configure<EndpointOptions>(o =>
                {
                    o.SiloPort = options.SiloPort;
                    o.GatewayPort = options.GatewayPort;
                });
                silo.UseKubernetesHosting();
            }
            else
            {
                silo.ConfigureEndpoints(advertised, options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: false);
            }

            silo.UseRedisClustering(o => o.ConfigurationOptions = redis);
            silo.AddRedisGrainStorage(ConversationStorage.Name, o =>
            {
                o.ConfigurationOptions = redis;
                o.GrainStorageSerializer = new JsonGrainStateSerializer();
            });
        }

        if (options.TlsCertificate is { } certificate)
        {
            SiloTls.Use(silo, certificate);
        }

        silo.Configure<ClusterMembershipOptions>(o => o.ProbeTimeout = ProbeTimeout);
        silo.Configure<GrainCollectionOptions>(o =>
            o.ClassSpecificCollectionAge[typeof(ConversationGrain).FullName!] = TimeSpan.FromMinutes(options.ConversationIdleMinutes));
        silo.AddActivityPropagation();
        silo.Services.AddEngineMessageSerialization();
    }

    /// <summary>
    /// The --redis value as StackExchange.Redis configuration. A silo keeps retrying a Redis that went away
    /// instead of failing for good, so it recovers by itself when Redis is back.
    /// </summary>
    private static ConfigurationOptions RedisConfiguration(string value)
    {
        ConfigurationOptions redis;
        try
        {
            redis = ConfigurationOptions.Parse(value);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"--redis '{value}' is not a Redis address (HOST:PORT): {e.Message}", e);
        }

        if (redis.EndPoints.Count == 0)
        {
            throw new ArgumentException($"--redis '{value}' names no Redis endpoint (expected HOST:PORT).");
        }

        redis.AbortOnConnectFail = false;
        return redis;
    }

    private static IPAddress ParseAdvertise(string value) =>
        IPAddress.TryParse(value, out var address)
            ? address
            : throw new ArgumentException($"--advertise '{value}' is not an IP address (this node's address as other silos reach it).");
}
