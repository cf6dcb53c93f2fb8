using System.IO.Pipelines;
using System.Net.Sockets;

namespace ChatCluster.Silo.Redis;

/// <summary>
/// One TCP connection to the server and what belongs to it alone: the send pipe, the receive reader and the
/// replies it owes. A lost link is never reused: the connection opens a new one, so nothing half-written on the
/// old socket reaches the new one.
/// </summary>
internal sealed class RedisLink : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private int _disposed;

    public RedisLink(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
    }

    /// <summary>
    /// Callers write commands here (under the connection's lock); the send loop drains it to the socket, so all
    /// commands written while one send is in progress go out together in the next. No pause threshold: a flush
    /// never waits, which is what lets callers flush while holding the lock.
    /// </summary>
    public Pipe Output { get; } = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));

    public PipeReader Input { get; }

    /// <summary>Callers awaiting replies, oldest first. Guarded by the connection's lock.</summary>
    public Queue<PendingReply> Pending { get; } = new();

    /// <summary>Set once, under the connection's lock, when the link is lost or closed.</summary>
    public bool Failed { get; set; }

    public Task ReceiveLoop { get; set; } = Task.CompletedTask;

    public Task SendLoop { get; set; } = Task.CompletedTask;

    /// <summary>Queues the caller for the reply and hands what was written to the send loop.</summary>
    public void Commit(PendingReply reply)
    {
        Pending.Enqueue(reply);
        ValueTask<FlushResult> flush = Output.Writer.FlushAsync();

        // Completes synchronously: the pipe has no pause threshold (see Output).
        flush.GetAwaiter().GetResult();
    }

    public async Task SendAsync(CancellationToken cancellationToken)
    {
        PipeReader pending = Output.Reader;
        while (true)
        {
            ReadResult result = await pending.ReadAsync(cancellationToken);
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                await _stream.WriteAsync(segment, cancellationToken);
            }

            pending.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        // Shutting the socket down wakes both loops; they see the link Failed and end.
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already reset by the peer; disposing below still releases it.
        }

        _stream.Dispose();
        Output.Writer.Complete();
    }
}
