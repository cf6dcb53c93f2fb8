
namespace ChatCluster.Inference.Scheduling;

/// <summary>What a caller hands the scheduler: prompt tokens (chat template applied), sampling, cache key.</summary>
internal sealed record GenerationJob(int[] Prompt, SamplingParameters Sampling, string? CacheKey, int DroppedMessages = 0);
