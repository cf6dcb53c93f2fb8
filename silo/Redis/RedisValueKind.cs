namespace ChatCluster.Silo.Redis;

/// <summary>The RESP2 reply types, as the parser meets them on the wire (first byte of a frame).</summary>
public enum RedisValueKind : byte
{
    /// <summary><c>$-1</c> or <c>*-1</c>: a missing key, a BLPOP that timed out, a Lua <c>false</c>.</summary>
    Null,

    /// <summary><c>+OK</c>: a short status line.</summary>
    SimpleString,

    /// <summary><c>-ERR ...</c>: only seen by callers inside EXEC results; a top-level error throws.</summary>
    Error,

    /// <summary><c>:42</c>: a signed 64-bit integer.</summary>
    Integer,

    /// <summary><c>$5\r\nhello</c>: binary-safe bytes.</summary>
    BulkString,

    /// <summary><c>*2\r\n...</c>: any of these kinds, nested arrays included.</summary>
    Array,
}
