using System.Text;

namespace ChatCluster.Inference.Structured;

/// <summary>
/// An immutable context-free grammar over bytes (UTF-8 for text), built from combinators. A node may be shared
/// by several parents (the compiler turns shared nodes into rules, so sharing costs nothing) and may refer to
/// itself through a <see cref="Reference"/> (recursive JSON Schema <c>$ref</c>s, any JSON value).
/// </summary>
public abstract class Grammar
{
    private protected Grammar()
    {
    }

    /// <summary>Matches the empty string.</summary>
    public static Grammar Empty { get; } = new SequenceNode([]);

    /// <summary>Any JSON object, written with the separators of <see cref="JsonGrammars"/>.</summary>
    public static Grammar AnyJsonObject => JsonGrammars.AnyObject;

    /// <summary>Any JSON value, written with the separators of <see cref="JsonGrammars"/>.</summary>
    public static Grammar AnyJsonValue => JsonGrammars.AnyValue;

    /// <summary>Exactly the UTF-8 bytes of <paramref name="text"/>.</summary>
    public static Grammar Literal(string text) => new LiteralNode(Encoding.UTF8.GetBytes(text));

    /// <summary>One byte in [<paramref name="first"/>, <paramref name="last"/>].</summary>
    public static Grammar ByteRange(byte first, byte last) => new ByteClassNode([(first, last)]);

    /// <summary>One byte in any of the ranges.</summary>
    public static Grammar ByteClass(params (byte First, byte Last)[] ranges) => new ByteClassNode(ranges);

    public static Grammar Sequence(params Grammar[] items) => items.Length == 1 ? items[0] : new SequenceNode(items);

    public static Grammar Choice(params Grammar[] alternatives) =>
        alternatives.Length == 1 ? alternatives[0] : new ChoiceNode(alternatives);

    /// <summary>
    /// <paramref name="min"/> to <paramref name="max"/> (null: unbounded) items, with
    /// <paramref name="separator"/> between consecutive items.
    /// </summary>
    public static Grammar Repeat(Grammar item, int min, int? max, Grammar? separator = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(min);
        if (max < min)
        {
            throw new ArgumentOutOfRangeException(nameof(max), max, $"max ({max}) is below min ({min}).");
        }

        return new RepeatNode(item, min, max, separator);
    }

    public static Grammar Optional(Grammar item) => Choice(item, Empty);

    /// <summary>The grammar of a JSON Schema (the supported subset; see <see cref="JsonSchemaCompiler"/>).</summary>
    /// <exception cref="SchemaNotSupportedException">The schema uses a keyword outside the subset.</exception>
    /// <exception cref="InvalidSchemaException">The schema is not JSON, or a keyword's value is malformed.</exception>
    public static Grammar FromJsonSchema(string schemaJson) => JsonSchemaCompiler.Compile(schemaJson);
}

/// <summary>A placeholder bound once to its target, so that a grammar can refer to itself.</summary>
public sealed class Reference : Grammar
{
    private Grammar? _target;

    public Reference(string name) => Name = name;

    /// <summary>For diagnostics only.</summary>
    public string Name { get; }

    public bool IsBound => _target is not null;

    public Grammar Target => _target ?? throw new InvalidOperationException($"The grammar reference '{Name}' was never bound.");

    public void Bind(Grammar target)
    {
        if (_target is not null)
        {
            throw new InvalidOperationException($"The grammar reference '{Name}' is already bound.");
        }

        _target = target;
    }
}

internal sealed class LiteralNode(byte[] bytes) : Grammar
{
    public byte[] Bytes { get; } = bytes;
}

internal sealed class ByteClassNode((byte First, byte Last)[] ranges) : Grammar
{
    public (byte First, byte Last)[] Ranges { get; } = ranges;
}

internal sealed class SequenceNode(Grammar[] items) : Grammar
{
    public Grammar[] Items { get; } = items;
}

internal sealed class ChoiceNode(Grammar[] alternatives) : Grammar
{
    public Grammar[] Alternatives { get; } = alternatives;
}

internal sealed class RepeatNode(Grammar item, int min, int? max, Grammar? separator) : Grammar
{
    public Grammar Item { get; } = item;

    public int Min { get; } = min;

    public int? Max { get; } = max;

    public Grammar? Separator { get; } = separator;
}
