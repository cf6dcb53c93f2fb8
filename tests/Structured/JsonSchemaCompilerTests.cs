using ChatCluster.Inference.Structured;
using static ChatCluster.Tests.Structured.StructuredTestVocabulary;

namespace ChatCluster.Tests.Structured;

/// <summary>JSON Schema to grammar: what each supported keyword lets through, and what is refused by name.</summary>
public sealed class JsonSchemaCompilerTests
{
    [Theory]
    [InlineData("""{"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}, "required": ["a"], "additionalProperties": false}""",
        """{"a": 1}|{"a": -12, "b": "x"}""", """{"b": "x", "a": 1}|{"b": "x"}|{"a": 1,"b": "x"}|{"a": 01}|{"a": 1, "c": 2}|{ "a": 1}""")]
    [InlineData("""{"type": ["string", "null"]}""", "\"\"|null|\"a b\"", "1|nul|\"a")]
    [InlineData("""{"type": "number"}""", "0|-0.5|12.25|-3", "1e5|.5|01|1.|--1|1234567890123456")]
    [InlineData("""{"type": "integer", "minimum": -5, "exclusiveMaximum": 120}""", "-5|0|7|119|-1", "-6|120|1.5|-0|007")]
    // 1.75 is in range but not written: fractions only follow integer parts whose whole unit interval is in range.
    [InlineData("""{"type": "number", "minimum": 1.5, "maximum": 3}""", "2|3|2.25|2.0", "1|1.25|1.75|3.5|4|-2")]
    [InlineData("""{"type": "number", "exclusiveMinimum": -2, "exclusiveMaximum": 0}""", "-1|-1.5", "-2|0|-2.5|0.5")]
    [InlineData("""{"type": "string", "minLength": 2, "maxLength": 4}""", "\"ab\"|\"abcd\"|\"a\\\"\"", "\"a\"|\"abcde\"")]
    [InlineData("""{"type": "array", "items": {"type": "boolean"}, "minItems": 1, "maxItems": 2}""", "[true]|[true, false]", "[]|[true, true, true]|[1]|[true,false]")]
    [InlineData("""{"enum": ["a", 1, null, {"k": [1, 2]}]}""", "\"a\"|1|null|{\"k\": [1, 2]}", "\"b\"|2|{\"k\": [1,2]}")]
    [InlineData("""{"const": "fixed"}""", "\"fixed\"", "\"other\"")]
    [InlineData("""{"anyOf": [{"type": "integer", "minimum": 10, "maximum": 12}, {"type": "boolean"}]}""", "10|12|true", "9|13|null")]
    [InlineData("""{"type": "string", "pattern": "^[A-Z]{2}-\\d{3}(x|yz)?$"}""", "\"AB-123\"|\"QQ-000yz\"", "\"A-123\"|\"AB-12\"|\"AB-123z\"|\"ab-123\"")]
    // What .NET's JsonSchemaExporter writes for an int under web defaults (numbers may be read from strings).
    [InlineData("""{"type": ["string", "integer"], "pattern": "^-?(?:0|[1-9]\\d*)$"}""", "\"12\"|12|\"-3\"|0", "\"a\"|\"01\"|\"1.5\"")]
    [InlineData("""{"type": "string", "format": "date"}""", "\"2024-02-28\"", "\"2024-2-28\"|\"2024-13-01\"")]
    [InlineData("""{"type": "string", "format": "uuid"}""", "\"123e4567-e89b-12d3-a456-426614174000\"", "\"123e4567\"")]
    [InlineData("""{"type": "string", "format": "date-time"}""", "\"2024-01-02T03:04:05Z\"|\"2024-01-02T23:59:59+05:30\"", "\"2024-01-02 03:04:05Z\"|\"2024-01-02T24:00:00Z\"")]
    [InlineData("""{"type": "string", "format": "email"}""", "\"ann@example.org\"", "\"ann@\"|\"ann.example.org\"")]
    [InlineData("""{"type": "string", "format": "ipv4"}""", "\"10.0.255.1\"", "\"10.0.256.1\"|\"10.0.0\"|\"01.1.1.1\"")]
    [InlineData("""{"type": "string", "format": "uri"}""", "\"https://example.org/a/b\"", "\"example.org\"|\"https://\"")]
    [InlineData("""{"type": "string", "format": "hostname"}""", "\"db.example.org\"", "\"db..org\"|\".org\"")]
    [InlineData("""{"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"}, "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}}, "required": ["v", "next"]}}, "$ref": "#/$defs/node"}""",
        """{"v": 1, "next": {"v": 2, "next": null}}""", """{"v": 1, "next": {"v": 2}}""")]
    [InlineData("""{"title": "T", "description": "d", "$schema": "https://json-schema.org/draft/2020-12/schema", "$comment": "c", "default": 1, "examples": [1], "deprecated": false, "readOnly": true, "writeOnly": false, "type": "boolean"}""", "true|false", "1")]
    public void A_schema_matches_its_valid_texts_and_no_others(string schema, string valid, string invalid)
    {
        foreach (var text in valid.Split('|'))
        {
            Assert.True(MatchesSchema(schema, text), $"should match: {text}");
        }

        foreach (var text in invalid.Split('|'))
        {
            Assert.False(MatchesSchema(schema, text), $"should not match: {text}");
        }
    }

