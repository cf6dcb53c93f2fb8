using System.Text.Json;
using ChatCluster.Inference;
using ChatCluster.Inference.Structured;

namespace ChatCluster.Tests.Structured;

/// <summary>Constraints through the engine on the bundled model: beam search, token limits, json_object, kept caches, refusals.</summary>
public sealed class ConstrainedDecodingTests(StructuredEngineFixture fixture) : IClassFixture<StructuredEngineFixture>
{
    private const string Person = """{"type": "object", "properties": {"name": {"type": "string", "minLength": 2}, "age": {"type": "integer", "minimum": 18, "maximum": 99}, "pets": {"type": "array", "items": {"enum": ["cat", "dog"]}, "minItems": 1}}, "required": ["name", "age", "pets"], "additionalProperties": false}""";

    private static OutputConstraint Schema(string schema) => new() { Kind = OutputConstraintKind.JsonSchema, Schema = schema };

    /// <summary>Extra tokens over the shortest output (the bundled vocabulary spells it in 28 tokens): 0 is a cut run.</summary>
    [Theory]
    [InlineData(2, 12)]
    [InlineData(4, 0)]
    [InlineData(3, 2)]
    public async Task Beam_search_with_a_schema_gives_valid_json(int beams, int extraTokens)
    {
        var shortest = fixture.Engine.Vocabulary.Constraints.Get(Schema(Person)).Grammar.CreateMatcher().TokensToClose;
        var (text, _) = await fixture.Run(new SamplingParameters { BeamWidth = beams, MaxTokens = shortest + extraTokens, Constraint = Schema(Person) });
        Assert.Null(StructuredEngineFixture.Problem(Person, text));
    }

    [Fact]
    public async Task A_token_limit_at_the_shortest_output_still_gives_valid_json()
    {
        var shortest = fixture.Engine.Vocabulary.Constraints.Get(Schema(Person)).Grammar.CreateMatcher().TokensToClose;
        for (var extra = 0; extra < 6; extra++)
        {
            foreach (var temperature in new[] { 0f, 1f })
            {
                var (text, finish) = await fixture.Run(new SamplingParameters { Temperature = temperature, Seed = extra, MaxTokens = shortest + extra, Constraint = Schema(Person) });
                Assert.True(StructuredEngineFixture.Problem(Person, text) is null, $"max_tokens {shortest + extra}: {text}");
                Assert.Contains(finish, new[] { FinishReason.Length, FinishReason.Stop });
            }
        }
    }

    [Fact]
    public async Task Json_object_gives_a_json_object()
    {
        for (var seed = 0; seed < 8; seed++)
        {
            var (text, _) = await fixture.Run(new SamplingParameters { Seed = seed, MaxTokens = 48, Constraint = new OutputConstraint { Kind = OutputConstraintKind.JsonObject } });
            using var document = JsonDocument.Parse(text);
            Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        }
    }

    [Fact]
    public async Task Turns_that_keep_their_cache_stay_valid()
    {
        foreach (var turn in new[] { "first", "second" })
        {
            var text = new System.Text.StringBuilder();
            var messages = new[] { new ChatMessage("user", $"Answer in JSON ({turn}).") };
            await foreach (var delta in fixture.Engine.ChatAsync(new ChatRequest { Messages = messages, CacheKey = "structured-kept", Sampling = new() { Seed = 3, MaxTokens = 40, Constraint = Schema(Person) } }))
            {
                text.Append(delta.Text);
            }

            Assert.Null(StructuredEngineFixture.Problem(Person, text.ToString()));
        }
    }

    [Fact]
    public async Task An_unsupported_schema_fails_the_request_naming_the_keyword()
    {
        var error = await Assert.ThrowsAsync<SchemaNotSupportedException>(() =>
            fixture.Run(new SamplingParameters { Constraint = Schema("""{"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}}""") }));
        Assert.Equal("oneOf", error.Keyword);
        Assert.Equal("/properties/a", error.Path);
        await Assert.ThrowsAsync<InvalidSchemaException>(() => fixture.Run(new SamplingParameters { Constraint = Schema("{") }));
    }

    [Fact]
    public void A_constraint_compiles_once()
    {
        var first = fixture.Engine.Vocabulary.Constraints.Get(Schema(Person));
        Assert.Same(first, fixture.Engine.Vocabulary.Constraints.Get(Schema(Person)));
        Assert.NotSame(first, fixture.Engine.Vocabulary.Constraints.Get(Schema(Person.Replace("99", "98"))));
    }

    [Fact]
    public void Masking_and_accepting_in_seen_states_allocate_nothing()
    {
        var grammar = fixture.Engine.Vocabulary.Constraints.Get(Schema(Person)).Grammar;
        var tokens = new List<int>();
        var logits = new float[fixture.Engine.Vocabulary.Size];
        var first = grammar.CreateMatcher();
        while (!first.CanEnd)
        {
            first.MaskLogits(logits, 64 - tokens.Count);
            tokens.Add(first.ClosingToken());
            first.Accept(tokens[^1]);
        }

        var again = grammar.CreateMatcher();
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var token in tokens)
        {
            again.MaskLogits(logits, 64);
            _ = again.TokensToClose;
            again.Accept(token);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(again.CanEnd);
    }
}
