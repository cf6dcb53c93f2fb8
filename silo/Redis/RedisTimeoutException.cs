namespace ChatCluster.Silo.Redis;

/// <summary>
/// No reply came within <see cref="RedisOptions.CommandTimeout"/>. The command may still run; its late reply is
/// discarded and the connection stays usable.
/// </summary>
public sealed class RedisTimeoutException(string message) : RedisException(message);
