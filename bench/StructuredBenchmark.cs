using System.Diagnostics;
using System.Text.Json;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Scheduling;
using ChatCluster.Inference.Structured;
using Spectre.Console;

namespace ChatCluster.Bench;

/// <summary>
/// Structured output's costs on one engine: schema compile time; the mask (and accept) cost per row per step,
/// as rows walk schemas the way a served schema is walked (many rows, one compiled grammar, states shared); and
/// tokens/s at a full batch with every row constrained against none, in alternating rounds of a few seconds.
/// </summary>
internal sealed class StructuredBenchmark(StructuredOptions options)
{
    private static readonly (string Name, string Schema)[] Schemas =
    [
        ("person", """{"type": "object", "properties": {"name": {"type": "string", "minLength": 2}, "age": {"type": "integer", "minimum": 18, "maximum": 99}, "pets": {"type": "array", "items": {"enum": ["cat", "dog"]}}}, "required": ["name", "age", "pets"], "additionalProperties": false}"""),
        ("order", """{"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "placed": {"type": "string", "format": "date-time"}, "lines": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-\\d{4}$"}, "quantity": {"type": "integer", "minimum": 1, "maximum": 500}, "price": {"type": "number", "minimum": 0}, "note": {"type": ["string", "null"]}}, "required": ["sku", "quantity", "price"]}, "minItems": 1, "maxItems": 20}, "status": {"enum": ["new", "paid", "shipped"]}, "email": {"type": "string", "format": "email"}}, "required": ["id", "placed", "lines", "status"], "additionalProperties": false}"""),
        ("tree", """{"$defs": {"node": {"type": "object", "properties": {"label": {"type": "string", "maxLength": 20}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 4}}, "required": ["label", "children"]}}, "$ref": "#/$defs/node"}"""),
    ];

    /// <summary>A schema whose replies run as long as free text does (a list of strings), for the throughput rounds.</summary>
    private const string ThroughputSchema = """{"type": "object", "properties": {"notes": {"type": "array", "items": {"type": "string"}}}, "required": ["notes"]}""";

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        using var engine = InferenceEngine.Load(options.Model, ExecutionDevice.Cpu, new SchedulerOptions { MaxBatchRows = options.Batch, MaxQueuedRequests = options.Batch * 4 });
        var vocabulary = engine.Vocabulary;
        var compile = Schemas.Select(s => (s.Name, Milliseconds: CompileMilliseconds(s.Schema, vocabulary))).ToList();
        var masks = Schemas.Select(s => (s.Name, Steps: MaskMicroseconds(s.Schema, vocabulary))).ToList();
        var allSteps = masks.SelectMany(m => m.Steps.All).ToList();
        var coldSteps = masks.SelectMany(m => m.Steps.FirstVisits).ToList();
        var throughput = await Throughput(engine, cancellationToken);

        var result = new
        {
            options.Command,
            Machine = MachineInfo.Line,
            options.Model,
            Vocabulary = vocabulary.Size,
            CompileMilliseconds = compile.ToDictionary(c => c.Name, c => Math.Round(c.Milliseconds, 3)),
            MaskMicroseconds = new
            {
                Steps = allSteps.Count,
                P50 = Math.Round(Percentiles.Of(allSteps, 0.50), 2),
                P99 = Math.Round(Percentiles.Of(allSteps, 0.99), 2),
                FirstRowSteps = coldSteps.Count,
                FirstRowP50 = Math.Round(Percentiles.Of(coldSteps, 0.50), 2),
                FirstRowP99 = Math.Round(Percentiles.Of(coldSteps, 0.99), 2),
            },
            Throughput = new
            {
                options.Batch,
                options.Tokens,
                options.Rounds,
                options.RoundSeconds,
                UnconstrainedTokensPerSecond = throughput.Free.Select(t => Math.Round(t, 1)).ToArray(),
                ConstrainedTokensPerSecond = throughput.Constrained.Select(t => Math.Round(t, 1)).ToArray(),
                MedianRatio = Math.Round(Median(throughput.Constrained) / Median(throughput.Free), 3),
            },
        };

