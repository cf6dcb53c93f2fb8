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
        var vocabulary = options.Tokenizer is { } path ? OtherVocabulary(path) : engine.Vocabulary;
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
                DecodeStepsMedianRatio = Math.Round(Median(throughput.ConstrainedDecode) / Median(throughput.FreeDecode), 3),
                UnconstrainedDecodeTokensPerSecond = throughput.FreeDecode.Select(t => Math.Round(t, 1)).ToArray(),
                ConstrainedDecodeTokensPerSecond = throughput.ConstrainedDecode.Select(t => Math.Round(t, 1)).ToArray(),
                UnconstrainedHostMicrosecondsPerToken = Math.Round(throughput.FreeHost, 2),
                ConstrainedHostMicrosecondsPerToken = Math.Round(throughput.ConstrainedHost, 2),
                UnconstrainedMeanReplyTokens = Math.Round(throughput.FreeReply, 1),
                ConstrainedMeanReplyTokens = Math.Round(throughput.ConstrainedReply, 1),
            },
        };

        Directory.CreateDirectory(options.OutputDirectory);
        var json = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });
        var name = options.Tokenizer is null ? "structured" : $"structured-vocabulary-{vocabulary.Size}";
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, name + ".json"), json, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, name + ".md"), Markdown(result.CompileMilliseconds, result.MaskMicroseconds, throughput, result.Throughput.MedianRatio, vocabulary.Size), cancellationToken);
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

    private async Task<(List<double> Free, List<double> Constrained, double FreeReply, double ConstrainedReply, List<double> FreeDecode, List<double> ConstrainedDecode, double FreeHost, double ConstrainedHost)> Throughput(InferenceEngine engine, CancellationToken cancellationToken)
    {
        var free = new List<double>();
        var constrained = new List<double>();
        var freeDecode = new List<double>();
        var constrainedDecode = new List<double>();
        var host = new List<double>[] { [], [] };
        var replies = new long[2];
        var requests = new long[2];
        var constraint = new OutputConstraint { Kind = OutputConstraintKind.JsonSchema, Schema = ThroughputSchema };
        for (var round = -1; round < options.Rounds; round++)
        {
            foreach (var withConstraint in new[] { false, true })
            {
                var (tokensPerSecond, tokens, done, decodeTokensPerSecond, hostMicroseconds) = await Round(engine, withConstraint ? constraint : null, round, cancellationToken);
                AnsiConsole.MarkupLine($"round {round + 1} {(withConstraint ? "constrained" : "unconstrained")}: {tokensPerSecond:F0} tokens/s, decode steps {decodeTokensPerSecond:F0} tokens/s");
                if (round >= 0)
                {
                    (withConstraint ? constrained : free).Add(tokensPerSecond);
                    (withConstraint ? constrainedDecode : freeDecode).Add(decodeTokensPerSecond);
                    host[withConstraint ? 1 : 0].Add(hostMicroseconds);
                    replies[withConstraint ? 1 : 0] += tokens;
                    requests[withConstraint ? 1 : 0] += done;
                }
            }
        }

        return (free, constrained, (double)replies[0] / requests[0], (double)replies[1] / requests[1], freeDecode, constrainedDecode, Median(host[0]), Median(host[1]));
    }

    /// <summary>Batch streams, each starting its next request as soon as the last ends, for the round's time.</summary>
    private async Task<(double TokensPerSecond, long Tokens, long Requests, double DecodeTokensPerSecond, double HostMicroseconds)> Round(InferenceEngine engine, OutputConstraint? constraint, int round, CancellationToken cancellationToken)
    {
        var tokens = 0L;
        var requests = 0L;
        var (_, _, decodeBefore, modelBefore) = engine.Scheduler.PhaseTicks;
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
                        Interlocked.Increment(ref requests);
                    }
                }
            }
        });
        await Task.WhenAll(streams);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;

        // Decode steps alone (the model call for every row, then each row's mask, sampling and streaming out): each
        // request's first token comes from its prefill, the rest from decode steps.
        var (_, _, decodeAfter, modelAfter) = engine.Scheduler.PhaseTicks;
        var decodeSeconds = (double)(decodeAfter - decodeBefore) / Stopwatch.Frequency;

        // What a decode step spends beyond the model call (masks, sampling, streaming out), per token.
        var hostMicroseconds = (decodeAfter - decodeBefore - (modelAfter - modelBefore)) * 1e6 / Stopwatch.Frequency / (tokens - requests);
        return (tokens / elapsed, tokens, requests, (tokens - requests) / decodeSeconds, hostMicroseconds);
    }

    /// <summary>Another tokenizer's vocabulary, its special tokens as end tokens.</summary>
    private static TokenVocabulary OtherVocabulary(string path)
    {
        var tokenizer = ChatCluster.Inference.Tokenization.BpeTokenizer.Load(path);
        return TokenVocabulary.From(tokenizer, [.. tokenizer.AddedTokens.Where(t => t.Special).Select(t => t.Id)]);
    }

    private static double Median(List<double> values) => Percentiles.Of([.. values], 0.5);

    private string Markdown(Dictionary<string, double> compile, object masks, (List<double> Free, List<double> Constrained, double FreeReply, double ConstrainedReply, List<double> FreeDecode, List<double> ConstrainedDecode, double FreeHost, double ConstrainedHost) throughput, double ratio, int vocabularySize) =>
        $"""
        # Structured output: compile, mask and throughput costs

        `{options.Command}` on {MachineInfo.Line}; model `{Path.GetFileName(options.Model)}`; compile and masks on a vocabulary of {vocabularySize} tokens.

        Schema compile (schema text to compiled grammar, median of 30): {string.Join(", ", compile.Select(c => $"{c.Key} {c.Value} ms"))}.

        Mask and accept per row per step, microseconds (200 rows x 64 steps per schema, one compiled grammar per schema, states shared between rows as when serving; the first row of each schema meets only new states and computes their masks): `{JsonSerializer.Serialize(masks)}`.

        Tokens/s at batch {options.Batch}, max_tokens {options.Tokens}, temperature 1, {options.Rounds} rounds of {options.RoundSeconds} s each, unconstrained and constrained alternating:

        | round | unconstrained | every row constrained | unconstrained, decode steps | constrained, decode steps |
        |---|---|---|---|---|
        {string.Join("\n", Enumerable.Range(0, throughput.Free.Count).Select(i => $"| {i + 1} | {throughput.Free[i]:F0} | {throughput.Constrained[i]:F0} | {throughput.FreeDecode[i]:F0} | {throughput.ConstrainedDecode[i]:F0} |"))}

        Median ratio constrained / unconstrained: **{ratio}** end to end; **{Math.Round(Median(throughput.ConstrainedDecode) / Median(throughput.FreeDecode), 3)}** in decode steps alone (tokens from decode steps per second spent in them). Mean reply: {throughput.FreeReply:F1} tokens unconstrained,
        {throughput.ConstrainedReply:F1} constrained. Tokens/s counts completion tokens per second of the round, so a stream
        whose replies end sooner spends more of its time in prefill; both variants keep {options.Batch} streams busy.
        Decode steps also slow down as replies grow (attention over a longer past), so neither ratio isolates the
        constraint; what it adds to a step beyond the model call, per token (median over rounds): {throughput.FreeHost:F2} us
        unconstrained, {throughput.ConstrainedHost:F2} us constrained.

        """;
}
