using System.Threading.RateLimiting;
using ChatCluster.Gateway.Errors;

namespace ChatCluster.Gateway.Limits;

/// <summary>
/// Per-caller limits: a token bucket of requests (refilled evenly over each minute, so a caller may burst up
/// to a minute's allowance and then goes at the steady rate), and a cap on generations running at once. Each
/// refusal is a 429 with the seconds to wait in Retry-After.
/// </summary>
public sealed class ClientLimits : IDisposable
{
    /// <summary>Seconds to wait when the stream cap refuses: a slot frees whenever one of the caller's replies ends.</summary>
    public const int StreamRetryAfterSeconds = 1;

    private readonly PartitionedRateLimiter<string>? _requests;
    private readonly PartitionedRateLimiter<string>? _streams;
    private readonly int _requestsPerMinute;
    private readonly int _maxStreams;

    public ClientLimits(GatewayOptions options)
    {
        _requestsPerMinute = options.RequestsPerMinute;
        _maxStreams = options.MaxConcurrentStreamsPerKey;
        if (_requestsPerMinute > 0)
        {
            var bucket = new TokenBucketRateLimiterOptions
            {
                TokenLimit = _requestsPerMinute,
                TokensPerPeriod = 1,
                ReplenishmentPeriod = TimeSpan.FromMinutes(1) / _requestsPerMinute,
                QueueLimit = 0,
                AutoReplenishment = true,
            };
            _requests = PartitionedRateLimiter.Create<string, string>(
                key => RateLimitPartition.GetTokenBucketLimiter(key, _ => bucket));
        }

        if (_maxStreams > 0)
        {
            var concurrency = new ConcurrencyLimiterOptions { PermitLimit = _maxStreams, QueueLimit = 0 };
            _streams = PartitionedRateLimiter.Create<string, string>(
                key => RateLimitPartition.GetConcurrencyLimiter(key, _ => concurrency));
        }
    }

    /// <summary>Takes one request from <paramref name="limitKey"/>'s bucket, or throws a 429; a null key is not limited.</summary>
    public void AcquireRequest(string? limitKey)
    {
        if (_requests is null || limitKey is null)
        {
            return;
        }

        using var lease = _requests.AttemptAcquire(limitKey);
        if (!lease.IsAcquired)
        {
            var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
            throw new ApiException(ApiError.TooManyRequests(
                $"Rate limit reached: {_requestsPerMinute} requests per minute for this API key.",
                Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds))));
        }
    }

    /// <summary>Holds one of <paramref name="limitKey"/>'s generation slots until disposed, or throws a 429; a null key is not limited.</summary>
    public IDisposable AcquireStream(string? limitKey)
    {
        if (_streams is null || limitKey is null)
        {
            return NoLease.Instance;
        }

        var lease = _streams.AttemptAcquire(limitKey);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            throw new ApiException(ApiError.TooManyRequests(
                $"Too many replies in progress: at most {_maxStreams} at once for this API key.", StreamRetryAfterSeconds));
        }

        return lease;
    }

    public void Dispose()
    {
        _requests?.Dispose();
        _streams?.Dispose();
    }

    private sealed class NoLease : IDisposable
    {
        public static readonly NoLease Instance = new();

        public void Dispose()
        {
        }
    }
}
