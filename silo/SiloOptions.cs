namespace ChatCluster.Silo;

/// <summary>The serve command's options (see the contract in README.md).</summary>
public sealed record SiloOptions
{
    public string Urls { get; init; } = "http://127.0.0.1:8080";

    /// <summary>The model folder; the bundled model (copied next to the program) by default.</summary>
    public string Model { get; init; } = DefaultModel;

    /// <summary>
    /// host:port of Redis (or any StackExchange.Redis configuration string): cluster membership and conversation
    /// state live there, and every silo on the same Redis and cluster id joins one cluster. Null: a single node
    /// with in-memory state.
    /// </summary>
    public string? Redis { get; init; }

    /// <summary>Silos with the same Redis and cluster id form one cluster.</summary>
    public string ClusterId { get; init; } = "chatcluster";

    /// <summary>Orleans silo-to-silo port; each silo on one machine takes its own.</summary>
    public int SiloPort { get; init; } = 11111;

    /// <summary>Orleans client gateway port (for external Orleans clients); 0 turns the client gateway off.</summary>
    public int GatewayPort { get; init; } = 30000;

    /// <summary>The address other silos reach this one on; loopback by default, so a node is not reachable from elsewhere unless asked.</summary>
    public string Advertise { get; init; } = "127.0.0.1";

    /// <summary>
    /// Orleans' Kubernetes hosting: the silo takes its name and address from the pod (POD_NAME, POD_NAMESPACE,
    /// POD_IP from the downward API) and watches the pods of its cluster. Needs --redis.
    /// </summary>
    public bool Kubernetes { get; init; }

    /// <summary>
    /// A PKCS#12 file (certificate with its private key) that turns on TLS between silos: every silo of the
    /// cluster presents it and accepts a peer only if the peer presents a certificate that chains to a root
    /// this machine trusts, or this same certificate (a cluster certificate shared through a secret). Null:
    /// silo-to-silo traffic is plain TCP (loopback, or a private network).
    /// </summary>
    public string? TlsCertificate { get; init; }

    public IReadOnlyList<string> ApiKeys { get; init; } = [];

    public string? KeysFile { get; init; }

    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>What this silo hosts: everything (one node), the front (gateway, conversations), or engines.</summary>
    public Hosting.SiloRole Role { get; init; } = Hosting.SiloRole.All;

    /// <summary>One engine per listed device: <c>cpu</c>, or <c>cuda:0,cuda:1</c> (ignored by a front silo).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// How turns pick an engine: <c>cache</c> (the default policy, Routing/CacheAwareRouter) or <c>random</c>
    /// (routing off: the baseline the bench compares against).
    /// </summary>
    public string Routing { get; init; } = "cache";

    /// <summary>
    /// The Orleans dashboard at /dashboard; null: on, except on a front silo, where it would cost a third of the
    /// node's memory (idle RSS 197 MB with it, 143 MB without; the budget for a front is 150 MB).
    /// </summary>
    public bool? Dashboard { get; init; }

    public bool DashboardOn => Dashboard ?? Role != Hosting.SiloRole.Front;

    /// <summary>
    /// On SIGTERM, how long running generations may take to finish before the silo leaves anyway; the process
    /// ends at most 5 s after that, whatever Redis does (exit code 0, or 2 when that bound ran out).
    /// </summary>
    public int DrainSeconds { get; init; } = 5;

    /// <summary>
    /// The graph file of the model folder the engines run: the Optimum export, or the fused graph the pipeline
    /// writes beside it (model.fused.onnx), whose KV cache is updated in place (README, "A fused graph").
    /// </summary>
    public string? Graph { get; init; }

    /// <summary>ONNX Runtime intra-op threads of each engine; 0: one per core.</summary>
    public int Threads { get; init; }

    /// <summary>
    /// Whether idle intra-op threads spin (<see cref="Inference.Scheduling.SchedulerOptions.AllowSpinning"/>): on only
    /// where the engine has cores no other thread wants, off (the default) where they are shared.
    /// </summary>
    public bool IntraOpSpinning { get; init; }

    /// <summary>Rows decoded together at most (sequences, or beams); the scheduler's batch size.</summary>
    public int MaxBatch { get; init; } = 32;

    /// <summary>Requests that may wait for a row before callers get 429.</summary>
    public int MaxQueue { get; init; } = 128;

    /// <summary>Pinned memory for conversations' KV caches kept between turns (MiB); least recently used go first.</summary>
    public int PrefixCacheMiB { get; init; } = 256;

    /// <summary>
    /// Minutes an idle conversation stays activated before Orleans collects it (its state stays in storage, and
    /// its KV cache in the engine's own bounded cache); bounds the memory of conversations nobody talks to.
    /// </summary>
    public int ConversationIdleMinutes { get; init; } = 2;

    /// <summary>Most user and assistant messages one conversation keeps; a turn beyond it gets 400.</summary>
    public int MaxConversationMessages { get; init; } = new Conversations.ConversationLimits().MaxMessages;

    /// <summary>Most UTF-8 bytes of text one conversation keeps; a turn beyond it gets 400.</summary>
    public long MaxConversationBytes { get; init; } = new Conversations.ConversationLimits().MaxBytes;

    /// <summary>Per API key (or client address, when keys are configured elsewhere); 0 = no limit.</summary>
    public int RequestsPerMinute { get; init; } = 600;

    /// <summary>Generations one key may run at once; 0 = no limit.</summary>
    public int MaxStreamsPerKey { get; init; } = 32;

    public static string DefaultModel => Path.Combine(AppContext.BaseDirectory, "models", "chatcluster-tiny");
}
