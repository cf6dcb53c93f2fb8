using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatCluster.Inference.Structured;
using ChatCluster.Tests.Infrastructure;
using Xunit.Abstractions;
using static ChatCluster.Tests.Structured.StructuredTestVocabulary;

namespace ChatCluster.Tests.Structured;

/// <summary>
/// Our token masks against an independent implementation, XGrammar (@mlc-ai/web-xgrammar 0.1.27 under Node,
/// installed by this test into tests/data/xgrammar/node_modules, which git ignores), on the bundled tokenizer:
/// random token walks through a few schemas, and at every step the set of allowed tokens must be the same.
/// XGrammar is configured to our layout (one line, ", " and ": ", strict: no extra properties). The schemas
/// avoid where the two legitimately differ: numbers (XGrammar allows exponents and any digit count; we cap at 15
/// digits and write no exponent, so that values stay exact), lengths and patterns (we write ASCII only there);
/// inside a \u escape we refuse surrogates (XGrammar allows them), so steps right after "\u" are not compared;
/// and XGrammar lets a string take bytes that never occur in UTF-8 (C0, C1, F5-FF: overlong or beyond U+10FFFF
/// lead bytes) where we refuse them, so tokens holding such bytes are left out of the comparison; likewise after
/// the lead bytes E0, ED, F0 and F4 XGrammar takes any continuation byte, where UTF-8 allows only part of the
/// range (no overlong forms, no surrogates, nothing above U+10FFFF), so steps right after such a lead are not
/// compared.
/// </summary>
public sealed class XGrammarMaskTests(ITestOutputHelper output)
{
    private static readonly string[] Schemas =
    [
        """{"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0, "maximum": 120}, "tags": {"type": "array", "items": {"type": "string"}}, "kind": {"enum": ["cat", "dog", 3, null]}, "ok": {"type": "boolean"}}, "required": ["name", "kind"], "additionalProperties": false}""",
        """{"type": "object", "properties": {"id": {"type": "integer"}, "owner": {"type": "object", "properties": {"first": {"type": "string"}, "last": {"type": ["string", "null"]}}, "required": ["last"]}, "items": {"type": "array", "items": {"anyOf": [{"type": "boolean"}, {"type": "null"}, {"const": "x"}]}, "minItems": 1, "maxItems": 3}}, "required": ["id", "owner", "items"]}""",
        """{"type": "array", "items": {"type": "object", "properties": {"k": {"enum": ["a", "ab", "abc"]}, "v": {"type": "string"}}, "required": ["k", "v"]}}""",
    ];

    private const int WalksPerSchema = 12;
    private const int StepsPerWalk = 40;

    [Fact]
    public async Task Masks_equal_xgrammars_on_sampled_states()
    {
        var folder = Path.Combine(TestPaths.RepositoryRoot, "tests", "data", "xgrammar");
        await Run("npm", "install --no-save --no-audit --no-fund --loglevel=error", folder);

        var random = new Random(5);
        var cases = new List<(CompiledGrammar Grammar, List<int[]> Walks)>();
        foreach (var schema in Schemas)
        {
            var grammar = CompiledGrammar.Compile(Grammar.FromJsonSchema(schema), Vocabulary);
            cases.Add((grammar, [.. Enumerable.Range(0, WalksPerSchema).Select(_ => Walk(grammar, random))]));
        }

        var input = new JsonObject
        {
            ["vocab"] = new JsonArray([.. EncodedVocabulary().Select(t => (JsonNode)JsonValue.Create(t))]),
            ["stopTokens"] = new JsonArray(EndToken),
            ["cases"] = new JsonArray([.. Schemas.Zip(cases).Select(c => (JsonNode)new JsonObject
            {
                ["schema"] = c.First,
                ["walks"] = JsonSerializer.SerializeToNode(c.Second.Walks),
            })]),
        };
        var inputFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(inputFile, input.ToJsonString());
        string[][][] theirs;
        try
        {
            theirs = JsonSerializer.Deserialize<string[][][]>(await Run("node", $"masks.cjs {inputFile}", folder))!;
        }
        finally
        {
            File.Delete(inputFile);
        }

        var compared = 0;
        for (var c = 0; c < cases.Count; c++)
        {
            var (grammar, walks) = cases[c];
            for (var w = 0; w < walks.Count; w++)
            {
                var matcher = grammar.CreateMatcher();
                var walk = walks[w];
                for (var step = 0; step <= walk.Length; step++)
                {
                    var text = Tokenizer.Decode(walk[..step]);
                    Assert.True(theirs[c][w][step] is not null, $"XGrammar refused a token our grammar allowed, schema {c}, after: {text}");
                    if (!text.EndsWith("\\u", StringComparison.Ordinal) && !EndsInRestrictedLead(walk[..step]))
                    {
                        var ours = Allowed(matcher).Where(IsUtf8Possible).ToHashSet();
                        var expected = Allowed(theirs[c][w][step]).Where(IsUtf8Possible).ToHashSet();
                        var onlyOurs = ours.Except(expected).Select(Describe).Take(40);
                        var onlyTheirs = expected.Except(ours).Select(Describe).Take(40);
                        Assert.True(ours.SetEquals(expected), $"schema {c} after {text}: only ours {string.Join(" ", onlyOurs)}; only XGrammar's {string.Join(" ", onlyTheirs)}");
                        compared++;
                    }

                    if (step < walk.Length)
                    {
                        matcher.Accept(walk[step]);
                    }
                }
            }
        }

        output.WriteLine($"{compared} states compared over {Schemas.Length} schemas");
        Assert.True(compared >= Schemas.Length * WalksPerSchema * 5);
    }

