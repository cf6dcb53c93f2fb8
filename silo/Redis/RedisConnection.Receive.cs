using System.Buffers;
using System.IO.Pipelines;

namespace ChatCluster.Silo.Redis;

public sealed partial class RedisConnection
{
    // Reads replies as they arrive and hands each to the caller at the head of the link's queue.
    private async Task ReceiveAsync(RedisLink link)
    {
        Exception? cause = null;
        try
        {
            while (true)
            {
                ReadResult result = await link.Input.ReadAsync();
                ReadOnlySequence<byte> buffer = result.Buffer;
                SequencePosition consumed = DeliverReplies(link, buffer);
                if (result.IsCompleted)
                {
                    cause = new EndOfStreamException("the server closed the connection");
                    break;
                }

                // Consumed up to the first incomplete reply, examined all: the next read waits for more bytes.
                link.Input.AdvanceTo(consumed, buffer.End);
            }
        }
        catch (Exception ex)
        {
            cause = ex;
        }

        await link.Input.CompleteAsync();
        OnLinkLost(link, cause);
    }

    private SequencePosition DeliverReplies(RedisLink link, in ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (RespParser.TryRead(ref reader, out RedisValue value))
        {
            PendingReply? reply;
            lock (_gate)
            {
                if (!link.Pending.TryPeek(out reply))
                {
                    throw new RedisConnectionException("Redis protocol error: a reply arrived that no command awaits.");
                }

                if (!reply.Absorb(value))
                {
                    continue;
                }

                link.Pending.Dequeue();
            }

            // Outside the lock; continuations run asynchronously (see PendingReply), so this never runs caller code.
            reply.Complete(value);
        }

        return reader.Position;
    }

    private async Task SendAsync(RedisLink link)
    {
        Exception? cause = null;
        try
        {
            await link.SendAsync(_disposing.Token);
        }
        catch (Exception ex)
        {
            cause = ex;
        }

        await link.Output.Reader.CompleteAsync();
        OnLinkLost(link, cause);
    }
}
