namespace ChatCluster.Bench;

/// <summary>
/// The clients' turns as they finish, for the interval since the last sample and for the whole run. Many
/// clients add at once; a lock is enough at a few hundred turns a second. End-to-end latency is from the
/// message request sent to its last delta (TTFT plus the gaps between deltas); creating a conversation is not in it.
/// </summary>
internal sealed class LoadTally
{
    private readonly Lock _lock = new();
    private readonly List<double> _ttftMs = [];
    private readonly List<double> _endToEndMs = [];
    private readonly Dictionary<string, int> _errorMessages = [];
    private Interval _interval = new();
    private long _tokens;
    private int _turns;
    private int _errors;

    /// <summary>One interval's turns: tokens/s is its completion tokens over its wall time.</summary>
    public sealed record IntervalStats(int Turns, int Errors, int CompletionTokens, double TtftP50Ms, double EndToEndP50Ms, double EndToEndP99Ms);

    /// <summary>The whole run's turns.</summary>
    public sealed record Totals(int Turns, int Errors, long CompletionTokens, double TtftP50Ms, double TtftP99Ms,
        double EndToEndP50Ms, double EndToEndP99Ms, IReadOnlyDictionary<string, int> ErrorMessages);

    public void Add(TurnResult turn)
    {
        lock (_lock)
        {
            _turns++;
            _interval.Turns++;
            if (turn.Error is { } error)
            {
                _errors++;
                _interval.Errors++;
                _errorMessages[error] = _errorMessages.GetValueOrDefault(error) + 1;
                return;
            }

            var endToEnd = turn.TtftMs + turn.GapsMs.Sum();
            _tokens += turn.CompletionTokens;
            _interval.Tokens += turn.CompletionTokens;
            _ttftMs.Add(turn.TtftMs);
            _endToEndMs.Add(endToEnd);
            _interval.TtftMs.Add(turn.TtftMs);
            _interval.EndToEndMs.Add(endToEnd);
        }
    }

    /// <summary>The turns finished since the last call; starts the next interval.</summary>
    public IntervalStats TakeInterval()
    {
        Interval interval;
        lock (_lock)
        {
            (interval, _interval) = (_interval, new Interval());
        }

        return new IntervalStats(interval.Turns, interval.Errors, interval.Tokens, Percentiles.Of(interval.TtftMs, 0.5),
            Percentiles.Of(interval.EndToEndMs, 0.5), Percentiles.Of(interval.EndToEndMs, 0.99));
    }

    public Totals Total()
    {
        lock (_lock)
        {
            return new Totals(_turns, _errors, _tokens, Percentiles.Of(_ttftMs, 0.5), Percentiles.Of(_ttftMs, 0.99),
                Percentiles.Of(_endToEndMs, 0.5), Percentiles.Of(_endToEndMs, 0.99), new Dictionary<string, int>(_errorMessages));
        }
    }

    private sealed class Interval
    {
        public int Turns { get; set; }

        public int Errors { get; set; }

        public int Tokens { get; set; }

        public List<double> TtftMs { get; } = [];

        public List<double> EndToEndMs { get; } = [];
    }
}
