using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace ChatCluster.Silo.Redis;

/// <summary>
/// Reads RESP2 replies in place from the receive buffer. A frame that has not fully arrived leaves the reader
/// where the frame began, so the next read resumes there once more bytes are in (the receive loop marks the
/// whole buffer examined, so it waits for new bytes instead of spinning).
/// </summary>
internal static class RespParser
{
    // Replies nest only as deep as Lua tables or COMMAND INFO do; deeper means a corrupt stream.
    private const int MaxDepth = 64;

    // proto-max-bulk-len's ceiling; a longer length means a corrupt stream, not a large value.
    private const long MaxBulkLength = 512L * 1024 * 1024;

    /// <summary>Reads one whole reply, or returns false and leaves <paramref name="reader"/> unmoved.</summary>
    /// <exception cref="RedisConnectionException">The bytes are not RESP2.</exception>
    public static bool TryRead(ref SequenceReader<byte> reader, out RedisValue value)
    {
        long start = reader.Consumed;
        if (TryReadValue(ref reader, 0, out value))
        {
            return true;
        }

        reader.Rewind(reader.Consumed - start);
        return false;
    }

    private static bool TryReadValue(ref SequenceReader<byte> reader, int depth, out RedisValue value)
    {
        value = default;
        if (!reader.TryRead(out byte type) || !TryReadLine(ref reader, out ReadOnlySpan<byte> line))
        {
            return false;
        }

        switch (type)
        {
            case (byte)'+':
                value = RedisValue.SimpleString(StatusText(line));
                return true;
            case (byte)'-':
                value = RedisValue.Error(Encoding.UTF8.GetString(line));
                return true;
            case (byte)':':
                value = RedisValue.Integer(ParseInteger(line));
                return true;
            case (byte)'$':
                return TryReadBulkString(ref reader, ParseInteger(line), out value);
            case (byte)'*':
                if (depth == MaxDepth)
                {
                    throw ProtocolError($"arrays nested deeper than {MaxDepth}");
                }

                return TryReadArray(ref reader, ParseInteger(line), depth, out value);
            default:
                throw ProtocolError($"unexpected reply type byte 0x{type:x2}");
        }
    }

    private static bool TryReadBulkString(ref SequenceReader<byte> reader, long length, out RedisValue value)
    {
        value = default;
        if (length == -1)
        {
            return true;
        }

        if (length is < 0 or > MaxBulkLength)
        {
            throw ProtocolError($"bulk string length {length}");
        }

        if (reader.Remaining < length + 2)
        {
            return false;
        }

        var bytes = new byte[length];
        reader.TryCopyTo(bytes);
        reader.Advance(length);
        if (!reader.IsNext("\r\n"u8, advancePast: true))
        {
            throw ProtocolError("a bulk string does not end with CRLF");
        }

        value = RedisValue.BulkString(bytes);
        return true;
    }

    private static bool TryReadArray(ref SequenceReader<byte> reader, long count, int depth, out RedisValue value)
    {
        value = default;
        if (count == -1)
        {
            return true;
        }

        if (count < 0 || count > int.MaxValue)
        {
            throw ProtocolError($"array length {count}");
        }

        // Every element takes at least 3 bytes (":0" is 4); fewer bytes than that means the frame is incomplete,
        // which spares allocating the element array on each partial read of a large reply.
        if (reader.Remaining < count * 3)
        {
            return false;
        }

        var elements = count == 0 ? [] : new RedisValue[count];
        for (int i = 0; i < elements.Length; i++)
        {
            if (!TryReadValue(ref reader, depth + 1, out elements[i]))
            {
                return false;
            }
        }

        value = RedisValue.Array(elements);
        return true;
    }

    private static bool TryReadLine(ref SequenceReader<byte> reader, out ReadOnlySpan<byte> line)
    {
        // The span is in place unless the line straddles two buffer segments (then it is copied: the rare path).
        if (!reader.TryReadTo(out line, (byte)'\n'))
        {
            return false;
        }

        if (line.IsEmpty || line[^1] != (byte)'\r')
        {
            throw ProtocolError("a line does not end with CRLF");
        }

        line = line[..^1];
        return true;
    }

    private static long ParseInteger(ReadOnlySpan<byte> line) =>
        Utf8Parser.TryParse(line, out long value, out int consumed) && consumed == line.Length
            ? value
            : throw ProtocolError($"'{Encoding.UTF8.GetString(line)}' is not an integer");

    // The status lines that answer nearly every write come back as shared strings, not new ones.
    private static string StatusText(ReadOnlySpan<byte> line) => line switch
    {
        _ when line.SequenceEqual("OK"u8) => "OK",
        _ when line.SequenceEqual("QUEUED"u8) => "QUEUED",
        _ when line.SequenceEqual("PONG"u8) => "PONG",
        _ => Encoding.UTF8.GetString(line),
    };

    private static RedisConnectionException ProtocolError(string what) =>
        new($"Redis protocol error: {what}.");
}
