using System.Text.Json.Nodes;

namespace ChatCluster.Tests.Structured;

/// <summary>
/// Random JSON Schemas over the supported keywords, reproducible from a seed: nested objects (required subsets,
/// additionalProperties false, true or absent), arrays with item bounds, anyOf, $ref into $defs (recursive
/// ones too), enums and consts, type arrays with null, integer and number bounds (exclusive ones too), string
/// lengths, patterns and formats.
/// </summary>
internal sealed class SchemaGenerator(int seed)
{
    private static readonly string[] Patterns =
    [
        "^[a-z]{1,8}$", "^\\d{3}-\\d{4}$", "^(foo|bar)+$", "^[A-Z][a-z]*$", "^\\w+@\\w+\\.com$", "^#[0-9a-fA-F]{6}$",
        "^v\\d+(\\.\\d+){0,2}$", "^[^\\s\"]{2,5}$", "^(yes|no|maybe)?$", "^[a-c]+x?\\.$",
    ];

    private static readonly string[] Formats = ["date-time", "date", "time", "uuid", "email", "hostname", "ipv4", "uri"];
    private static readonly string[] Words = ["id", "name", "count", "tags", "owner", "price", "when", "kind", "items", "note", "ok", "x y", "quo\"te"];

    private readonly Random _random = new(seed);
    private JsonObject? _defs;

    public string Next()
    {
        _defs = null;
        var root = _random.Next(10) switch
        {
            < 6 => Object(0),
            6 => Recursive(),
            7 => Array(0),
            8 => AnyOf(0),
            _ => Any(1),
        };
        if (_defs is not null)
        {
            root["$defs"] = _defs;
        }

        return root.ToJsonString();
    }

    private JsonObject Any(int depth)
    {
        var pick = _random.Next(depth >= 3 ? 9 : 14);
        return pick switch
        {
            0 => new JsonObject { ["type"] = "string" },
            1 => StringBounded(),
            2 => new JsonObject { ["type"] = "string", ["pattern"] = Patterns[_random.Next(Patterns.Length)] },
            3 => new JsonObject { ["type"] = "string", ["format"] = Formats[_random.Next(Formats.Length)] },
            4 => Integer(),
            5 => Number(),
            6 => new JsonObject { ["type"] = _random.Next(2) == 0 ? "boolean" : "null" },
            7 => Enum(),
            8 => Nullable(),
            9 or 10 => Object(depth + 1),
            11 => Array(depth + 1),
            12 => AnyOf(depth + 1),
            _ => Ref(depth + 1),
        };
    }

    private JsonObject StringBounded()
    {
        var min = _random.Next(4);
        var schema = new JsonObject { ["type"] = "string", ["minLength"] = min };
        if (_random.Next(3) > 0)
        {
            schema["maxLength"] = min + _random.Next(10);
        }

        return schema;
    }

    private JsonObject Integer()
    {
        var schema = new JsonObject { ["type"] = "integer" };
        var low = _random.Next(-1000, 1000);
        switch (_random.Next(5))
        {
            case 0:
                break;
            case 1:
                schema["minimum"] = low;
                break;
            case 2:
                schema["maximum"] = low;
                break;
            case 3:
                schema["minimum"] = low;
                schema["maximum"] = low + _random.Next(0, 5000);
                break;
            default:
                schema["exclusiveMinimum"] = low;
                schema["exclusiveMaximum"] = low + 2 + _random.Next(0, 300);
                break;
        }

        return schema;
    }

    private JsonObject Number()
    {
        var schema = new JsonObject { ["type"] = "number" };
        var low = Math.Round((decimal)(_random.NextDouble() * 200 - 100), 2);
        switch (_random.Next(4))
        {
            case 0:
                break;
            case 1:
                schema["minimum"] = low;
                schema["maximum"] = low + Math.Round((decimal)_random.NextDouble() * 50, 1);
                break;
            case 2:
                schema["exclusiveMinimum"] = low;
                break;
            default:
                schema["exclusiveMinimum"] = low;
                schema["exclusiveMaximum"] = low + 0.5m + _random.Next(0, 40);
                break;
        }

        return schema;
    }

    private JsonObject Enum()
    {
        if (_random.Next(4) == 0)
        {
            return new JsonObject { ["const"] = Words[_random.Next(Words.Length)] };
        }

        var values = new JsonArray();
        foreach (var _ in Enumerable.Range(0, 1 + _random.Next(4)))
        {
            values.Add(_random.Next(4) switch
            {
                0 => JsonValue.Create(_random.Next(-50, 50)),
                1 => null,
                2 => JsonValue.Create(_random.Next(2) == 0),
                _ => JsonValue.Create(Words[_random.Next(Words.Length)]),
            });
        }

        return new JsonObject { ["enum"] = values };
    }

    private JsonObject Nullable()
    {
        var inner = _random.Next(3) switch { 0 => "string", 1 => "integer", _ => "number" };
        var schema = new JsonObject { ["type"] = new JsonArray(inner, "null") };
        if (inner == "integer" && _random.Next(2) == 0)
        {
            schema["minimum"] = 0;
        }

        return schema;
    }

    private JsonObject Object(int depth)
    {
        var properties = new JsonObject();
        var required = new JsonArray();
        var names = Words.OrderBy(_ => _random.Next()).Take(1 + _random.Next(4)).ToList();
        foreach (var name in names)
        {
            properties[name] = Any(depth);
            if (_random.Next(3) > 0)
            {
                required.Add(name);
            }
        }

        var schema = new JsonObject { ["type"] = "object", ["properties"] = properties, ["required"] = required };
        switch (_random.Next(3))
        {
            case 0:
                schema["additionalProperties"] = false;
                break;
            case 1:
                schema["additionalProperties"] = true;
                break;
        }

        if (_random.Next(6) == 0)
        {
            schema["description"] = "generated";
        }

        return schema;
    }

    private JsonObject Array(int depth)
    {
        var schema = new JsonObject { ["type"] = "array", ["items"] = Any(depth) };
        var min = _random.Next(3);
        if (min > 0)
        {
            schema["minItems"] = min;
        }

        if (_random.Next(2) == 0)
        {
            schema["maxItems"] = min + _random.Next(4);
        }

        return schema;
    }

    private JsonObject AnyOf(int depth) =>
        new() { ["anyOf"] = new JsonArray([.. Enumerable.Range(0, 2 + _random.Next(2)).Select(_ => (JsonNode)Any(depth + 1))]) };

    private JsonObject Ref(int depth)
    {
        _defs ??= [];
        var name = $"d{_defs.Count}";
        _defs[name] = null;
        _defs[name] = Any(depth);
        return new JsonObject { ["$ref"] = $"#/$defs/{name}" };
    }

    /// <summary>A linked list or tree through a recursive $ref.</summary>
    private JsonObject Recursive()
    {
        _defs ??= [];
        var next = _random.Next(2) == 0
            ? new JsonObject { ["anyOf"] = new JsonArray(new JsonObject { ["$ref"] = "#/$defs/node" }, new JsonObject { ["type"] = "null" }) }
            : new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["$ref"] = "#/$defs/node" }, ["maxItems"] = 2 };
        _defs["node"] = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject { ["value"] = Any(3), ["next"] = next },
            ["required"] = new JsonArray("value", "next"),
            ["additionalProperties"] = false,
        };
        return new JsonObject { ["$ref"] = "#/$defs/node" };
    }
}
