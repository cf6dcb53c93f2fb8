using System.Diagnostics;

namespace ChatCluster.Inference.Scheduling;

/// <summary>
/// What a caller hands the scheduler: prompt tokens (chat template applied), sampling, cache key, and the
/// caller's span, which the batch steps that serve the request link to.
/// </summary>
internal sealed record GenerationJob(int[] Prompt, SamplingParameters Sampling, string? CacheKey, int DroppedMessages = 0)
{
    public ActivityContext Trace { get; init; }
}
