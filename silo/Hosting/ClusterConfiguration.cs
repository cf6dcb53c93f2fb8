using System.Net;
using ChatCluster.Conversations;
using ChatCluster.InferenceGrains;
using Orleans.Runtime.MembershipService.SiloMetadata;
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

    /// <param name="devices">The devices of this silo's engines; null on a front silo.</param>
    public static void Configure(ISiloBuilder silo, SiloOptions options, IReadOnlyList<string>? devices)
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

        ConfigureRole(silo, options.Role, devices);
        silo.Configure<ClusterMembershipOptions>(o => o.ProbeTimeout = ProbeTimeout);

        // Orleans preallocates its grain-location cache for a million entries: 9.3 MB of every silo's heap
        // (dotnet-gcdump of an idle front silo). A tenth still holds every conversation active within the idle
        // timeout of a busy node; a miss costs one directory lookup.
        silo.Configure<GrainDirectoryOptions>(o => o.CacheSize = 100_000);
        silo.Configure<GrainCollectionOptions>(o =>
        {
            o.ClassSpecificCollectionAge[typeof(ConversationGrain).FullName!] = TimeSpan.FromMinutes(options.ConversationIdleMinutes);

            // Orleans collects idle activations once a quantum (1 minute by default), so a conversation lived between
            // the idle timeout and a minute more, and under a steady stream of new conversations the activations rose
            // by a third and fell back every minute (4,400-6,700 in the 15-minute soak, ~20 MB of RSS). Every 15 s
            // the swing is a quarter of that; a sweep visits only the activations due then.
            o.CollectionQuantum = TimeSpan.FromSeconds(15);
        });
        silo.AddActivityPropagation();
        silo.Services.AddEngineMessageSerialization();
    }

    /// <summary>
    /// What this silo hosts, and what it tells the cluster about it. Its role and engines' devices travel as
    /// silo metadata (with membership, fixed for the silo's life), which every router reads to address engines.
    /// A grain class the role does not host is removed, so Orleans never places one here: inference grains
    /// only on engine silos (and never on a front silo, which has no model), conversations only on silos with
    /// a gateway. Every silo places inference grains, so every silo has the placement director.
    /// </summary>
    private static void ConfigureRole(ISiloBuilder silo, SiloRole role, IReadOnlyList<string>? devices)
    {
        var metadata = new Dictionary<string, string> { [SiloRoles.RoleKey] = role.Name() };
        if (devices is not null)
        {
            metadata[SiloRoles.DevicesKey] = string.Join(',', devices);
        }

        silo.UseSiloMetadata(metadata);
        silo.AddPlacementDirector<EnginePlacement, EnginePlacementDirector>();
        silo.Configure<GrainTypeOptions>(o =>
        {
            if (!role.HostsEngines())
            {
                o.Classes.Remove(typeof(InferenceGrain));
            }

            if (!role.HostsGateway())
            {
                o.Classes.Remove(typeof(ConversationGrain));
            }
        });
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
