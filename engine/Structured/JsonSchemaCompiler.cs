using System.Text.Json;
using ChatCluster.Inference.Tools;

namespace ChatCluster.Inference.Structured;

/// <summary>
/// JSON Schema to <see cref="Grammar"/>: the OpenAI strict subset (type and type arrays, properties, required,
/// additionalProperties, items, enum, const, anyOf, $ref into the document with $defs/definitions, recursion
/// included) plus numeric bounds, minLength/maxLength, minItems/maxItems, pattern and format. Annotations are
/// ignored; any other keyword is refused by name (<see cref="SchemaNotSupportedException"/>), never ignored, so
/// that output always validates against the schema as written.
/// Properties are written in schema order, required ones always, optional ones maybe. No property beyond the
/// listed ones is ever written (additionalProperties true or a schema allows them, it does not ask for them).
/// </summary>
internal sealed partial class JsonSchemaCompiler
{
    private static readonly HashSet<string> Annotations =
        ["title", "description", "$schema", "$id", "$comment", "default", "examples", "deprecated", "readOnly", "writeOnly"];

    private static readonly HashSet<string> Supported =
    [
        "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "$ref", "$defs",
        "definitions", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
        "minItems", "maxItems", "pattern", "format",
    ];

    /// <summary>Keywords that only hold other schemas or describe: what may stand beside $ref, anyOf, enum and const.</summary>
    private static readonly HashSet<string> Containers = ["$defs", "definitions"];

    private readonly JsonElement _root;
    private readonly Dictionary<string, Reference> _references = [];

    private JsonSchemaCompiler(JsonElement root) => _root = root;

