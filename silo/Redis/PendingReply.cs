namespace ChatCluster.Silo.Redis;

/// <summary>
/// A caller waiting for its reply. Replies arrive in the order commands were written, so these wait in a FIFO
/// per connection and the head takes the next reply. A transaction is one entry that takes all its replies
/// (MULTI's +OK, one +QUEUED per command, then EXEC's array) and completes with the last.
/// </summary>
internal sealed class PendingReply(string command, long deadline, int replyCount, bool isTransaction)
    : TaskCompletionSource<RedisValue>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    private int _remainingReplies = replyCount;

    /// <summary>The command's name, for messages.</summary>
    public string Command { get; } = command;

    /// <summary>The <see cref="TimeProvider"/> timestamp after which the caller gets a timeout.</summary>
    public long Deadline { get; } = deadline;

    /// <summary>The encoded command while it waits, unsent, for a connection; empty once sent.</summary>
    public ReadOnlyMemory<byte> BackloggedFrame { get; set; }

    // The first error a transaction's command met while being queued: EXEC then answers EXECABORT.
    private string? _queuingError;

    /// <summary>Takes one reply; true when it was the last one this entry waits for.</summary>
    public bool Absorb(in RedisValue reply)
    {
        if (--_remainingReplies > 0)
        {
            _queuingError ??= reply.ErrorMessage;
            return false;
        }

        return true;
    }

    /// <summary>Hands the final reply to the caller (no-op if the caller already timed out).</summary>
    public void Complete(in RedisValue reply)
    {
        if (reply.IsError)
        {
            string message = _queuingError is null ? reply.ErrorMessage! : $"{reply.ErrorMessage} ({_queuingError})";
            TrySetException(new RedisServerException(message));
        }
        else if (isTransaction && reply.IsNull)
        {
            TrySetException(new RedisTransactionAbortedException());
        }
        else
        {
            TrySetResult(reply);
        }
    }
}
