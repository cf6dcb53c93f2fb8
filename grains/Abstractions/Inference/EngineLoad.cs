namespace ChatCluster.Grains.Inference;

/// <summary>An engine's load as it reports it to the routers.</summary>
[GenerateSerializer, Immutable, Alias("chatcluster.engine-load")]
public sealed record EngineLoad
{
    /// <summary>The engine's grain key (<see cref="EngineKey"/>).</summary>
    [Id(0)] public required string Engine { get; init; }

    /// <summary>The model it serves (its folder name, as /v1/models lists it).</summary>
    [Id(1)] public required string Model { get; init; }

    /// <summary>Requests submitted and not yet running: waiting for a batch row, or, with rows free, for their prefill turn.</summary>
    [Id(2)] public int QueuedRequests { get; init; }

    /// <summary>Rows decoding now (sequences, or beams).</summary>
    [Id(3)] public int ActiveRows { get; init; }

    [Id(4)] public int MaxBatchRows { get; init; }

    /// <summary>The silo is shutting down: it finishes what it runs and takes nothing new.</summary>
    [Id(5)] public bool Draining { get; init; }

    /// <summary>What a router weighs: requests waiting plus rows running.</summary>
    public int Outstanding => QueuedRequests + ActiveRows;
}
