using System.CommandLine;
using ChatCluster.Silo.Hosting;

namespace ChatCluster.Silo.Commands;

/// <summary>
/// Serving a node: the root command's default, also reachable as <c>serve</c>. Options follow the contract
/// (README.md lists them with what each does).
/// </summary>
internal static class ServeCommand
{
    private static readonly SiloOptions Defaults = new();

    private static readonly Option<string> Urls = new("--urls") { Description = "Where to listen for HTTP.", DefaultValueFactory = _ => Defaults.Urls };
    private static readonly Option<string> Model = new("--model") { Description = "Model folder (Optimum decoder-with-past layout); the bundled model by default.", HelpName = "DIR" };
    private static readonly Option<string> Redis = new("--redis") { Description = "Redis host:port for cluster membership and durable state; a single node with in-memory state when absent.", HelpName = "HOST:PORT" };
    private static readonly Option<string> ClusterId = new("--cluster-id") { Description = "Silos with the same Redis and cluster id form one cluster.", DefaultValueFactory = _ => Defaults.ClusterId, HelpName = "ID" };
    private static readonly Option<int> SiloPort = new("--silo-port") { Description = "Orleans silo-to-silo port; each silo on one machine needs its own.", DefaultValueFactory = _ => Defaults.SiloPort, HelpName = "N" };
    private static readonly Option<int> GatewayPort = new("--gateway-port") { Description = "Orleans client gateway port; 0 turns it off.", DefaultValueFactory = _ => Defaults.GatewayPort, HelpName = "N" };
    private static readonly Option<string> Advertise = new("--advertise") { Description = "The IP address other silos reach this one on (the silo listens there too).", DefaultValueFactory = _ => Defaults.Advertise, HelpName = "ADDRESS" };
    private static readonly Option<bool> Kubernetes = new("--kubernetes") { Description = "Run as a Kubernetes pod: name and address from POD_NAME, POD_NAMESPACE and POD_IP (needs --redis)." };
    private static readonly Option<string> TlsCertificate = new("--tls-certificate") { Description = "A .pfx certificate that turns on TLS between silos (its password in CHATCLUSTER_TLS_PASSWORD).", HelpName = "FILE" };
    private static readonly Option<string[]> ApiKeys = new("--api-key") { Description = "An accepted API key (repeatable). None: open access, for local use.", HelpName = "KEY" };
    private static readonly Option<string> KeysFile = new("--keys-file") { Description = "A file of API keys, one per line.", HelpName = "FILE" };
    private static readonly Option<string[]> CorsOrigins = new("--cors-origin") { Description = "A browser origin allowed to call the API (repeatable).", HelpName = "ORIGIN" };
    private static readonly Option<string> Role = new("--role") { Description = "all (one node), front (gateway and conversations, no model) or inference (engines only).", DefaultValueFactory = _ => Defaults.Role.Name(), HelpName = "all|front|inference" };
    private static readonly Option<string> Device = new("--device") { Description = "The engines' devices: cpu, cuda, or a list such as cuda:0,cuda:1 (one engine each).", DefaultValueFactory = _ => Defaults.Device, HelpName = "LIST" };
    private static readonly Option<string> Routing = new("--routing") { Description = "cache (to the engine holding a conversation's cache, else the least loaded) or random.", DefaultValueFactory = _ => Defaults.Routing, HelpName = "cache|random" };
    private static readonly Option<string> Dashboard = new("--dashboard") { Description = "The Orleans dashboard at /dashboard: on (the default) or off (the default of a front silo).", HelpName = "on|off" };
    private static readonly Option<int> DrainSeconds = new("--drain-seconds") { Description = "On SIGTERM, how long running generations may take to finish; the process ends at most 5 s later, whatever Redis does.", DefaultValueFactory = _ => Defaults.DrainSeconds, HelpName = "N" };
    private static readonly Option<string?> Graph = new("--graph") { Description = "The model folder's graph file: model.onnx (the Optimum export) or model.fused.onnx (KV cache updated in place); default: the fused one where the folder has it.", HelpName = "FILE" };
    private static readonly Option<int> Threads = new("--threads") { Description = "ONNX Runtime intra-op threads per engine; 0: one per core.", DefaultValueFactory = _ => Defaults.Threads, HelpName = "N" };
    private static readonly Option<string> IntraOpSpinning = new("--intra-op-spinning") { Description = "Idle intra-op threads spin: on only where the engine has cores no other thread wants; off (the default) where HTTP, grains or other work share them.", DefaultValueFactory = _ => "off", HelpName = "on|off" };
    private static readonly Option<int> MaxBatch = new("--max-batch") { Description = "Most sequences (or beams) decoded together in one model step.", DefaultValueFactory = _ => Defaults.MaxBatch };
    private static readonly Option<int> MaxQueue = new("--max-queue") { Description = "Requests that may wait for a batch row; beyond it callers get 429.", DefaultValueFactory = _ => Defaults.MaxQueue };
    private static readonly Option<int> PrefixCacheMiB = new("--prefix-cache-mb") { Description = "Memory (MiB) for conversations' KV caches kept between turns.", DefaultValueFactory = _ => Defaults.PrefixCacheMiB };
    private static readonly Option<int> ConversationIdleMinutes = new("--conversation-idle-minutes") { Description = "Minutes an idle conversation stays in memory before it is deactivated (its state stays stored).", DefaultValueFactory = _ => Defaults.ConversationIdleMinutes };
    private static readonly Option<int> MaxConversationMessages = new("--max-conversation-messages") { Description = "Most messages one conversation keeps; a turn beyond it gets 400.", DefaultValueFactory = _ => Defaults.MaxConversationMessages };
    private static readonly Option<long> MaxConversationBytes = new("--max-conversation-bytes") { Description = "Most bytes of text one conversation keeps; a turn beyond it gets 400.", DefaultValueFactory = _ => Defaults.MaxConversationBytes };
    private static readonly Option<int> RequestsPerMinute = new("--requests-per-minute") { Description = "Per API key when keys are configured; 0 = no limit.", DefaultValueFactory = _ => Defaults.RequestsPerMinute };
    private static readonly Option<int> MaxStreamsPerKey = new("--max-streams-per-key") { Description = "Generations one API key may run at once; 0 = no limit.", DefaultValueFactory = _ => Defaults.MaxStreamsPerKey };

