namespace ChatCluster.Gateway;

/// <summary>How the gateway serves: which model, who may call, and how much each caller may ask.</summary>
public sealed record GatewayOptions
{
    /// <summary>The one model this node serves; requests naming another model get 404 model_not_found.</summary>
    public required string ModelId { get; init; }

    /// <summary>When the model was loaded (or, on a front silo, when the node started): /v1/models' <c>created</c>.</summary>
    public long ModelCreatedUnixSeconds { get; init; }

    /// <summary>API keys accepted as <c>Authorization: Bearer KEY</c>. None here and no <see cref="KeysFile"/>: open access.</summary>
    public IReadOnlyList<string> ApiKeys { get; init; } = [];

    /// <summary>A file of further keys, one per line; blank lines and lines starting with # are skipped.</summary>
    public string? KeysFile { get; init; }

    /// <summary>Origins allowed to call the API from a browser (CORS); empty sends no CORS headers at all.</summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>Requests per minute per key; 0 turns the rate limit off. An open server (no keys) is not limited.</summary>
    public int RequestsPerMinute { get; init; } = 600;

    /// <summary>Generations (streamed or not) one key may have running at once; 0 turns the cap off. An open server is not limited.</summary>
    public int MaxConcurrentStreamsPerKey { get; init; } = 32;

    /// <summary>Largest request body read; a larger one gets 413 before any of it is parsed.</summary>
    public int MaxRequestBodyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// Most messages one chat completion may carry: every one is run through the chat template before the
    /// window is checked, so the count bounds the work a single request can ask for.
    /// </summary>
    public int MaxMessages { get; init; } = 1000;

    /// <summary>Largest <c>n</c> (choices per chat completion); each choice is a sequence in the batch.</summary>
    public int MaxChoices { get; init; } = 8;

    /// <summary>
    /// Paths of the host's own (not /v1) that need a key when keys are configured, such as /metrics and
    /// /dashboard: what a node exposes about its traffic is for its operators.
    /// </summary>
    public IReadOnlyList<string> KeyProtectedPaths { get; init; } = [];

    /// <summary>Largest <c>beam_width</c>; each beam is a sequence in the batch.</summary>
    public int MaxBeamWidth { get; init; } = Inference.Sampling.SamplingLimits.MaxBeamWidth;
}
