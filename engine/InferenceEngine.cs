using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Sampling;
using ChatCluster.Inference.Scheduling;
using ChatCluster.Inference.Tokenization;
using ChatCluster.Inference.Tools;

namespace ChatCluster.Inference;

/// <summary>
/// One model loaded on one device: its tokenizer and chat template, the ONNX Runtime session, and the batch
/// scheduler that serves every caller. Chat requests come in as messages; the chat template turns them into
/// tokens (inserting control tokens by id, never parsing user text for them), the oldest turns are dropped
/// if the window is too small, and the reply streams back as text deltas.
/// </summary>
public sealed class InferenceEngine : IDisposable
{
    private readonly BatchScheduler _scheduler;

    private InferenceEngine(DecoderModel model, BpeTokenizer tokenizer, ChatTemplate template, SchedulerOptions options)
    {
        Model = model;
        Tokenizer = tokenizer;
        Template = template;
        EndTokenIds = model.Config.EndTokenIds.Concat(template.StopTokenIds).Distinct().ToArray();
        _scheduler = new BatchScheduler(model, tokenizer, EndTokenIds, options);
        Info = new ModelInfo(model.Config.Id, model.Config.ContextWindow, model.Device.Name, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        InferenceTelemetry.Track(this);
    }

    public DecoderModel Model { get; }

    public BpeTokenizer Tokenizer { get; }

    public ChatTemplate Template { get; }

    public IReadOnlyList<int> EndTokenIds { get; }

    public ModelInfo Info { get; }

    public BatchScheduler Scheduler => _scheduler;

    /// <summary>The tokens as output constraints see them, and the cache of compiled constraints (built on first use).</summary>
    public Structured.TokenVocabulary Vocabulary => _scheduler.Vocabulary;

    public static InferenceEngine Load(string modelDirectory, ExecutionDevice device, SchedulerOptions? options = null)
    {
        options ??= new SchedulerOptions();
        var model = DecoderModel.Load(modelDirectory, device, options.Threads, options.AllowSpinning, options.Graph);
        try
        {
            var tokenizer = BpeTokenizer.Load(Path.Combine(model.Config.Directory, "tokenizer.json"));
            var template = ChatTemplate.Load(model.Config.Directory, tokenizer);
            return new InferenceEngine(model, tokenizer, template, options);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public int CountPromptTokens(IReadOnlyList<ChatMessage> messages)
    {
        var ids = new List<int>();
        Template.Encode(messages, addGenerationPrompt: true, ids);
        return ids.Count;
    }

    /// <summary>
    /// Streams the reply to a chat. Errors in the request (<see cref="InvalidRequestException"/>,
    /// <see cref="PromptTooLongException"/>) and a full queue (<see cref="OverloadedException"/>) are thrown at
    /// the first MoveNextAsync, before anything is generated. Stopping early frees the batch row within a step.
    /// </summary>
    public async IAsyncEnumerable<ChatDelta> ChatAsync(ChatRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        SamplingLimits.Validate(request.Sampling, Model.VocabSize);
        if (request.Sampling.BeamWidth > _scheduler.Options.MaxBatchRows)
        {
            throw new InvalidRequestException($"beam_width must be at most {_scheduler.Options.MaxBatchRows} on this server.", "beam_width");
        }

        var (prompt, dropped) = BuildPrompt(request.Messages, request.Tools, request.TruncateOldest);
        using var activity = InferenceTelemetry.Source.StartActivity("inference.chat");
        activity?.SetTag("gen_ai.operation.name", "chat");
        activity?.SetTag("gen_ai.request.model", Info.Id);
        activity?.SetTag("gen_ai.usage.input_tokens", prompt.Length);
        InferenceTelemetry.PromptTokens.Add(prompt.Length);
        var startedAt = Stopwatch.GetTimestamp();
        var lastTokenAt = startedAt;
        var sequence = _scheduler.Submit(new GenerationJob(prompt, request.Sampling, request.CacheKey, dropped) { Trace = activity?.Context ?? default });
        using var registration = cancellationToken.Register(() => _scheduler.Cancel(sequence));
        var first = true;
        var firstTokenAt = 0L;
        // One splitter per choice: beam search returns several.
        var calls = request.Sampling.Constraint is { Kind: OutputConstraintKind.ToolCalls } ? new List<ToolCallStream>() : null;
        var pieces = new List<ChatPiece>();
        try
        {
            await foreach (var delta in sequence.Output.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var now = Stopwatch.GetTimestamp();
                if (first)
                {
                    first = false;
                    firstTokenAt = now;
                    InferenceTelemetry.TimeToFirstToken.Record(Stopwatch.GetElapsedTime(startedAt, now).TotalSeconds);
                    activity?.AddEvent(new ActivityEvent("first_token"));
                }
                else if (delta.Finish is null)
                {
                    InferenceTelemetry.TimePerOutputToken.Record(Stopwatch.GetElapsedTime(lastTokenAt, now).TotalSeconds);
                }

                lastTokenAt = now;
                if (delta.Finish is { } finish)
                {
                    var reason = FinishReasonName(finish);
                    activity?.SetTag("gen_ai.usage.output_tokens", delta.CompletionTokens);
                    activity?.SetTag("gen_ai.response.finish_reasons", new[] { reason });
                    InferenceTelemetry.RequestDuration.Record(
                        Stopwatch.GetElapsedTime(startedAt, now).TotalSeconds,
                        new KeyValuePair<string, object?>("gen_ai.request.model", Info.Id),
                        new KeyValuePair<string, object?>("gen_ai.response.finish_reason", reason));
                }

                if (calls is null)
                {
                    yield return delta;
                    continue;
                }

                // Tool calls: the reply's text is split into content and call pieces, one delta each; the usage
                // counts and the finish ride on the last.
                while (calls.Count <= delta.Index)
                {
                    calls.Add(new ToolCallStream(NewCallId));
                }

                var choice = calls[delta.Index];
                pieces.Clear();
                choice.Append(delta.Text, pieces);
                var rest = delta.Finish is null ? "" : choice.Flush();
                foreach (var piece in pieces)
                {
                    yield return delta with { Text = piece.Content ?? "", ToolCall = piece.ToolCall, Finish = null };
                }

                if (delta.Finish is not null)
                {
                    yield return delta with { Text = rest, Finish = delta.Finish is FinishReason.Stop && choice.Calls > 0 ? FinishReason.ToolCalls : delta.Finish };
                }
            }
        }
        finally
        {
            // A reader that stops early (disconnect, break) ends the sequence; after a normal end this is a no-op.
            _scheduler.Cancel(sequence);
            if (activity is not null)
            {
                TracePhases(activity, startedAt, sequence.AdmittedAt, firstTokenAt);
            }
        }
    }

    /// <summary>
    /// The request's time in the queue, in prefill (to its first token) and in decode, as child spans of its
    /// engine span, recorded once it ends from the times the scheduler noted (0: the phase never began).
    /// </summary>
    private static void TracePhases(Activity request, long startedAt, long admittedAt, long firstTokenAt)
    {
        var end = Stopwatch.GetTimestamp();
        var origin = request.StartTimeUtc;
        DateTimeOffset At(long timestamp) => origin + Stopwatch.GetElapsedTime(startedAt, timestamp);
        void Phase(string name, long from, long to)
        {
            using var span = InferenceTelemetry.Source.StartActivity(name, ActivityKind.Internal, request.Context, startTime: At(from));
            span?.SetEndTime(At(to).UtcDateTime);
        }

        Phase("inference.queue", startedAt, admittedAt == 0 ? end : admittedAt);
        if (admittedAt != 0)
        {
            Phase("inference.prefill", admittedAt, firstTokenAt == 0 ? end : firstTokenAt);
        }

        if (firstTokenAt != 0)
        {
            Phase("inference.decode", firstTokenAt, end);
        }
    }

    /// <summary>OpenAI's form of a tool call id: "call_" and 24 random letters and digits.</summary>
    private static string NewCallId() => "call_" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 24);

    private static string FinishReasonName(FinishReason finish) => finish switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        FinishReason.ToolCalls => "tool_calls",
        _ => "cancelled",
    };

    /// <summary>
    /// Applies the chat template; if the prompt leaves no room for a reply token, drops the oldest turns (a user
    /// message and its replies) after the leading system messages, never the last message, when allowed; else
    /// fails. How many turns to drop is found by binary search, so a long history costs a few encodings, not
    /// one per turn; a prompt that cannot fit even with every droppable turn gone fails after one.
    /// </summary>
    private (int[] Prompt, int Dropped) BuildPrompt(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ToolDefinition> tools, bool truncateOldest)
    {
        if (messages.Count == 0)
        {
            throw new InvalidRequestException("messages must hold at least one message.", "messages");
        }

        var window = Model.Config.ContextWindow;
        var ids = new List<int>();
        var firstDroppable = messages.TakeWhile(m => m.Role == ChatMessage.System).Count();

        // Where each droppable turn starts: a turn is a user message and the replies up to the next user message.
        var turnStarts = new List<int>();
        for (var m = firstDroppable; m < messages.Count - 1; m++)
        {
            if (m == firstDroppable || messages[m].Role == ChatMessage.User)
            {
                turnStarts.Add(m);
            }
        }

        // Encodes the prompt without the first `turns` droppable turns; true when it leaves room for a reply token.
        bool Fits(int turns)
        {
            var resumeAt = turns < turnStarts.Count ? turnStarts[turns] : messages.Count - 1;
            var kept = turns == 0 ? messages : [.. messages.Take(firstDroppable), .. messages.Skip(resumeAt)];
            ids.Clear();
            Template.Encode(kept, addGenerationPrompt: true, ids, tools);
            return ids.Count < window;
        }

        int DroppedMessages(int turns) => turns == 0 ? 0 : (turns < turnStarts.Count ? turnStarts[turns] : messages.Count - 1) - firstDroppable;

        if (Fits(0))
        {
            return (ids.ToArray(), 0);
        }

        if (!truncateOldest || turnStarts.Count == 0 || !Fits(turnStarts.Count))
        {
            throw new PromptTooLongException(ids.Count, window);
        }

        // Fits(all) holds and Fits(0) does not: find the fewest turns to drop, keeping the encoding of the best so far.
        var (low, high) = (0, turnStarts.Count);
        var best = ids.ToArray();
        while (high - low > 1)
        {
            var middle = (low + high) / 2;
            if (Fits(middle))
            {
                (high, best) = (middle, ids.ToArray());
            }
            else
            {
                low = middle;
            }
        }

        return (best, DroppedMessages(high));
    }

    public void Dispose()
    {
        InferenceTelemetry.Untrack(this);
        _scheduler.Dispose();
        Model.Dispose();
    }
}
