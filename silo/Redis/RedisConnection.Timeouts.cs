namespace ChatCluster.Silo.Redis;

public sealed partial class RedisConnection
{
    // Runs on a timer (a tenth of CommandTimeout). Every command gets the same timeout and queues are in issue
    // order, so deadlines only grow along a queue: the sweep stops at the first caller still in time.
    // A timed-out command that was sent keeps its place in the queue, so its late reply is taken and dropped
    // rather than handed to the next caller.
    private void SweepTimeouts()
    {
        long now = _time.GetTimestamp();
        List<PendingReply>? unsent = null;
        List<PendingReply>? unanswered = null;
        lock (_gate)
        {
            while (_backlog.TryPeek(out PendingReply? waiting) && waiting.Deadline <= now)
            {
                (unsent ??= []).Add(_backlog.Dequeue());
            }

            if (_link is { } link)
            {
                foreach (PendingReply sent in link.Pending)
                {
                    if (sent.Task.IsCompleted)
                    {
                        continue;
                    }

                    if (sent.Deadline > now)
                    {
                        break;
                    }

                    (unanswered ??= []).Add(sent);
                }
            }
        }

        string timeout = $"{_options.CommandTimeout.TotalSeconds:0.###} s";
        foreach (PendingReply reply in unsent ?? [])
        {
            reply.TrySetException(new RedisTimeoutException(
                $"No connection to Redis at {Endpoint} within {timeout}; {reply.Command} was not sent."));
        }

        foreach (PendingReply reply in unanswered ?? [])
        {
            reply.TrySetException(new RedisTimeoutException(
                $"Redis at {Endpoint} did not answer {reply.Command} within {timeout}."));
        }
    }
}