    /// <summary>Uniformly random allowed tokens, kept closable within the walk's length.</summary>
    private static int[] Walk(CompiledGrammar grammar, Random random)
    {
        var matcher = grammar.CreateMatcher();
        var logits = new float[Vocabulary.Size];
        var tokens = new List<int>();
        for (var step = 0; step < StepsPerWalk; step++)
        {
            Array.Clear(logits);
            matcher.MaskLogits(logits, StepsPerWalk - step);
            var allowed = Enumerable.Range(0, logits.Length).Where(t => !float.IsNegativeInfinity(logits[t]) && t != EndToken).ToList();
            if (allowed.Count == 0)
            {
                break;
            }

            var token = allowed[random.Next(allowed.Count)];
            matcher.Accept(token);
            tokens.Add(token);
        }

        return [.. tokens];
    }

    private static HashSet<int> Allowed(GrammarMatcher matcher)
    {
        var logits = new float[Vocabulary.Size];
        matcher.MaskLogits(logits);
        return [.. Enumerable.Range(0, logits.Length).Where(t => !float.IsNegativeInfinity(logits[t]))];
    }

    /// <summary>XGrammar's bitmask: 32-bit words, bit i of word w is token 32w + i.</summary>
    private static HashSet<int> Allowed(string hex)
    {
        var allowed = new HashSet<int>();
        for (var w = 0; w < hex.Length / 8; w++)
        {
            var word = Convert.ToUInt32(hex.Substring(w * 8, 8), 16);
            for (var bit = 0; bit < 32; bit++)
            {
                if ((word & (1u << bit)) != 0 && w * 32 + bit < Vocabulary.Size)
                {
                    allowed.Add(w * 32 + bit);
                }
            }
        }

        return allowed;
    }

    private static bool EndsInRestrictedLead(int[] tokens) =>
        tokens.Length > 0 && Vocabulary.TokenBytes(tokens[^1]) is [.., 0xE0 or 0xED or 0xF0 or 0xF4];

    private static bool IsUtf8Possible(int token)
    {
        foreach (var b in Vocabulary.TokenBytes(token))
        {
            if (b is 0xC0 or 0xC1 or >= 0xF5)
            {
                return false;
            }
        }

        return true;
    }

    private static string Describe(int token) => token == EndToken ? "<end>" : Convert.ToHexString(Vocabulary.TokenBytes(token));

    /// <summary>The vocabulary as tokenizer.json spells it (byte-level characters), control tokens empty (never allowed).</summary>
    private static string[] EncodedVocabulary()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.BundledModel, "tokenizer.json")));
        var vocab = new string[Vocabulary.Size];
        Array.Fill(vocab, "");
        foreach (var entry in document.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject())
        {
            var id = entry.Value.GetInt32();
            if (Vocabulary.TokenBytes(id).Length > 0)
            {
                vocab[id] = entry.Name;
            }
        }

        return vocab;
    }

    private static async Task<string> Run(string program, string arguments, string folder)
    {
        var start = new ProcessStartInfo(program, arguments) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"{program} {arguments} failed ({process.ExitCode}): {await stderr}");
        return await stdout;
    }
}
