using System.Text.Json;
using ChatCluster.Inference.Tools;

namespace ChatCluster.Inference.Structured;

internal sealed partial class JsonSchemaCompiler
{
    /// <summary>Counts above this are refused: unrolled, they would make a huge automaton.</summary>
    private const int MaxCount = 4096;

    /// <summary>
    /// "{", the properties in schema order with ", " between those present, "}". Built back to front: after(i) is
    /// the rest when something was written before (each present property is preceded by ", "), first(i) when
    /// nothing was; both share after(i + 1), so the grammar grows linearly with the property count.
    /// </summary>
    private Grammar Object(JsonElement schema, string path)
    {
        var required = RequiredNames(schema, path);
        var members = new List<(string Name, Grammar Value, bool Required)>();
        if (schema.TryGetProperty("properties", out var properties))
        {
            if (properties.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidSchemaException(path + "/properties", "properties must be an object of schemas.");
            }

            foreach (var property in properties.EnumerateObject())
            {
                var value = Schema(property.Value, $"{path}/properties/{Escape(property.Name)}");
                members.Add((property.Name, value, required.Contains(property.Name)));
            }
        }

        // Required names with no schema of their own take any value.
        foreach (var name in required.Where(n => !members.Exists(m => m.Name == n)))
        {
            members.Add((name, JsonGrammars.AnyValue, true));
        }

        if (schema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            // Checked for support and form, though no additional property is ever written.
            Schema(additional, path + "/additionalProperties");
        }

        var after = Grammar.Empty;
        var first = Grammar.Empty;
        for (var i = members.Count - 1; i >= 0; i--)
        {
            var (name, value, isRequired) = members[i];
            var member = Grammar.Sequence(Grammar.Literal(PythonStyleJson.Quote(name) + ": "), value);
            var withMember = Grammar.Sequence(JsonGrammars.ItemSeparator, member, after);
            var firstWithMember = Grammar.Sequence(member, after);
            after = isRequired ? withMember : Grammar.Choice(withMember, after);
            first = isRequired ? firstWithMember : Grammar.Choice(firstWithMember, first);
        }

        return JsonGrammars.Object(first);
    }

    private static HashSet<string> RequiredNames(JsonElement schema, string path)
    {
        if (!schema.TryGetProperty("required", out var required))
        {
            return [];
        }

        if (required.ValueKind != JsonValueKind.Array || required.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.String))
        {
            throw new InvalidSchemaException(path + "/required", "required must be an array of property names.");
        }

