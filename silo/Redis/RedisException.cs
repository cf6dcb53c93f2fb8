namespace ChatCluster.Silo.Redis;

/// <summary>The base of every failure the Redis client reports.</summary>
public class RedisException(string message, Exception? innerException = null) : Exception(message, innerException);