    private static readonly Option[] All =
    [
        Urls, Model, Redis, ClusterId, SiloPort, GatewayPort, Advertise, Kubernetes, TlsCertificate, ApiKeys, KeysFile, CorsOrigins, Role, Device, Routing, Dashboard, DrainSeconds, Graph, Threads, IntraOpSpinning, MaxBatch, MaxQueue, PrefixCacheMiB, ConversationIdleMinutes, MaxConversationMessages, MaxConversationBytes,
        RequestsPerMinute, MaxStreamsPerKey,
    ];

    /// <summary>Adds the serve options and action to <paramref name="command"/> (the root, and the serve subcommand).</summary>
    public static T Configure<T>(T command) where T : Command
    {
        foreach (var option in All)
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            try
            {
                var options = ToOptions(parseResult);
                await using var app = await SiloHost.CreateAppAsync(options, cancellationToken);
                ShutdownBound.Arm(app.Lifetime, SiloHost.ShutdownBoundOf(options), app.Logger);
                await app.RunAsync(cancellationToken);
                return 0;
            }
            catch (Exception e) when (e is FileNotFoundException or InvalidDataException or ArgumentException or InvalidOperationException or NotSupportedException or IOException
                or Orleans.Runtime.OrleansException or StackExchange.Redis.RedisException)
            {
                Console.Error.WriteLine($"serve: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>Parses serve's command line (as the tests' in-process servers do); throws on bad options.</summary>
    public static SiloOptions Parse(string[] args)
    {
        var command = Configure(new RootCommand());
        var result = command.Parse(args);
        if (result.Errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", result.Errors.Select(e => e.Message)));
        }

        return ToOptions(result);
    }

    private static SiloOptions ToOptions(ParseResult parseResult) => new()
    {
        Urls = parseResult.GetValue(Urls)!,
        Model = parseResult.GetValue(Model) is { } model ? Path.GetFullPath(model) : SiloOptions.DefaultModel,
        Redis = parseResult.GetValue(Redis),
        ClusterId = parseResult.GetValue(ClusterId)!,
        SiloPort = parseResult.GetValue(SiloPort),
        GatewayPort = parseResult.GetValue(GatewayPort),
        Advertise = parseResult.GetValue(Advertise)!,
        Kubernetes = parseResult.GetValue(Kubernetes),
        TlsCertificate = parseResult.GetValue(TlsCertificate),
        ApiKeys = parseResult.GetValue(ApiKeys) ?? [],
        KeysFile = parseResult.GetValue(KeysFile),
        AllowedOrigins = parseResult.GetValue(CorsOrigins) ?? [],
        Role = SiloRoles.Parse(parseResult.GetValue(Role)!),
        Device = parseResult.GetValue(Device)!,
        Routing = parseResult.GetValue(Routing)!,
        DrainSeconds = parseResult.GetValue(DrainSeconds),
        Dashboard = parseResult.GetValue(Dashboard) is { } dashboard ? OnOff("--dashboard", dashboard) : null,
        Graph = parseResult.GetValue(Graph),
        Threads = parseResult.GetValue(Threads),
        IntraOpSpinning = OnOff("--intra-op-spinning", parseResult.GetValue(IntraOpSpinning)!),
        MaxBatch = parseResult.GetValue(MaxBatch),
        MaxQueue = parseResult.GetValue(MaxQueue),
        PrefixCacheMiB = parseResult.GetValue(PrefixCacheMiB),
        ConversationIdleMinutes = parseResult.GetValue(ConversationIdleMinutes),
        MaxConversationMessages = parseResult.GetValue(MaxConversationMessages),
        MaxConversationBytes = parseResult.GetValue(MaxConversationBytes),
        RequestsPerMinute = parseResult.GetValue(RequestsPerMinute),
        MaxStreamsPerKey = parseResult.GetValue(MaxStreamsPerKey),
    };

    private static bool OnOff(string option, string value) => value switch
    {
        "on" => true,
        "off" => false,
        _ => throw new ArgumentException($"{option} '{value}' must be on or off."),
    };

    public static Command Create() => Configure(new Command("serve", "Serve the OpenAI API, the conversation API and the chat page (the default command)."));
}
