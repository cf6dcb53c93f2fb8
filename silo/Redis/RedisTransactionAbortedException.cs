namespace ChatCluster.Silo.Redis;

/// <summary>EXEC answered null: a key under WATCH changed, so none of the transaction's commands ran.</summary>
public sealed class RedisTransactionAbortedException()
    : RedisException("The transaction was aborted because a watched key changed; none of its commands ran.");
