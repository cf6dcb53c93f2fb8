using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace ChatCluster.Silo.Redis;

/// <summary>
/// One RESP2 reply. A small struct: integers and nulls carry no heap object; strings carry the bytes the server
/// sent (the caller owns them), arrays their elements, errors their message.
/// </summary>
public readonly struct RedisValue
{
    // string for simple strings and errors (RESP2 keeps them to one text line), byte[] for bulk strings,
    // RedisValue[] for arrays, null otherwise.
    private readonly object? _reference;
    private readonly long _integer;

    private RedisValue(RedisValueKind kind, object? reference, long integer)
    {
        Kind = kind;
        _reference = reference;
        _integer = integer;
    }

    public static RedisValue Null => default;

    public RedisValueKind Kind { get; }

    public bool IsNull => Kind == RedisValueKind.Null;

    public bool IsError => Kind == RedisValueKind.Error;

    internal static RedisValue SimpleString(string text) => new(RedisValueKind.SimpleString, text, 0);

    internal static RedisValue Error(string message) => new(RedisValueKind.Error, message, 0);

    internal static RedisValue Integer(long value) => new(RedisValueKind.Integer, null, value);

    internal static RedisValue BulkString(byte[] bytes) => new(RedisValueKind.BulkString, bytes, 0);

    internal static RedisValue Array(RedisValue[] elements) => new(RedisValueKind.Array, elements, 0);

    /// <summary>The message of an error reply (e.g. "WRONGTYPE Operation against a key ..."), else null.</summary>
    public string? ErrorMessage => Kind == RedisValueKind.Error ? (string)_reference! : null;

    /// <summary>The bytes of a bulk or simple string; null for a null reply.</summary>
    public byte[]? AsBytes() => Kind switch
    {
        RedisValueKind.BulkString => (byte[])_reference!,
        RedisValueKind.SimpleString => Encoding.UTF8.GetBytes((string)_reference!),
        RedisValueKind.Null => null,
        _ => throw WrongKind("bytes"),
    };

    /// <summary>The text of a string reply (UTF-8); null for a null reply.</summary>
    public string? AsString() => Kind switch
    {
        RedisValueKind.Null => null,
        RedisValueKind.Integer => _integer.ToString(CultureInfo.InvariantCulture),
        RedisValueKind.SimpleString or RedisValueKind.Error => (string)_reference!,
        _ => Encoding.UTF8.GetString(AsBytes()!),
    };

    /// <summary>An integer reply, or a bulk string that holds a decimal integer (as GET of a counter does).</summary>
    public long AsLong()
    {
        if (Kind == RedisValueKind.Integer)
        {
            return _integer;
        }

        if (Kind == RedisValueKind.BulkString
            && Utf8Parser.TryParse((byte[])_reference!, out long value, out int consumed)
            && consumed == ((byte[])_reference!).Length)
        {
            return value;
        }

        throw WrongKind("an integer");
    }

    /// <summary>The elements of an array reply; an empty array stays empty, a null array throws.</summary>
    public RedisValue[] AsArray() =>
        Kind == RedisValueKind.Array ? (RedisValue[])_reference! : throw WrongKind("an array");

    /// <summary>A readable rendering, as redis-cli prints replies: for logs and test messages.</summary>
    public override string ToString() => Kind switch
    {
        RedisValueKind.Null => "(nil)",
        RedisValueKind.Error => "(error) " + ErrorMessage,
        RedisValueKind.Array => "[" + string.Join(", ", AsArray()) + "]",
        _ => AsString()!,
    };

    private InvalidOperationException WrongKind(string wanted) =>
        new($"The Redis reply is {Kind} ({this}), not {wanted}.");
}
