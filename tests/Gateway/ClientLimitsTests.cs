using ChatCluster.Gateway;
using ChatCluster.Gateway.Errors;
using ChatCluster.Gateway.Limits;

namespace ChatCluster.Tests.Gateway;

public sealed class ClientLimitsTests
{
    [Fact]
    public void The_request_bucket_refuses_past_its_allowance_with_a_retry_after()
    {
        // 3 a minute: one token every 20 s, so the refusal asks for a wait of a few seconds up to 20.
        using var limits = new ClientLimits(new GatewayOptions { ModelId = "m", RequestsPerMinute = 3 });

        limits.AcquireRequest("alice");
        limits.AcquireRequest("alice");
        limits.AcquireRequest("alice");
        var error = Assert.Throws<ApiException>(() => limits.AcquireRequest("alice")).Error;

        Assert.Equal(429, error.Status);
        Assert.Equal("rate_limit_exceeded", error.Code);
        Assert.InRange(error.RetryAfterSeconds!.Value, 1, 20);
        Assert.Contains("3 requests per minute", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_key_has_its_own_bucket()
    {
        using var limits = new ClientLimits(new GatewayOptions { ModelId = "m", RequestsPerMinute = 1 });

        limits.AcquireRequest("alice");
        limits.AcquireRequest("bob");

        Assert.Throws<ApiException>(() => limits.AcquireRequest("alice"));
    }

    [Fact]
    public void The_stream_cap_frees_a_slot_when_a_stream_ends()
    {
        using var limits = new ClientLimits(new GatewayOptions { ModelId = "m", MaxConcurrentStreamsPerKey = 2 });

        var first = limits.AcquireStream("alice");
        using var second = limits.AcquireStream("alice");
        var refused = Assert.Throws<ApiException>(() => limits.AcquireStream("alice")).Error;
        using var otherKey = limits.AcquireStream("bob");
        first.Dispose();
        using var third = limits.AcquireStream("alice");

        Assert.Equal(429, refused.Status);
        Assert.Equal(ClientLimits.StreamRetryAfterSeconds, refused.RetryAfterSeconds);
        Assert.Contains("at most 2 at once", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Callers_of_an_open_server_are_not_limited_where_a_key_would_be()
    {
        using var limits = new ClientLimits(new GatewayOptions { ModelId = "m", RequestsPerMinute = 1, MaxConcurrentStreamsPerKey = 1 });

        for (var i = 0; i < 5; i++)
        {
            limits.AcquireRequest(null);
        }

        using var first = limits.AcquireStream(null);
        using var second = limits.AcquireStream(null);
        limits.AcquireRequest("keyed");
        using var keyedStream = limits.AcquireStream("keyed");

        Assert.Throws<ApiException>(() => limits.AcquireRequest("keyed"));
        Assert.Throws<ApiException>(() => limits.AcquireStream("keyed"));
    }

    [Fact]
    public void Zero_turns_both_limits_off()
    {
        using var limits = new ClientLimits(new GatewayOptions { ModelId = "m", RequestsPerMinute = 0, MaxConcurrentStreamsPerKey = 0 });

        var leases = new List<IDisposable>();
        for (var i = 0; i < 1000; i++)
        {
            limits.AcquireRequest("alice");
            leases.Add(limits.AcquireStream("alice"));
        }

        Assert.Equal(1000, leases.Count);
    }
}