    [Theory]
    [InlineData("""{"not": {"type": "string"}}""", "not", "")]
    [InlineData("""{"allOf": [{"type": "string"}]}""", "allOf", "")]
    [InlineData("""{"oneOf": [{"type": "string"}]}""", "oneOf", "")]
    [InlineData("""{"if": {"type": "string"}, "then": {"minLength": 1}}""", "if", "")]
    [InlineData("""{"type": "object", "patternProperties": {"^a": {}}}""", "patternProperties", "")]
    [InlineData("""{"type": "object", "dependentSchemas": {}}""", "dependentSchemas", "")]
    [InlineData("""{"type": "array", "uniqueItems": true}""", "uniqueItems", "")]
    [InlineData("""{"type": "integer", "multipleOf": 3}""", "multipleOf", "")]
    [InlineData("""{"type": "object", "unevaluatedProperties": false}""", "unevaluatedProperties", "")]
    [InlineData("""{"type": "array", "contains": {"type": "integer"}}""", "contains", "")]
    [InlineData("""{"type": "array", "prefixItems": [{"type": "integer"}]}""", "prefixItems", "")]
    [InlineData("""{"type": "object", "propertyNames": {"maxLength": 3}}""", "propertyNames", "")]
    [InlineData("""{"type": "object", "properties": {"a": {"not": {}}}}""", "not", "/properties/a")]
    [InlineData("""{"type": "object", "properties": {"a": {"type": "string", "format": "iri-reference"}}}""", "format", "/properties/a")]
    [InlineData("""{"type": "string", "pattern": "(?=a)b"}""", "pattern", "")]
    [InlineData("""{"type": "string", "pattern": "(a)\\1"}""", "pattern", "")]
    [InlineData("""{"$defs": {"x": {"minContains": 1}}, "type": "string"}""", "minContains", "/$defs/x")]
    [InlineData("""{"type": "string", "x-extension": 1}""", "x-extension", "")]
    [InlineData("""{"type": "array", "items": [{"type": "integer"}]}""", "items", "")]
    public void Unsupported_keywords_are_refused_by_name_and_place(string schema, string keyword, string path)
    {
        var error = Assert.Throws<SchemaNotSupportedException>(() => Grammar.FromJsonSchema(schema));
        Assert.Equal(keyword, error.Keyword);
        Assert.Equal(path, error.Path);
        Assert.Contains($"'{keyword}'", error.Message);
        Assert.IsAssignableFrom<ArgumentException>(error);
    }

    [Fact]
    public void The_message_names_the_keyword_and_its_place()
    {
        var error = Assert.Throws<SchemaNotSupportedException>(() => Grammar.FromJsonSchema("""{"properties": {"a": {"not": {}}}}"""));
        Assert.StartsWith("JSON Schema keyword 'not' at /properties/a is not supported", error.Message);
    }

    [Theory]
    [InlineData("{not json", "")]
    [InlineData("""{"type": "strin"}""", "/type")]
    [InlineData("""{"type": 3}""", "/type")]
    [InlineData("""{"properties": []}""", "/properties")]
    [InlineData("""{"required": "a"}""", "/required")]
    [InlineData("""{"type": "string", "maxLength": -1}""", "/maxLength")]
    [InlineData("""{"type": "string", "minLength": "2"}""", "/minLength")]
    [InlineData("""{"type": "integer", "minimum": "0"}""", "/minimum")]
    [InlineData("""{"$ref": "#/$defs/missing"}""", "/$ref")]
    [InlineData("""{"anyOf": []}""", "/anyOf")]
    [InlineData("""{"enum": []}""", "/enum")]
    [InlineData("""{"type": "string", "pattern": 5}""", "/pattern")]
    [InlineData("""{"type": "string", "pattern": "(ab"}""", "/pattern")]
    [InlineData("""{"type": "integer", "minimum": 5, "maximum": 4}""", "")]
    [InlineData("[1]", "")]
    [InlineData("""{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}""", "/$ref")]
    public void Malformed_schemas_are_invalid_with_a_path(string schema, string path)
    {
        var error = Assert.Throws<InvalidSchemaException>(() => Grammar.FromJsonSchema(schema));
        Assert.Equal(path, error.Path);
        Assert.IsAssignableFrom<ArgumentException>(error);
    }
}
