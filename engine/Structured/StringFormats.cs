namespace ChatCluster.Inference.Structured;

/// <summary>
/// String formats as patterns of their content. Each pattern is a subset of the format, chosen so that any
/// validator accepts it: days 01-28 (every month has them), years 1000-9999, times with an offset (RFC 3339's
/// full-time), lowercase UUIDs, plain addresses and host names, and https URIs.
/// </summary>
internal static class StringFormats
{
    private const string Date = "[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])";
    private const string Time = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])";

    private static readonly Dictionary<string, string> Patterns = new()
    {
        ["date"] = Date,
        ["time"] = Time,
        ["date-time"] = Date + "T" + Time,
        ["uuid"] = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        ["email"] = "[a-z0-9]{1,32}@[a-z0-9]{1,32}\\.[a-z]{2,8}",
        ["hostname"] = "[a-z0-9]{1,32}(\\.[a-z0-9]{1,32}){0,4}",
        ["ipv4"] = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}",
        ["uri"] = "https://[a-z0-9]{1,32}(\\.[a-z0-9]{1,32}){0,3}\\.[a-z]{2,8}(/[a-z0-9]{1,32}){0,6}",
    };

    public static Grammar Grammar(string format, string path) =>
        Patterns.TryGetValue(format, out var pattern)
            ? PatternGrammar.Compile(pattern, path)
            : throw new SchemaNotSupportedException("format", path, $"the format '{format}' (supported: {string.Join(", ", Patterns.Keys)})");
}