        Directory.CreateDirectory(options.OutputDirectory);
        var json = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, "structured.json"), json, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, "structured.md"), Markdown(result.CompileMilliseconds, result.MaskMicroseconds, throughput, result.Throughput.MedianRatio, vocabulary.Size), cancellationToken);
        AnsiConsole.WriteLine(json);
        return 0;
    }

    /// <summary>Median of 30 compiles (schema text to a compiled grammar on this vocabulary, no cache), after 5 unmeasured.</summary>
    private static double CompileMilliseconds(string schema, TokenVocabulary vocabulary)
    {
        var samples = new List<double>();
        for (var i = 0; i < 35; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var compiled = CompiledGrammar.Compile(Grammar.FromJsonSchema(schema), vocabulary);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            GC.KeepAlive(compiled);
            if (i >= 5)
            {
                samples.Add(elapsed);
            }
        }

        return Percentiles.Of(samples, 0.5);
    }

    /// <summary>
    /// 200 rows walk one fresh compiled grammar for 64 steps each, picking uniformly among the allowed tokens
    /// (limited to close in time); each step's mask and accept is timed. The first row's steps, on a fresh grammar
    /// whose every state is new (each computes its mask), are also reported alone.
    /// </summary>
    private static (List<double> All, List<double> FirstVisits) MaskMicroseconds(string schema, TokenVocabulary vocabulary)
    {
        const int Rows = 200;
        const int Steps = 64;
        var grammar = CompiledGrammar.Compile(Grammar.FromJsonSchema(schema), vocabulary);
        var random = new Random(1);
        var logits = new float[vocabulary.Size];
        var allowed = new List<int>(vocabulary.Size);
        var all = new List<double>(Rows * Steps);
        var firstVisits = new List<double>();
        for (var row = 0; row < Rows; row++)
        {
            var matcher = grammar.CreateMatcher();
            for (var step = 0; step < Steps && !matcher.IsComplete; step++)
            {
                Array.Clear(logits);
                var started = Stopwatch.GetTimestamp();
                matcher.MaskLogits(logits, Steps - step);
                var masked = Stopwatch.GetTimestamp();
                allowed.Clear();
                for (var t = 0; t < logits.Length; t++)
                {
                    if (!float.IsNegativeInfinity(logits[t]) && !vocabulary.IsEndToken(t))
                    {
                        allowed.Add(t);
                    }
                }

                if (allowed.Count == 0)
                {
                    break;
                }

                var token = allowed[random.Next(allowed.Count)];
                var accepting = Stopwatch.GetTimestamp();
                matcher.Accept(token);
                var ticks = masked - started + Stopwatch.GetTimestamp() - accepting;
                var microseconds = ticks * 1e6 / Stopwatch.Frequency;
                all.Add(microseconds);
                if (row == 0)
                {
                    firstVisits.Add(microseconds);
                }
            }
        }

        return (all, firstVisits);
    }

    private async Task<(List<double> Free, List<double> Constrained)> Throughput(InferenceEngine engine, CancellationToken cancellationToken)
    {
        var free = new List<double>();
        var constrained = new List<double>();
        var constraint = new OutputConstraint { Kind = OutputConstraintKind.JsonSchema, Schema = ThroughputSchema };
        for (var round = -1; round < options.Rounds; round++)
        {
            foreach (var withConstraint in new[] { false, true })
            {
                var tokensPerSecond = await Round(engine, withConstraint ? constraint : null, round, cancellationToken);
                AnsiConsole.MarkupLine($"round {round + 1} {(withConstraint ? "constrained" : "unconstrained")}: {tokensPerSecond:F0} tokens/s");
                if (round >= 0)
                {
                    (withConstraint ? constrained : free).Add(tokensPerSecond);
                }
            }
        }

        return (free, constrained);
    }

    /// <summary>Batch streams, each starting its next request as soon as the last ends, for the round's time.</summary>
    private async Task<double> Round(InferenceEngine engine, OutputConstraint? constraint, int round, CancellationToken cancellationToken)
    {
        var tokens = 0L;
        var started = Stopwatch.GetTimestamp();
        var deadline = TimeSpan.FromSeconds(options.RoundSeconds);
        var streams = Enumerable.Range(0, options.Batch).Select(async stream =>
        {
            for (var request = 0; Stopwatch.GetElapsedTime(started) < deadline; request++)
            {
                var sampling = new SamplingParameters { Temperature = 1, MaxTokens = options.Tokens, Seed = (round * 1000 + stream) * 1000 + request, Constraint = constraint };
                var messages = new[] { new ChatMessage("user", "Write some notes.") };
                await foreach (var delta in engine.ChatAsync(new ChatRequest { Messages = messages, Sampling = sampling }, cancellationToken))
                {
                    if (delta.Finish is not null)
                    {
                        Interlocked.Add(ref tokens, delta.CompletionTokens);
                    }
                }
            }
        });
        await Task.WhenAll(streams);
        return tokens / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private static double Median(List<double> values) => Percentiles.Of([.. values], 0.5);

    private string Markdown(Dictionary<string, double> compile, object masks, (List<double> Free, List<double> Constrained) throughput, double ratio, int vocabularySize) =>
        $"""
        # Structured output: compile, mask and throughput costs

        `{options.Command}` on {MachineInfo.Line}; model `{Path.GetFileName(options.Model)}` (vocabulary {vocabularySize}).

        Schema compile (schema text to compiled grammar, median of 30): {string.Join(", ", compile.Select(c => $"{c.Key} {c.Value} ms"))}.

        Mask and accept per row per step, microseconds (200 rows x 64 steps per schema, one compiled grammar per schema, states shared between rows as when serving; the first row of each schema meets only new states and computes their masks): `{JsonSerializer.Serialize(masks)}`.

        Tokens/s at batch {options.Batch}, max_tokens {options.Tokens}, temperature 1, {options.Rounds} rounds of {options.RoundSeconds} s each, unconstrained and constrained alternating:

        | round | unconstrained | every row constrained |
        |---|---|---|
        {string.Join("\n", throughput.Free.Zip(throughput.Constrained).Select((p, i) => $"| {i + 1} | {p.First:F0} | {p.Second:F0} |"))}

        Median ratio constrained / unconstrained: **{ratio}**.

        """;
}
