using System.Text;

namespace ChatCluster.Inference.Sampling;

/// <summary>
/// Finds stop strings in a stream of decoded text, across token boundaries. Text that could still be the
/// start of a stop string is held back; once a stop string matches, everything before it is released and the
/// stop string itself never is.
/// </summary>
internal sealed class StopStringMatcher(IReadOnlyList<string> stops)
{
    private readonly StringBuilder _pending = new();

    public bool Stopped { get; private set; }

    /// <summary>Adds decoded text; returns the text that is now safe to emit (may be empty).</summary>
    public string Append(string text)
    {
        if (Stopped)
        {
            return string.Empty;
        }

        if (stops.Count == 0)
        {
            return text;
        }

        _pending.Append(text);
        var pending = _pending.ToString();
        var earliest = -1;
        foreach (var stop in stops)
        {
            var at = pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (earliest < 0 || at < earliest))
            {
                earliest = at;
            }
        }

        if (earliest >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return pending[..earliest];
        }

        var hold = LongestSuffixThatStartsAStop(pending);
        _pending.Clear().Append(pending, pending.Length - hold, hold);
        return hold == 0 ? pending : pending[..^hold];
    }

    /// <summary>Releases what was held back when generation ends without a match.</summary>
    public string Flush()
    {
        var rest = Stopped ? string.Empty : _pending.ToString();
        _pending.Clear();
        return rest;
    }

    private int LongestSuffixThatStartsAStop(string text)
    {
        var longest = 0;
        foreach (var stop in stops)
        {
            for (var length = Math.Min(stop.Length - 1, text.Length); length > longest; length--)
            {
                if (text.AsSpan(text.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    longest = length;
                    break;
                }
            }
        }

        return longest;
    }
}
