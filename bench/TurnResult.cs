namespace ChatCluster.Bench;

/// <summary>
/// One client's turn: tokens the server reported in its final event, time to the first delta, the gaps
/// between deltas, or what went wrong (a failed turn counts as an error, never as a short reply).
/// </summary>
internal sealed record TurnResult(int CompletionTokens, double TtftMs, List<double> GapsMs, string? Error)
{
    public static TurnResult Failed(string error) => new(0, 0, [], error);
}
