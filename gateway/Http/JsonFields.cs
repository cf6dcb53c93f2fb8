using System.Globalization;
using System.Text.Json;
using ChatCluster.Gateway.Errors;

namespace ChatCluster.Gateway.Http;

/// <summary>
/// Typed reads of request fields. Each failure is a 400 whose message starts with the field's path
/// (<c>messages[2].role</c>, <c>stream_options.include_usage</c>) and says what was expected.
/// </summary>
public static class JsonFields
{
    public static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    public static ApiException Invalid(string param, string problem) =>
        new(ApiError.Invalid($"{param}: {problem}", param));

    public static ApiException WrongType(string param, JsonElement value, string expected) =>
        Invalid(param, $"expected {expected}, got {Kind(value.ValueKind)}");

    /// <summary>The body's top-level object; anything else is a 400.</summary>
    public static JsonElement RootObject(JsonDocument body)
    {
        var root = body.RootElement;
        return root.ValueKind == JsonValueKind.Object
            ? root
            : throw new ApiException(ApiError.Invalid($"The request body must be a JSON object; got {Kind(root.ValueKind)}."));
    }

    public static void RequireObject(JsonElement value, string param)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw WrongType(param, value, "an object");
        }
    }

    public static string String(JsonElement value, string param)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            throw WrongType(param, value, "a string");
        }

        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // A \uD800-style escape that does not form a valid UTF-16 pair has no text to hand on.
            throw Invalid(param, "the string holds an invalid \\u escape (an unpaired surrogate)");
        }
    }

    public static bool Boolean(JsonElement value, string param) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw WrongType(param, value, "a boolean"),
    };

    /// <summary>A number within [<paramref name="min"/>, <paramref name="max"/>]; <paramref name="minExclusive"/> makes it (min, max].</summary>
    public static float Number(JsonElement value, string param, double min, double max, bool minExclusive = false)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            throw WrongType(param, value, "a number");
        }

        // A literal beyond double's range (1e400) reads as infinity, which the range check below refuses.
        var number = value.GetDouble();

        var aboveMin = minExclusive ? number > min : number >= min;
        if (!aboveMin || number > max)
        {
            var range = minExclusive ? $"greater than {Format(min)} and at most {Format(max)}" : $"between {Format(min)} and {Format(max)}";
            throw Invalid(param, $"must be {range}; got {value.GetRawText()}");
        }

        return (float)number;
    }

    public static long Integer(JsonElement value, string param, long min, long max)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            throw WrongType(param, value, "an integer");
        }

        if (!value.TryGetInt64(out var number))
        {
            throw Invalid(param, $"expected an integer, got {value.GetRawText()}");
        }

        if (number < min || number > max)
        {
            var range = max >= int.MaxValue ? $"at least {min}" : $"between {min} and {max}";
            throw Invalid(param, $"must be {range}; got {number}");
        }

        return number;
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
