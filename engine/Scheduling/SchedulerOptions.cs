namespace ChatCluster.Inference.Scheduling;

/// <summary>Limits of one model's scheduler loop.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Most rows (sequences, or beams of a beam search) decoded together in one model call.</summary>
    public int MaxBatchRows { get; init; } = 32;

    /// <summary>Requests that may wait for a row; beyond this, callers get an "overloaded" error (HTTP 429).</summary>
    public int MaxQueuedRequests { get; init; } = 128;

    /// <summary>
    /// Prompt tokens prefilled per step, at most. A long prompt is run in chunks of this size between decode
    /// steps, so running streams wait no more than one chunk's worth of work.
    /// </summary>
    public int PrefillChunkTokens { get; init; } = 128;

    /// <summary>Memory for conversations' KV caches kept between turns; least recently used go first.</summary>
    public long PrefixCacheBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>ONNX Runtime intra-op threads; 0 lets it choose (one per core).</summary>
    public int Threads { get; init; }

    /// <summary>
    /// Lets idle intra-op threads spin between parallel sections (ONNX Runtime's own default). Off here: measured on
    /// 2 cores, spinning made the engine alone 1.3-1.7x faster on an idle machine and 2.0-2.6x slower on a busy one,
    /// and the whole stack 0.65x even on the idle one, where HTTP and grains share the cores (README, "The whole
    /// stack against the engine").
    /// </summary>
    public bool AllowSpinning { get; init; }

    /// <summary>
    /// The graph file of the model folder to run: the Optimum export (model.onnx) or the fused graph the pipeline
    /// writes beside it (model.fused.onnx; training/fused_graph.py), whose KV buffer is updated in place. Null: the
    /// fused graph where the folder has one, else the Optimum export.
    /// </summary>
    public string? Graph { get; init; }
}
