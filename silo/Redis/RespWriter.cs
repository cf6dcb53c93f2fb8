using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace ChatCluster.Silo.Redis;

/// <summary>
/// Writes commands as RESP2 arrays of bulk strings straight into the send buffer: no intermediate strings or
/// arrays; text is encoded to UTF-8 in place and integers formatted in place.
/// </summary>
internal static class RespWriter
{
    // "*" or "$", up to 20 digits (or a sign and 19), CRLF.
    private const int MaxHeaderLength = 1 + 20 + 2;

    public static void WriteCommand(IBufferWriter<byte> output, string name, ReadOnlySpan<RedisArgument> arguments)
    {
        WriteHeader(output, (byte)'*', 1 + arguments.Length);
        WriteText(output, name);
        foreach (ref readonly RedisArgument argument in arguments)
        {
            if (argument.IsInteger)
            {
                WriteInteger(output, argument.Integer);
            }
            else if (argument.Text is { } text)
            {
                WriteText(output, text);
            }
            else
            {
                WriteHeader(output, (byte)'$', argument.Bytes.Length);
                output.Write(argument.Bytes.Span);
                WriteCrlf(output);
            }
        }
    }

    private static void WriteText(IBufferWriter<byte> output, string text)
    {
        WriteHeader(output, (byte)'$', Encoding.UTF8.GetByteCount(text));
        Encoding.UTF8.GetBytes(text, output);
        WriteCrlf(output);
    }

    private static void WriteInteger(IBufferWriter<byte> output, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out int length);
        WriteHeader(output, (byte)'$', length);
        output.Write(digits[..length]);
        WriteCrlf(output);
    }

    private static void WriteHeader(IBufferWriter<byte> output, byte type, long length)
    {
        Span<byte> span = output.GetSpan(MaxHeaderLength);
        span[0] = type;
        Utf8Formatter.TryFormat(length, span[1..], out int digits);
        span[1 + digits] = (byte)'\r';
        span[2 + digits] = (byte)'\n';
        output.Advance(3 + digits);
    }

    private static void WriteCrlf(IBufferWriter<byte> output) => output.Write("\r\n"u8);
}