        return [.. required.EnumerateArray().Select(r => r.GetString()!)];
    }

    private Grammar Array(JsonElement schema, string path)
    {
        var item = JsonGrammars.AnyValue;
        if (schema.TryGetProperty("items", out var items))
        {
            if (items.ValueKind == JsonValueKind.Array)
            {
                throw new SchemaNotSupportedException("items", path, "the array (tuple) form of items; use a single schema");
            }

            item = Schema(items, path + "/items");
        }

        var min = Count(schema, "minItems", path) ?? 0;
        var max = Count(schema, "maxItems", path);
        CheckOrder(min, max, "minItems", "maxItems", path);
        return JsonGrammars.Array(item, min, max);
    }

    private Grammar String(JsonElement schema, string path)
    {
        var minLength = Count(schema, "minLength", path);
        var maxLength = Count(schema, "maxLength", path);
        CheckOrder(minLength ?? 0, maxLength, "minLength", "maxLength", path);
        var pattern = Text(schema, "pattern", path);
        var format = Text(schema, "format", path);
        var bounded = minLength is not null || maxLength is not null;
        if (pattern is not null)
        {
            if (format is not null || bounded)
            {
                throw new SchemaNotSupportedException(format is not null ? "format" : minLength is not null ? "minLength" : "maxLength", path, "beside 'pattern'");
            }

            return Quoted(PatternGrammar.Compile(pattern, path));
        }

        if (format is not null)
        {
            if (bounded)
            {
                throw new SchemaNotSupportedException(minLength is not null ? "minLength" : "maxLength", path, "beside 'format'");
            }

            return Quoted(StringFormats.Grammar(format, path));
        }

        if (bounded)
        {
            return Quoted(Grammar.Repeat(JsonGrammars.CountedStringCharacter, minLength ?? 0, maxLength));
        }

        return JsonGrammars.String;
    }

    private static Grammar Quoted(Grammar content) => Grammar.Sequence(Grammar.Literal("\""), content, Grammar.Literal("\""));

    private static Grammar Integer(JsonElement schema, string path)
    {
        var (low, lowExclusive, high, highExclusive) = Bounds(schema, path);
        if (low is null && high is null)
        {
            return JsonGrammars.Integer;
        }

        long? lo = low is { } l ? (long)Math.Clamp(lowExclusive && decimal.Floor(l) == l ? l + 1 : decimal.Ceiling(l), long.MinValue / 2, long.MaxValue / 2) : null;
        long? hi = high is { } h ? (long)Math.Clamp(highExclusive && decimal.Floor(h) == h ? h - 1 : decimal.Floor(h), long.MinValue / 2, long.MaxValue / 2) : null;
        return NumberGrammar.IntegerRange(lo, hi)
            ?? throw new InvalidSchemaException(path, $"no integer lies within the bounds ({low}, {high}).");
    }

    private static Grammar Number(JsonElement schema, string path)
    {
        var (low, lowExclusive, high, highExclusive) = Bounds(schema, path);
        if (low is null && high is null)
        {
            return JsonGrammars.Number;
        }

        if (low > high || low == high && (lowExclusive || highExclusive))
        {
            throw new InvalidSchemaException(path, $"no number lies within the bounds ({low}, {high}).");
        }

        return NumberGrammar.NumberRange(low, lowExclusive, high, highExclusive)
            ?? NumberGrammar.Single(low, lowExclusive, high, highExclusive);
    }

    /// <summary>The tighter of minimum and exclusiveMinimum, and of maximum and exclusiveMaximum (numbers, as in 2019-09 on).</summary>
    private static (decimal? Low, bool LowExclusive, decimal? High, bool HighExclusive) Bounds(JsonElement schema, string path)
    {
        var minimum = Decimal(schema, "minimum", path);
        var exclusiveMinimum = Decimal(schema, "exclusiveMinimum", path);
        var maximum = Decimal(schema, "maximum", path);
        var exclusiveMaximum = Decimal(schema, "exclusiveMaximum", path);
        var (low, lowExclusive) = exclusiveMinimum is { } em && (minimum is null || em >= minimum) ? (exclusiveMinimum, true) : (minimum, false);
        var (high, highExclusive) = exclusiveMaximum is { } eM && (maximum is null || eM <= maximum) ? (exclusiveMaximum, true) : (maximum, false);
        return (low, lowExclusive, high, highExclusive);
    }

    private static decimal? Decimal(JsonElement schema, string keyword, string path)
    {
        if (!schema.TryGetProperty(keyword, out var value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var number)
            ? number
            : throw new InvalidSchemaException($"{path}/{keyword}", $"{keyword} must be a number.");
    }

    private static int? Count(JsonElement schema, string keyword, string path)
    {
        if (!schema.TryGetProperty(keyword, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out var number) || number < 0 || decimal.Floor(number) != number)
        {
            throw new InvalidSchemaException($"{path}/{keyword}", $"{keyword} must be a non-negative integer.");
        }

        return number <= MaxCount ? (int)number : throw new SchemaNotSupportedException(keyword, path, $"values above {MaxCount}");
    }

    private static void CheckOrder(int min, int? max, string minKeyword, string maxKeyword, string path)
    {
        if (max < min)
        {
            throw new InvalidSchemaException(path, $"{maxKeyword} ({max}) is below {minKeyword} ({min}).");
        }
    }

    private static string? Text(JsonElement schema, string keyword, string path)
    {
        if (!schema.TryGetProperty(keyword, out var value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new InvalidSchemaException($"{path}/{keyword}", $"{keyword} must be a string.");
    }
}
