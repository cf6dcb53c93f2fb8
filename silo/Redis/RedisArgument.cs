namespace ChatCluster.Silo.Redis;

/// <summary>
/// One argument of a command: bytes, text (sent as UTF-8) or an integer (sent in decimal). Converts implicitly,
/// so calls read as <c>ExecuteAsync("SET", key, bytes)</c>; it is written straight into the send buffer.
/// </summary>
public readonly struct RedisArgument
{
    internal RedisArgument(ReadOnlyMemory<byte> bytes, string? text, long integer, bool isInteger)
    {
        Bytes = bytes;
        Text = text;
        Integer = integer;
        IsInteger = isInteger;
    }

    internal ReadOnlyMemory<byte> Bytes { get; }

    internal string? Text { get; }

    internal long Integer { get; }

    internal bool IsInteger { get; }

    public static implicit operator RedisArgument(ReadOnlyMemory<byte> bytes) => new(bytes, null, 0, false);

    public static implicit operator RedisArgument(byte[] bytes) => new(bytes, null, 0, false);

    public static implicit operator RedisArgument(string text) =>
        new(default, text ?? throw new ArgumentNullException(nameof(text)), 0, false);

    public static implicit operator RedisArgument(long integer) => new(default, null, integer, true);
}
