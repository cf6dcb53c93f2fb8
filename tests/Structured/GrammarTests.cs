using System.Text;
using ChatCluster.Inference.Structured;
using static ChatCluster.Tests.Structured.StructuredTestVocabulary;

namespace ChatCluster.Tests.Structured;

/// <summary>The grammar combinators, the matcher's masks against a token-by-token check, closing, and triggers.</summary>
public sealed class GrammarTests
{
    [Fact]
    public void Combinators_match_exactly_their_strings()
    {
        var word = Grammar.Repeat(Grammar.ByteRange((byte)'a', (byte)'c'), 1, 3);
        var list = Grammar.Sequence(Grammar.Literal("["), Grammar.Repeat(word, 0, null, Grammar.Literal(",")), Grammar.Literal("]"));
        Assert.True(Matches(list, "[]"));
        Assert.True(Matches(list, "[a]"));
        Assert.True(Matches(list, "[abc,b,cc]"));
        Assert.False(Matches(list, "[abcc]"));
        Assert.False(Matches(list, "[a,]"));
        Assert.False(Matches(list, "[a"));
        Assert.False(Matches(list, "[d]"));

        var choice = Grammar.Choice(Grammar.Literal("yes"), Grammar.Literal("no"), Grammar.Empty);
        Assert.True(Matches(choice, "yes"));
        Assert.True(Matches(choice, ""));
        Assert.False(Matches(choice, "ye"));

        var bounded = Grammar.Repeat(Grammar.Literal("ab"), 2, 3, Grammar.Literal("-"));
        Assert.False(Matches(bounded, "ab"));
        Assert.True(Matches(bounded, "ab-ab"));
        Assert.True(Matches(bounded, "ab-ab-ab"));
        Assert.False(Matches(bounded, "ab-ab-ab-ab"));
    }

    [Fact]
    public void Recursive_references_nest()
    {
        var nested = new Reference("nested");
        nested.Bind(Grammar.Choice(Grammar.Literal("x"), Grammar.Sequence(Grammar.Literal("("), nested, Grammar.Literal(")"))));
        Assert.True(Matches(nested, "((((x))))"));
        Assert.False(Matches(nested, "((x)"));
        Assert.True(Matches(Grammar.AnyJsonValue, """{"a": [1, {"b": null}, "c\n"], "d": -2.5}"""));
        Assert.False(Matches(Grammar.AnyJsonValue, """{"a":1}"""));
        Assert.False(Matches(Grammar.AnyJsonObject, "[1]"));
    }

    [Fact]
    public void Json_strings_take_valid_utf8_and_escapes_only()
    {
        Assert.True(Matches(Grammar.AnyJsonValue, "\"caf\u00e9 \u6f22 \U0001F600 \\u00e9 \\\" \\\\\""));
        Assert.False(Matches(Grammar.AnyJsonValue, "\"a\nb\""));
        Assert.False(Matches(Grammar.AnyJsonValue, "\"\\x\""));
        Assert.False(Matches(Grammar.AnyJsonValue, "\"\\ud800\""));
        var matcher = CompiledGrammar.Compile(Grammar.AnyJsonValue, Vocabulary).CreateMatcher();
        Assert.False(matcher.TryAcceptBytes([(byte)'"', 0xC0, 0x80]));
        Assert.False(matcher.TryAcceptBytes([(byte)'"', 0xED, 0xA0, 0x80]));
    }

    /// <summary>The trie walk against the plain definition: a token is allowed iff its bytes are a valid continuation.</summary>
    [Theory]
    [InlineData("""{"type": "object", "properties": {"a": {"type": "string", "maxLength": 5}, "b": {"type": "array", "items": {"type": "integer", "minimum": -20, "maximum": 300}}}, "required": ["b"]}""")]
    [InlineData("""{"type": "object", "properties": {"e": {"enum": ["red", "green", 3, null]}, "d": {"type": "string", "format": "date-time"}}, "required": ["e", "d"]}""")]
    public void Masks_allow_exactly_the_tokens_that_continue_the_grammar(string schema)
    {
        var grammar = CompiledGrammar.Compile(Grammar.FromJsonSchema(schema), Vocabulary);
        var random = new Random(7);
        var logits = new float[Vocabulary.Size];
        for (var run = 0; run < 3; run++)
        {
            var matcher = grammar.CreateMatcher();
            for (var step = 0; step < 40 && !matcher.IsComplete; step++)
            {
                Array.Clear(logits);
                matcher.MaskLogits(logits);
                var allowed = new List<int>();
                for (var token = 0; token < Vocabulary.Size; token++)
                {
                    var expected = token == EndToken ? matcher.CanEnd : Vocabulary.TokenBytes(token).Length > 0 && matcher.Clone().TryAcceptBytes(Vocabulary.TokenBytes(token));
                    Assert.True(expected == !float.IsNegativeInfinity(logits[token]), $"token {token} ({Encoding.UTF8.GetString(Vocabulary.TokenBytes(token))}) at step {step}: expected allowed={expected}");
                    if (expected && token != EndToken)
                    {
                        allowed.Add(token);
                    }
                }

                matcher.Accept(allowed[random.Next(allowed.Count)]);
            }
        }
    }

