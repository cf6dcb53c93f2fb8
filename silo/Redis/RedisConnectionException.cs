namespace ChatCluster.Silo.Redis;

/// <summary>
/// The connection failed while the command was in flight (or could not be made). Whether the server ran the
/// command is unknown; the client reconnects in the background.
/// </summary>
public sealed class RedisConnectionException(string message, Exception? innerException = null)
    : RedisException(message, innerException);
