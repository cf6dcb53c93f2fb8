using System.Text;
using System.Text.Json;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Scheduling;
using ChatCluster.Tests.Infrastructure;
using Json.Schema;

namespace ChatCluster.Tests.Structured;

/// <summary>
/// One engine on the bundled model for the structured-output tests, with room for many concurrent requests, and
/// the independent check of what it writes: JsonSchema.Net 8.0.5 (formats validated too).
/// </summary>
public sealed class StructuredEngineFixture : IDisposable
{
    public InferenceEngine Engine { get; } = InferenceEngine.Load(
        TestPaths.BundledModel, ExecutionDevice.Cpu, new SchedulerOptions { MaxBatchRows = 64, MaxQueuedRequests = 4096 });

    public static IReadOnlyList<ChatMessage> Prompt { get; } = [new ChatMessage("user", "Answer in JSON.")];

    /// <summary>The reply's text and finish reason.</summary>
    public async Task<(string Text, FinishReason Finish)> Run(SamplingParameters sampling)
    {
        var text = new StringBuilder();
        FinishReason? finish = null;
        await foreach (var delta in Engine.ChatAsync(new ChatRequest { Messages = Prompt, Sampling = sampling }))
        {
            text.Append(delta.Text);
            finish = delta.Finish ?? finish;
        }

        return (text.ToString(), finish!.Value);
    }

    /// <summary>Null if <paramref name="text"/> is JSON valid against <paramref name="schema"/>; else why not.</summary>
    public static string? Problem(string schema, string text)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException error)
        {
            return $"not JSON: {error.Message}";
        }

        using (document)
        {
            var options = new EvaluationOptions { RequireFormatValidation = true, OutputFormat = OutputFormat.List };
            var result = JsonSchema.FromText(schema).Evaluate(document.RootElement, options);
            return result.IsValid
                ? null
                : string.Join("; ", (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")));
        }
    }

    public void Dispose() => Engine.Dispose();
}
