using System.Diagnostics.Metrics;

namespace ChatCluster.Gateway;

/// <summary>The gateway's metrics: what it turned away, and why.</summary>
public static class GatewayTelemetry
{
    public const string MeterName = "ChatCluster.Gateway";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Requests answered with an error, by status and OpenAI error code (rate_limit_exceeded, invalid_api_key, ...).</summary>
    public static readonly Counter<long> RejectedRequests = Meter.CreateCounter<long>("chatcluster.gateway.rejected_requests", "{request}");

    public static void Rejected(Errors.ApiError error) => RejectedRequests.Add(
        1,
        new KeyValuePair<string, object?>("http.response.status_code", error.Status),
        new KeyValuePair<string, object?>("reason", error.Code ?? error.Type));
}
