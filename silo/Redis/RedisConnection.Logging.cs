using Microsoft.Extensions.Logging;

namespace ChatCluster.Silo.Redis;

public sealed partial class RedisConnection
{
    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Lost the connection to Redis at {Endpoint} ({Reason}); {InFlight} commands in flight failed. Reconnecting.")]
    private partial void LogConnectionLost(RedisEndpoint endpoint, int inFlight, string? reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reconnect attempt {Attempt} to Redis at {Endpoint} failed: {Reason}")]
    private partial void LogReconnectFailed(RedisEndpoint endpoint, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconnected to Redis at {Endpoint} after {Attempts} attempts.")]
    private partial void LogReconnected(RedisEndpoint endpoint, int attempts);
}
