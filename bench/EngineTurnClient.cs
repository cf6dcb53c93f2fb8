using System.Diagnostics;
using ChatCluster.Inference;

namespace ChatCluster.Bench;

/// <summary>
/// The engine alone, driven in-process the way the gateway drives it: the same messages as the HTTP clients'
/// (<see cref="SseTurnClient.PromptMessages"/>), the same reply length, end tokens banned with the same logit
/// bias, default sampling (what an HTTP request that names none gets). A token is a delta with text, as the
/// gateway sends an event only for those; the turn's tokens are the final delta's count.
/// </summary>
internal sealed class EngineTurnClient(InferenceEngine engine, int maxTokens, IEnumerable<int> bannedTokens)
{
    private readonly ChatRequest _request = new()
    {
        Messages = SseTurnClient.PromptMessages,
        Sampling = new SamplingParameters { MaxTokens = maxTokens, LogitBias = bannedTokens.ToDictionary(id => id, _ => -100f) },
    };

    public async Task<TurnResult> RunAsync(CancellationToken cancellationToken)
    {
        var sent = Stopwatch.GetTimestamp();
        double? ttft = null;
        var last = sent;
        var gaps = new List<double>(maxTokens);
        try
        {
            await foreach (var delta in engine.ChatAsync(_request, cancellationToken))
            {
                if (delta.Text.Length > 0)
                {
                    var now = Stopwatch.GetTimestamp();
                    if (ttft is null)
                    {
                        ttft = Stopwatch.GetElapsedTime(sent, now).TotalMilliseconds;
                    }
                    else
                    {
                        gaps.Add(Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
                    }

                    last = now;
                }

                if (delta.Finish is not null)
                {
                    return ttft is { } first
                        ? new TurnResult(delta.CompletionTokens, first, gaps, null)
                        : TurnResult.Failed("engine: finished without text");
                }
            }

            return TurnResult.Failed("engine: stream ended without a finish");
        }
        catch (Exception e) when (e is InvalidRequestException or OverloadedException)
        {
            return TurnResult.Failed($"engine: {e.Message}");
        }
    }
}
