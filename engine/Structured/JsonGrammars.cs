namespace ChatCluster.Inference.Structured;

/// <summary>
/// The grammars of JSON's own pieces. Whitespace is fixed, as Python's json.dumps writes it by default:
/// ", " between items, ": " after a key, nothing else and no newlines. A JSON grammar that allowed free
/// whitespace would let a tiny model emit spaces or newlines forever; one fixed spelling per value also makes
/// the masks and the shortest way to close exact.
/// </summary>
internal static class JsonGrammars
{
    public static readonly Grammar ItemSeparator = Grammar.Literal(", ");
    public static readonly Grammar KeySeparator = Grammar.Literal(": ");

    /// <summary>Digit counts are capped so that every number parses exactly as a decimal (and a double) downstream.</summary>
    public const int MaxDigits = 15;

    public static readonly Grammar Digit = Grammar.ByteRange((byte)'0', (byte)'9');
    public static readonly Grammar NonZeroDigit = Grammar.ByteRange((byte)'1', (byte)'9');
    private static readonly Grammar HexDigit = Grammar.ByteClass(((byte)'0', (byte)'9'), ((byte)'a', (byte)'f'), ((byte)'A', (byte)'F'));

    /// <summary>0, or an integer without leading zeros, optionally negative (never "-0").</summary>
    public static readonly Grammar Integer = Grammar.Choice(
        Grammar.Literal("0"),
        Grammar.Sequence(Grammar.Optional(Grammar.Literal("-")), NonZeroDigit, Grammar.Repeat(Digit, 0, MaxDigits - 1)));

    public static readonly Grammar Fraction = Grammar.Sequence(Grammar.Literal("."), Grammar.Repeat(Digit, 1, MaxDigits));

    /// <summary>Optional sign, integer part, optional fraction ("-0.5" too); no exponent, so that no number overflows a decimal.</summary>
    public static readonly Grammar Number = Grammar.Sequence(
        Grammar.Optional(Grammar.Literal("-")),
        Grammar.Choice(Grammar.Literal("0"), Grammar.Sequence(NonZeroDigit, Grammar.Repeat(Digit, 0, MaxDigits - 1))),
        Grammar.Optional(Fraction));

    public static readonly Grammar Boolean = Grammar.Choice(Grammar.Literal("true"), Grammar.Literal("false"));

    public static readonly Grammar Null = Grammar.Literal("null");

    /// <summary>One character of a string's content: any valid UTF-8 character but '"', '\' and controls, or an escape.</summary>
    public static readonly Grammar StringCharacter = Grammar.Choice(
        Grammar.ByteClass((0x20, 0x21), (0x23, 0x5B), (0x5D, 0x7F)),
        Grammar.Sequence(Grammar.Literal("\\"), Grammar.Choice(
            Grammar.ByteClass(((byte)'"', (byte)'"'), ((byte)'\\', (byte)'\\'), ((byte)'/', (byte)'/'), ((byte)'b', (byte)'b'), ((byte)'f', (byte)'f'), ((byte)'n', (byte)'n'), ((byte)'r', (byte)'r'), ((byte)'t', (byte)'t')),
            Grammar.Sequence(Grammar.Literal("u"), UnicodeEscapeDigits()))),
        Utf8.NonAscii);

    /// <summary>
    /// A character of a string whose length is bounded: printable ASCII and the escapes of single characters
    /// that are not line breaks. Validators count length in code points, UTF-16 units or text elements ("\r\n"
    /// and combining marks are one text element); on this set all three agree, so a bounded length always holds.
    /// </summary>
    public static readonly Grammar CountedStringCharacter = Grammar.Choice(
        Grammar.ByteClass((0x20, 0x21), (0x23, 0x5B), (0x5D, 0x7E)),
        Grammar.Sequence(Grammar.Literal("\\"), Grammar.ByteClass(((byte)'"', (byte)'"'), ((byte)'\\', (byte)'\\'), ((byte)'/', (byte)'/'), ((byte)'t', (byte)'t'))));

    public static readonly Grammar String = Grammar.Sequence(Grammar.Literal("\""), Grammar.Repeat(StringCharacter, 0, null), Grammar.Literal("\""));

    public static readonly Grammar AnyValue = BuildAnyValue(out AnyObject);

    public static readonly Grammar AnyObject;

    /// <summary>"{" then key: value pairs separated by ", " then "}".</summary>
    public static Grammar Object(Grammar members) => Grammar.Sequence(Grammar.Literal("{"), members, Grammar.Literal("}"));

    public static Grammar Array(Grammar item, int min, int? max) =>
        Grammar.Sequence(Grammar.Literal("["), Grammar.Repeat(item, min, max, ItemSeparator), Grammar.Literal("]"));

    private static Grammar BuildAnyValue(out Grammar anyObject)
    {
        var value = new Reference("json value");
        var member = Grammar.Sequence(String, KeySeparator, value);
        anyObject = Object(Grammar.Repeat(member, 0, null, ItemSeparator));
        value.Bind(Grammar.Choice(anyObject, Array(value, 0, null), String, Number, Boolean, Null));
        return value;
    }

    /// <summary>
    /// Four hex digits of a \u escape, excluding surrogates (D800-DFFF): a lone surrogate is not a character, and
    /// some parsers refuse it.
    /// </summary>
    private static Grammar UnicodeEscapeDigits()
    {
        var notD = Grammar.ByteClass(((byte)'0', (byte)'9'), ((byte)'a', (byte)'c'), ((byte)'e', (byte)'f'), ((byte)'A', (byte)'C'), ((byte)'E', (byte)'F'));
        var d = Grammar.ByteClass(((byte)'d', (byte)'d'), ((byte)'D', (byte)'D'));
        var low = Grammar.ByteClass(((byte)'0', (byte)'7'));
        return Grammar.Choice(
            Grammar.Sequence(notD, HexDigit, HexDigit, HexDigit),
            Grammar.Sequence(d, low, HexDigit, HexDigit));
    }
}

/// <summary>Well-formed UTF-8 (RFC 3629 table 3-7): no overlong forms, no surrogates, nothing above U+10FFFF.</summary>
internal static class Utf8
{
    private static readonly Grammar Tail = Grammar.ByteRange(0x80, 0xBF);

    public static readonly Grammar NonAscii = Grammar.Choice(
        Grammar.Sequence(Grammar.ByteRange(0xC2, 0xDF), Tail),
        Grammar.Sequence(Grammar.ByteRange(0xE0, 0xE0), Grammar.ByteRange(0xA0, 0xBF), Tail),
        Grammar.Sequence(Grammar.ByteClass((0xE1, 0xEC), (0xEE, 0xEF)), Tail, Tail),
        Grammar.Sequence(Grammar.ByteRange(0xED, 0xED), Grammar.ByteRange(0x80, 0x9F), Tail),
        Grammar.Sequence(Grammar.ByteRange(0xF0, 0xF0), Grammar.ByteRange(0x90, 0xBF), Tail, Tail),
        Grammar.Sequence(Grammar.ByteRange(0xF1, 0xF3), Tail, Tail, Tail),
        Grammar.Sequence(Grammar.ByteRange(0xF4, 0xF4), Grammar.ByteRange(0x80, 0x8F), Tail, Tail));
}
