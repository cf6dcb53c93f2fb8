using System.Buffers;
using System.Text;
using ChatCluster.Silo.Redis;

namespace ChatCluster.Tests.Redis;

/// <summary>
/// The parser on byte streams cut at every point and spread over one-byte buffer segments, the way replies
/// arrive from a socket: an incomplete frame must leave the reader where it was, a complete one must parse whole.
/// </summary>
public sealed class RespParserTests
{
    private const string NestedReply = "*4\r\n$5\r\nhel\rl\r\n*2\r\n:-42\r\n$-1\r\n-ERR bad thing\r\n*0\r\n";

    [Fact]
    public void A_reply_cut_anywhere_is_incomplete_and_leaves_the_reader_unmoved()
    {
        byte[] bytes = Encoding.ASCII.GetBytes(NestedReply);
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            var reader = new SequenceReader<byte>(Segmented(bytes.AsSpan(0, cut)));

            Assert.False(RespParser.TryRead(ref reader, out _), $"cut at {cut}");
            Assert.Equal(0, reader.Consumed);
        }
    }

    [Fact]
    public void Replies_spread_over_one_byte_segments_parse_whole_one_after_another()
    {
        var reader = new SequenceReader<byte>(Segmented(Encoding.ASCII.GetBytes(NestedReply + "+OK\r\n$0\r\n\r\n*-1\r\n")));

        Assert.True(RespParser.TryRead(ref reader, out RedisValue nested));
        Assert.True(RespParser.TryRead(ref reader, out RedisValue ok));
        Assert.True(RespParser.TryRead(ref reader, out RedisValue empty));
        Assert.True(RespParser.TryRead(ref reader, out RedisValue nullArray));
        Assert.False(RespParser.TryRead(ref reader, out _));

        RedisValue[] outer = nested.AsArray();
        Assert.Equal("hel\rl", outer[0].AsString());
        Assert.Equal(-42, outer[1].AsArray()[0].AsLong());
        Assert.True(outer[1].AsArray()[1].IsNull);
        Assert.Equal("ERR bad thing", outer[2].ErrorMessage);
        Assert.Empty(outer[3].AsArray());
        Assert.Equal("OK", ok.ToString());
        Assert.Equal(RedisValueKind.BulkString, empty.Kind);
        Assert.Empty(empty.AsBytes()!);
        Assert.True(nullArray.IsNull);
    }

    [Theory]
    [InlineData("?what\r\n", "unexpected reply type byte 0x3f")]
    [InlineData(":12x\r\n", "'12x' is not an integer")]
    [InlineData("$3\r\nabcde\r\n", "does not end with CRLF")]
    [InlineData("+OK\n", "does not end with CRLF")]
    [InlineData("$-7\r\n", "bulk string length -7")]
    public void Bytes_that_are_not_resp_are_a_protocol_error(string wire, string reason)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(wire)));
        RedisConnectionException? error = null;
        try
        {
            RespParser.TryRead(ref reader, out _);
        }
        catch (RedisConnectionException ex)
        {
            error = ex;
        }

        Assert.NotNull(error);
        Assert.Contains(reason, error.Message);
    }

    private static ReadOnlySequence<byte> Segmented(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(bytes[..1].ToArray(), 0);
        Segment last = first;
        for (int i = 1; i < bytes.Length; i++)
        {
            last = last.Append(bytes.Slice(i, 1).ToArray());
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
