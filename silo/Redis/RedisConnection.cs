using System.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatCluster.Silo.Redis;

/// <summary>
/// A Redis client over one TCP connection that many callers share at once (pipelining): each command is written
/// into the send buffer under a short lock together with its place in the reply queue, so replies, which Redis
/// sends in command order, go to the caller at the head of the queue.
/// <para>
/// Failure model: a command gets its reply, a <see cref="RedisServerException"/>, a
/// <see cref="RedisTimeoutException"/> after <see cref="RedisOptions.CommandTimeout"/>, or, when the connection
/// is lost while it is in flight, a <see cref="RedisConnectionException"/>. After a loss the client reconnects in
/// the background with capped exponential backoff, re-authenticates and re-selects the database; commands issued
/// meanwhile wait (unsent) for the new connection until their timeout.
/// </para>
/// Split by concern: <c>.Link</c> (connect, handshake, loss, reconnect), <c>.Receive</c> (the receive loop),
/// <c>.Timeouts</c>, <c>.Logging</c>.
/// </summary>
public sealed partial class RedisConnection : IAsyncDisposable
{
    private readonly RedisOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _commandTimeoutTicks;

    // Guards _link, _backlog, _disposed, every link's Pending queue and writes into a link's Output, so that a
    // command's bytes and its place in the reply queue are always in the same order.
    private readonly Lock _gate = new();

    // Commands issued while no link is ready, in issue order; sent first when one is.
    private readonly Queue<PendingReply> _backlog = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly ITimer _timeoutSweep;
    private RedisLink? _link;
    private Task _reconnecting = Task.CompletedTask;
    private bool _disposed;

    private RedisConnection(RedisOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _commandTimeoutTicks = (long)(options.CommandTimeout.TotalSeconds * time.TimestampFrequency);
        TimeSpan sweepPeriod = Clamp(options.CommandTimeout / 10, TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1));
        _timeoutSweep = time.CreateTimer(static state => ((RedisConnection)state!).SweepTimeouts(), this, sweepPeriod, sweepPeriod);
    }

    public RedisEndpoint Endpoint => _options.Endpoint;

    /// <summary>Whether a connection is up now (false while reconnecting).</summary>
    public bool IsConnected => Volatile.Read(ref _link) is not null;

    /// <summary>Connects and runs AUTH/SELECT as configured.</summary>
    /// <exception cref="RedisConnectionException">The server cannot be reached or refuses the handshake.</exception>
    public static Task<RedisConnection> ConnectAsync(RedisOptions options, CancellationToken cancellationToken) =>
        ConnectAsync(options, TimeProvider.System, NullLogger.Instance, cancellationToken);

    /// <inheritdoc cref="ConnectAsync(RedisOptions, CancellationToken)"/>
    public static async Task<RedisConnection> ConnectAsync(
        RedisOptions options, TimeProvider timeProvider, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var connection = new RedisConnection(options, timeProvider, logger);
        try
        {
            connection.Publish(await connection.OpenLinkAsync(cancellationToken));
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends one command, e.g. <c>ExecuteAsync("SET", key, bytes)</c>, and returns its reply.</summary>
    /// <exception cref="RedisServerException">The server answered with an error.</exception>
    public Task<RedisValue> ExecuteAsync(string command, params ReadOnlySpan<RedisArgument> arguments)
    {
        var reply = new PendingReply(command, Deadline(), replyCount: 1, isTransaction: false);
        lock (_gate)
        {
            IBufferWriter<byte> output = BeginFrame();
            RespWriter.WriteCommand(output, command, arguments);
            EndFrame(reply, output);
        }

        return reply.Task;
    }

    /// <summary>
    /// Runs the commands atomically (MULTI, the commands, EXEC, written as one batch so no other caller's
    /// command lands inside) and returns EXEC's results, one per command. A command that fails at run time
    /// (e.g. WRONGTYPE) yields an error element and the others still run, as in Redis.
    /// </summary>
    /// <exception cref="RedisServerException">A command was rejected while queuing (EXECABORT); none ran.</exception>
    /// <exception cref="RedisTransactionAbortedException">A key under WATCH changed; none ran.</exception>
    public async Task<RedisValue[]> TransactionAsync(IReadOnlyList<RedisCommand> commands)
    {
        ArgumentNullException.ThrowIfNull(commands);
        var reply = new PendingReply("MULTI/EXEC", Deadline(), replyCount: commands.Count + 2, isTransaction: true);
        lock (_gate)
        {
            IBufferWriter<byte> output = BeginFrame();
            RespWriter.WriteCommand(output, "MULTI", []);
            foreach (RedisCommand command in commands)
            {
                RespWriter.WriteCommand(output, command.Name, command.Arguments);
            }

            RespWriter.WriteCommand(output, "EXEC", []);
            EndFrame(reply, output);
        }

        return (await reply.Task).AsArray();
    }

    public async ValueTask DisposeAsync()
    {
        RedisLink? link;
        PendingReply[] unsent;
        Task reconnecting;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            link = _link;
            _link = null;
            unsent = [.. _backlog];
            _backlog.Clear();
            reconnecting = _reconnecting;
        }

        await _disposing.CancelAsync();
        _timeoutSweep.Dispose();
        foreach (PendingReply reply in unsent)
        {
            reply.TrySetException(new ObjectDisposedException(nameof(RedisConnection)));
        }

        if (link is not null)
        {
            OnLinkLost(link, new ObjectDisposedException(nameof(RedisConnection)));
            await Task.WhenAll(link.ReceiveLoop, link.SendLoop);
        }

        await reconnecting;
        _disposing.Dispose();
    }

    // Where the next command's bytes go: the live link's send pipe, or a private buffer kept in the backlog.
    // Called under _gate, paired with EndFrame.
    private IBufferWriter<byte> BeginFrame()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _link is { } link ? link.Output.Writer : new ArrayBufferWriter<byte>();
    }

    private void EndFrame(PendingReply reply, IBufferWriter<byte> output)
    {
        if (output is ArrayBufferWriter<byte> frame)
        {
            reply.BackloggedFrame = frame.WrittenMemory;
            _backlog.Enqueue(reply);
        }
        else
        {
            _link!.Commit(reply);
        }
    }

    private long Deadline() => _time.GetTimestamp() + _commandTimeoutTicks;

    private static TimeSpan Clamp(TimeSpan value, TimeSpan min, TimeSpan max) =>
        value < min ? min : value > max ? max : value;
}
