using System.Buffers;
using System.Net.Sockets;

namespace ChatCluster.Silo.Redis;

public sealed partial class RedisConnection
{
    /// <summary>
    /// The wait before reconnect attempt <paramref name="attempt"/> (0-based): the initial backoff doubled per
    /// failed attempt, capped at the maximum, so a long outage costs one attempt per cap period.
    /// </summary>
    internal static TimeSpan ReconnectDelay(int attempt, TimeSpan initial, TimeSpan max) =>
        attempt >= 30 ? max : TimeSpan.FromTicks(Math.Min(initial.Ticks << attempt, max.Ticks));

    // Connects, starts the loops and runs the handshake (AUTH, SELECT, then PING, which proves the server
    // answers) within ConnectTimeout. The link is not yet visible to callers.
    private async Task<RedisLink> OpenLinkAsync(CancellationToken cancellationToken)
    {
        RedisEndpoint endpoint = _options.Endpoint;
        using var timeout = new CancellationTokenSource(_options.ConnectTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        RedisLink? link = null;
        try
        {
            await socket.ConnectAsync(endpoint.Host, endpoint.Port, linked.Token);
            link = new RedisLink(socket);
            link.ReceiveLoop = ReceiveAsync(link);
            link.SendLoop = SendAsync(link);
            var handshake = new List<Task<RedisValue>>(3);
            lock (_gate)
            {
                if (_options.Password is { } password)
                {
                    handshake.Add(WriteOnLink(link, "AUTH", password));
                }

                if (_options.Database != 0)
                {
                    handshake.Add(WriteOnLink(link, "SELECT", _options.Database));
                }

                handshake.Add(WriteOnLink(link, "PING"));
            }

            await Task.WhenAll(handshake).WaitAsync(linked.Token);
            return link;
        }
        catch (Exception ex)
        {
            if (link is null)
            {
                socket.Dispose();
            }
            else
            {
                OnLinkLost(link, ex);
            }

            throw ex switch
            {
                OperationCanceledException when cancellationToken.IsCancellationRequested => ex,
                OperationCanceledException => new RedisConnectionException(
                    $"Could not connect to Redis at {endpoint} within {_options.ConnectTimeout.TotalSeconds:0.###} s."),
                RedisServerException => new RedisConnectionException(
                    $"Redis at {endpoint} refused the connection handshake: {ex.Message}", ex),
                _ => new RedisConnectionException($"Could not connect to Redis at {endpoint}: {ex.Message}", ex),
            };
        }
    }

    // A handshake command: written on a link that callers cannot see yet. Called under _gate.
    private Task<RedisValue> WriteOnLink(RedisLink link, string command, params ReadOnlySpan<RedisArgument> arguments)
    {
        var reply = new PendingReply(command, long.MaxValue, replyCount: 1, isTransaction: false);
        RespWriter.WriteCommand(link.Output.Writer, command, arguments);
        link.Commit(reply);
        return reply.Task;
    }

    // Makes a handshaken link the live one and sends the backlog on it, oldest first.
    private void Publish(RedisLink link)
    {
        lock (_gate)
        {
            if (!_disposed && !link.Failed)
            {
                while (_backlog.TryDequeue(out PendingReply? reply))
                {
                    // A backlogged caller that already timed out is not sent at all.
                    if (!reply.Task.IsCompleted)
                    {
                        link.Output.Writer.Write(reply.BackloggedFrame.Span);
                        reply.BackloggedFrame = default;
                        link.Commit(reply);
                    }
                }

                Volatile.Write(ref _link, link);
                return;
            }
        }

        OnLinkLost(link, null);
        throw new RedisConnectionException($"The connection to Redis at {Endpoint} closed during the handshake.");
    }

    // The link's socket failed or closed: fail what it owes (the server may or may not have run those
    // commands, so they are not resent) and, if it was the live link, reconnect. Safe to call more than once.
    private void OnLinkLost(RedisLink link, Exception? cause)
    {
        PendingReply[] orphans;
        bool reconnect;
        lock (_gate)
        {
            if (link.Failed)
            {
                return;
            }

            link.Failed = true;
            orphans = [.. link.Pending];
            link.Pending.Clear();
            reconnect = _link == link;
            if (reconnect)
            {
                Volatile.Write(ref _link, null);
                _reconnecting = Task.Run(ReconnectAsync);
            }
        }

        link.Dispose();
        foreach (PendingReply orphan in orphans)
        {
            orphan.TrySetException(new RedisConnectionException(
                $"The connection to Redis at {Endpoint} was lost before {orphan.Command} was answered; it may or may not have run.",
                cause));
        }

        if (reconnect)
        {
            LogConnectionLost(Endpoint, orphans.Length, cause?.Message);
        }
    }

    private async Task ReconnectAsync()
    {
        for (int attempt = 0; ; attempt++)
        {
            TimeSpan delay = ReconnectDelay(attempt, _options.InitialReconnectBackoff, _options.MaxReconnectBackoff);
            try
            {
                await Task.Delay(delay, _time, _disposing.Token);
                Publish(await OpenLinkAsync(_disposing.Token));
                LogReconnected(Endpoint, attempt + 1);
                return;
            }
            catch (Exception) when (_disposing.IsCancellationRequested)
            {
                return;
            }
            catch (RedisConnectionException ex)
            {
                LogReconnectFailed(Endpoint, attempt + 1, ex.Message);
            }
        }
    }
}
