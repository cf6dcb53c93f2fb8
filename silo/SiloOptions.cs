namespace ChatCluster.Silo;

/// <summary>The serve command's options (see the contract in README.md).</summary>
public sealed record SiloOptions
{
    public string Urls { get; init; } = "http://127.0.0.1:8080";

    /// <summary>The model folder; the bundled model (copied next to the program) by default.</summary>
    public string Model { get; init; } = DefaultModel;

    /// <summary>host:port of Redis for durable state; null keeps state in memory (single node).</summary>
    public string? Redis { get; init; }

    public IReadOnlyList<string> ApiKeys { get; init; } = [];

    public string? KeysFile { get; init; }

    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    public string Device { get; init; } = "cpu";

    public static string DefaultModel => Path.Combine(AppContext.BaseDirectory, "models", "chatcluster-tiny");
}