    public static Grammar Compile(string schemaJson)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(schemaJson);
        }
        catch (JsonException error)
        {
            throw new InvalidSchemaException("", $"the schema is not JSON ({error.Message})");
        }

        using (document)
        {
            var compiler = new JsonSchemaCompiler(document.RootElement);
            var grammar = compiler.Schema(document.RootElement, "");
            compiler.CheckDefinitions(document.RootElement, "");
            return grammar;
        }
    }

    private Grammar Schema(JsonElement schema, string path)
    {
        if (schema.ValueKind is JsonValueKind.True)
        {
            return JsonGrammars.AnyValue;
        }

        if (schema.ValueKind is JsonValueKind.False)
        {
            throw new SchemaNotSupportedException("false", path, "a false schema allows no value");
        }

        if (schema.ValueKind is not JsonValueKind.Object)
        {
            throw new InvalidSchemaException(path, $"a schema must be an object or a boolean, not {Kind(schema)}.");
        }

        var assertions = new List<string>();
        foreach (var keyword in schema.EnumerateObject())
        {
            if (Annotations.Contains(keyword.Name))
            {
                continue;
            }

            if (!Supported.Contains(keyword.Name))
            {
                throw new SchemaNotSupportedException(keyword.Name, path);
            }

            if (!Containers.Contains(keyword.Name))
            {
                assertions.Add(keyword.Name);
            }
        }

        foreach (var exclusive in (ReadOnlySpan<string>)["$ref", "anyOf", "const", "enum"])
        {
            if (assertions.Contains(exclusive))
            {
                var beside = assertions.Where(a => a != exclusive && !(exclusive is "enum" or "const" && a == "type")).ToList();
                if (beside.Count > 0)
                {
                    throw new SchemaNotSupportedException(exclusive, path, $"'{exclusive}' beside '{beside[0]}' (an intersection) is not supported");
                }

                return exclusive switch
                {
                    "$ref" => Ref(schema.GetProperty("$ref"), path),
                    "anyOf" => AnyOf(schema.GetProperty("anyOf"), path),
                    "const" => Grammar.Literal(PythonStyleJson.Write(schema.GetProperty("const"))),
                    _ => Enum(schema.GetProperty("enum"), path),
                };
            }
        }

        var types = Types(schema, path);
        var alternatives = types.Select(type => Typed(type, schema, path)).ToArray();
        return Grammar.Choice(alternatives);
    }

    /// <summary>The types a schema allows: its "type", or the one its keywords imply, or all of them.</summary>
    private static List<string> Types(JsonElement schema, string path)
    {
        if (schema.TryGetProperty("type", out var type))
        {
            var names = type.ValueKind switch
            {
                JsonValueKind.String => [type.GetString()!],
                JsonValueKind.Array when type.GetArrayLength() > 0 && type.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String) =>
                    type.EnumerateArray().Select(t => t.GetString()!).Distinct().ToList(),
                _ => throw new InvalidSchemaException(path + "/type", "type must be a type name or a non-empty array of them."),
            };
            foreach (var name in names)
            {
                if (name is not ("object" or "array" or "string" or "number" or "integer" or "boolean" or "null"))
                {
                    throw new InvalidSchemaException(path + "/type", $"'{name}' is not a JSON Schema type.");
                }
            }

            // An integer is a number: listing both would only allow the integers twice.
            if (names.Contains("number"))
            {
                names.Remove("integer");
            }

            return names;
        }

        bool Has(params string[] keywords) => keywords.Any(k => schema.TryGetProperty(k, out _));
        if (Has("properties", "required", "additionalProperties"))
        {
            return ["object"];
        }

        if (Has("items", "minItems", "maxItems"))
        {
            return ["array"];
        }

        if (Has("minLength", "maxLength", "pattern", "format"))
        {
            return ["string"];
        }

        if (Has("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"))
        {
            return ["number"];
        }

        return ["object", "array", "string", "number", "boolean", "null"];
    }

    private Grammar Typed(string type, JsonElement schema, string path) => type switch
    {
        "object" => Object(schema, path),
        "array" => Array(schema, path),
        "string" => String(schema, path),
        "integer" => Integer(schema, path),
        "number" => Number(schema, path),
        "boolean" => JsonGrammars.Boolean,
        _ => JsonGrammars.Null,
    };

    private Grammar AnyOf(JsonElement anyOf, string path)
    {
        if (anyOf.ValueKind != JsonValueKind.Array || anyOf.GetArrayLength() == 0)
        {
            throw new InvalidSchemaException(path + "/anyOf", "anyOf must be a non-empty array of schemas.");
        }

        return Grammar.Choice([.. anyOf.EnumerateArray().Select((s, i) => Schema(s, $"{path}/anyOf/{i}"))]);
    }

    private static Grammar Enum(JsonElement values, string path)
    {
        if (values.ValueKind != JsonValueKind.Array || values.GetArrayLength() == 0)
        {
            throw new InvalidSchemaException(path + "/enum", "enum must be a non-empty array.");
        }

        return Grammar.Choice([.. values.EnumerateArray().Select(v => PythonStyleJson.Write(v)).Distinct().Select(Grammar.Literal)]);
    }

    /// <summary>
    /// A $ref into this document ("#" or a JSON pointer after "#"): one <see cref="Reference"/> per target, bound
    /// after the target is compiled, so that recursive schemas become recursive rules.
    /// </summary>
    private Grammar Ref(JsonElement reference, string path)
    {
        if (reference.ValueKind != JsonValueKind.String)
        {
            throw new InvalidSchemaException(path + "/$ref", "$ref must be a string.");
        }

        var pointer = reference.GetString()!;
        if (!pointer.StartsWith('#'))
        {
            throw new SchemaNotSupportedException("$ref", path, $"'{pointer}' is not a reference into this schema (\"#/...\")");
        }

        if (_references.TryGetValue(pointer, out var known))
        {
            return known;
        }

        var target = Resolve(Uri.UnescapeDataString(pointer[1..]), path);
        var rule = new Reference(pointer);
        _references[pointer] = rule;
        var body = Schema(target, pointer[1..]);
        for (var alias = body as Reference; alias is not null; alias = alias.IsBound ? alias.Target as Reference : null)
        {
            if (ReferenceEquals(alias, rule))
            {
                throw new InvalidSchemaException(path + "/$ref", $"$ref '{pointer}' refers to itself through $refs alone, so it describes no value.");
            }
        }

        rule.Bind(body);
        return rule;
    }

    private JsonElement Resolve(string pointer, string path)
    {
        var node = _root;
        if (pointer.Length == 0)
        {
            return node;
        }

        if (!pointer.StartsWith('/'))
        {
            throw new SchemaNotSupportedException("$ref", path, $"'#{pointer}' is not a JSON pointer");
        }

        foreach (var raw in pointer[1..].Split('/'))
        {
            var token = raw.Replace("~1", "/").Replace("~0", "~");
            if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(token, out var child))
            {
                node = child;
            }
            else if (node.ValueKind == JsonValueKind.Array && int.TryParse(token, out var index) && index >= 0 && index < node.GetArrayLength())
            {
                node = node[index];
            }
            else
            {
                throw new InvalidSchemaException(path + "/$ref", $"$ref '#{pointer}' points to nothing in the schema.");
            }
        }

        return node;
    }

    /// <summary>Definitions nobody refers to are still checked, so a bad keyword in one is reported.</summary>
    private void CheckDefinitions(JsonElement schema, string path)
    {
        foreach (var container in Containers)
        {
            if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty(container, out var definitions))
            {
                continue;
            }

            if (definitions.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidSchemaException($"{path}/{container}", $"{container} must be an object of schemas.");
            }

            foreach (var definition in definitions.EnumerateObject())
            {
                var pointer = $"#{path}/{container}/{Escape(definition.Name)}";
                if (!_references.ContainsKey(pointer))
                {
                    Schema(definition.Value, pointer[1..]);
                }
            }
        }
    }

    private static string Escape(string name) => name.Replace("~", "~0").Replace("/", "~1");

    private static string Kind(JsonElement element) => element.ValueKind.ToString().ToLowerInvariant();
}
