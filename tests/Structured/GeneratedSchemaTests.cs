using System.Diagnostics;
using ChatCluster.Inference;
using ChatCluster.Inference.Structured;
using Xunit.Abstractions;

namespace ChatCluster.Tests.Structured;

/// <summary>
/// 1,000 generated schemas through the real engine on the bundled model at temperature 1, all submitted at once
/// so they decode in large batches; half of them with max_tokens only a little above the schema's shortest
/// output, so that they are cut and must close. Every output must be JSON valid against its schema.
/// </summary>
public sealed class GeneratedSchemaTests(StructuredEngineFixture fixture, ITestOutputHelper output) : IClassFixture<StructuredEngineFixture>
{
    private const int SchemaCount = 1000;

    [Fact]
    public async Task Every_output_of_a_thousand_generated_schemas_validates()
    {
        var generator = new SchemaGenerator(seed: 20);
        var runs = new List<(string Schema, int? MaxTokens, Task<(string Text, FinishReason Finish)> Reply)>();
        var clock = Stopwatch.StartNew();
        var window = fixture.Engine.Info.ContextWindow - fixture.Engine.CountPromptTokens(StructuredEngineFixture.Prompt);
        // The bundled model's window is 256 tokens: schemas whose shortest output (in bytes, an upper bound on
        // tokens) takes over half the room left after the prompt are skipped, and counted.
        var skipped = 0;
        for (var i = 0; runs.Count < SchemaCount; i++)
        {
            var schema = generator.Next();
            var constraint = new OutputConstraint { Kind = OutputConstraintKind.JsonSchema, Schema = schema };
            var shortest = fixture.Engine.Vocabulary.Constraints.Get(constraint).Grammar.CreateMatcher().TokensToClose;
            if (shortest > window / 2)
            {
                skipped++;
                continue;
            }

            int? maxTokens = i % 2 == 0 ? null : shortest + (i / 2 % 12);
            runs.Add((schema, maxTokens, fixture.Run(new SamplingParameters { Temperature = 1, Seed = i, MaxTokens = maxTokens, Constraint = constraint })));
        }

        var replies = await Task.WhenAll(runs.Select(r => r.Reply));
        var failures = new List<string>();
        var cut = 0;
        foreach (var ((schema, maxTokens, _), (text, finish)) in runs.Zip(replies))
        {
            cut += finish == FinishReason.Length ? 1 : 0;
            if (StructuredEngineFixture.Problem(schema, text) is { } problem)
            {
                failures.Add($"schema {schema}\nmax_tokens {maxTokens}\noutput {text}\nproblem {problem}");
            }
        }

        output.WriteLine($"{SchemaCount} schemas ({skipped} more skipped as too long) in {clock.Elapsed.TotalSeconds:F1} s, {cut} cut by max_tokens or the window");
        foreach (var ((schema, _, _), (text, _)) in runs.Zip(replies).Take(5))
        {
            output.WriteLine($"{schema}\n  -> {text}");
        }

        Assert.True(failures.Count == 0, $"{failures.Count} invalid outputs; first:\n{string.Join("\n\n", failures.Take(3))}");
        Assert.True(cut >= SchemaCount / 4, $"only {cut} runs were cut short");
        Assert.True(skipped < SchemaCount / 5, $"{skipped} schemas were too long for the window");
    }
}
