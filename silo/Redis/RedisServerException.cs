namespace ChatCluster.Silo.Redis;

/// <summary>The server answered the command with an error reply; the message is the server's own.</summary>
public sealed class RedisServerException(string message) : RedisException(message);