    [Fact]
    public void Closing_tokens_complete_the_grammar_within_the_tokens_to_close()
    {
        var grammar = CompiledGrammar.Compile(Grammar.FromJsonSchema("""{"type": "object", "properties": {"name": {"type": "string", "minLength": 3}, "list": {"type": "array", "items": {"type": "boolean"}, "minItems": 2}}, "required": ["name", "list"]}"""), Vocabulary);
        var matcher = grammar.CreateMatcher();
        matcher.Accept(Tokenizer.Encode("{\"")[0]);
        var bound = matcher.TokensToClose;
        var text = new List<int>();
        for (var i = 0; i < bound && !matcher.CanEnd; i++)
        {
            var token = matcher.ClosingToken();
            text.Add(token);
            matcher.Accept(token);
        }

        Assert.True(matcher.CanEnd, Tokenizer.Decode([.. text]));
        Assert.Equal(0, matcher.TokensToClose);
        Assert.Equal(EndToken, matcher.ClosingToken());
    }

    [Fact]
    public void A_trigger_leaves_text_free_until_it_appears_then_the_grammar_applies_from_the_next_byte()
    {
        var grammar = CompiledGrammar.Compile(Grammar.Literal(" {\"go\": 1}"), Vocabulary);
        var row = new RowConstraint(grammar, "CALL");
        var logits = new float[Vocabulary.Size];
        foreach (var token in Tokenizer.Encode("Some free text CAL"))
        {
            Assert.False(row.IsActive);
            Assert.True(row.CanEnd);
            row.MaskLogits(logits, int.MaxValue);
            Assert.False(float.IsNegativeInfinity(logits[token]));
            row.Accept(token);
        }

        // A token that completes the trigger must continue with what the grammar allows: "L" alone, or "L" and a
        // prefix of the grammar's text.
        Array.Clear(logits);
        row.MaskLogits(logits, int.MaxValue);
        var closers = Enumerable.Range(0, Vocabulary.Size).Where(t => Vocabulary.TokenBytes(t) is [(byte)'L', ..]).ToList();
        Assert.True(closers.Count > 1);
        foreach (var t in closers)
        {
            var tail = Encoding.UTF8.GetString(Vocabulary.TokenBytes(t))[1..];
            Assert.Equal(" {\"go\": 1}".StartsWith(tail, StringComparison.Ordinal), !float.IsNegativeInfinity(logits[t]));
        }

        row.Accept(Tokenizer.Encode("L")[0]);
        Assert.True(row.IsActive);
        Assert.False(row.CanEnd);
        foreach (var token in Tokenizer.Encode(" {\"go\": 1}"))
        {
            Array.Clear(logits);
            row.MaskLogits(logits, int.MaxValue);
            Assert.True(float.IsNegativeInfinity(logits[Tokenizer.Encode("x")[0]]));
            Assert.False(float.IsNegativeInfinity(logits[token]));
            row.Accept(token);
        }

        Assert.True(row.IsComplete);
    }

    [Fact]
    public void Near_its_token_limit_a_row_may_not_start_what_it_could_not_close()
    {
        var grammar = CompiledGrammar.Compile(Grammar.Literal(" {\"go\": 1}"), Vocabulary);
        var row = new RowConstraint(grammar, "CALL");
        foreach (var token in Tokenizer.Encode("CAL"))
        {
            row.Accept(token);
        }

        var complete = Tokenizer.Encode("L")[0];
        var closing = row.Matcher.TokensToClose;
        var logits = new float[Vocabulary.Size];
        row.MaskLogits(logits, tokensLeft: closing + 1);
        Assert.False(float.IsNegativeInfinity(logits[complete]), "with room to close, the trigger may complete");

        Array.Clear(logits);
        row.MaskLogits(logits, tokensLeft: closing);
        Assert.True(float.IsNegativeInfinity(logits[complete]), "without it, the trigger may not");
        Assert.False(float.IsNegativeInfinity(logits[Tokenizer.Encode("x")[0]]), "free text still flows");
    }
}
