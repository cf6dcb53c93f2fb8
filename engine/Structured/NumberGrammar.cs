using System.Globalization;

namespace ChatCluster.Inference.Structured;

/// <summary>
/// Integers and numbers between bounds, as grammars over their decimal text. Integer ranges are exact (the
/// classic digit-by-digit construction); bounded non-integers are the integers in range plus, for each integer
/// part whose whole unit interval lies in range, any fraction: a subset of the allowed numbers, never outside.
/// </summary>
internal static class NumberGrammar
{
    /// <summary>The largest magnitude written (15 digits), so that every value is exact as a double and a decimal.</summary>
    public static readonly long Limit = (long)Math.Pow(10, JsonGrammars.MaxDigits) - 1;

    /// <summary>Integers in [low, high] (null: unbounded, within ±<see cref="Limit"/>); null if none.</summary>
    public static Grammar? IntegerRange(long? low, long? high)
    {
        var lo = Math.Max(low ?? -Limit, -Limit);
        var hi = Math.Min(high ?? Limit, Limit);
        if (lo > hi)
        {
            return null;
        }

        var parts = new List<Grammar>();
        if (lo < 0)
        {
            parts.Add(Grammar.Sequence(Grammar.Literal("-"), NonNegative(Math.Max(1, -Math.Min(hi, -1)), -lo)));
        }

        if (hi >= 0)
        {
            parts.Add(NonNegative(Math.Max(lo, 0), hi));
        }

        return Grammar.Choice([.. parts]);
    }

    /// <summary>
    /// Numbers within the bounds (each null when absent; exclusive ones given as such), or null if this
    /// construction finds none (the caller then writes a single value).
    /// </summary>
    public static Grammar? NumberRange(decimal? low, bool lowExclusive, decimal? high, bool highExclusive)
    {
        var parts = new List<Grammar>();

        // Integral values: the smallest and largest integers that satisfy the bounds.
        var intLow = low is { } l ? (long?)Clamp(lowExclusive && decimal.Floor(l) == l ? l + 1 : decimal.Ceiling(l)) : null;
        var intHigh = high is { } h ? (long?)Clamp(highExclusive && decimal.Floor(h) == h ? h - 1 : decimal.Floor(h)) : null;
        if (IntegerRange(intLow, intHigh) is { } integers)
        {
            parts.Add(integers);
        }

        // I.f with I >= 0 lies in [I, I + 1): I must satisfy the lower bound and I + 1 <= high.
        var fracLow = Math.Max(0, intLow ?? 0);
        var fracHigh = high is { } top ? (long?)Clamp(decimal.Floor(top) - 1) : null;
        if (IntegerRange(fracLow, fracHigh) is { } positive && (fracHigh is null || fracLow <= fracHigh))
        {
            parts.Add(Grammar.Sequence(positive, JsonGrammars.Fraction));
        }

        // -K.f with K >= 1 lies in (-K - 1, -K]: -K must satisfy the upper bound and -K - 1 >= low.
        var kLow = Math.Max(1, intHigh is { } ih ? -ih : 1);
        var kHigh = low is { } bottom ? (long?)Clamp(-decimal.Ceiling(bottom) - 1) : null;
        if ((kHigh is null || kLow <= kHigh) && IntegerRange(kLow, kHigh) is { } magnitude)
        {
            parts.Add(Grammar.Sequence(Grammar.Literal("-"), magnitude, JsonGrammars.Fraction));
        }

        return parts.Count == 0 ? null : Grammar.Choice([.. parts]);
    }

    /// <summary>A single number within bounds that admit no integer: the inclusive bound, or the midpoint.</summary>
    public static Grammar Single(decimal? low, bool lowExclusive, decimal? high, bool highExclusive)
    {
        var value = low is { } l && !lowExclusive ? l
            : high is { } h && !highExclusive ? h
            : ((low ?? high ?? 0) + (high ?? low ?? 0)) / 2;
        return Grammar.Literal(value.ToString(CultureInfo.InvariantCulture));
    }

    private static long Clamp(decimal value) => (long)Math.Clamp(value, -Limit - 1, Limit + 1);

    /// <summary>Non-negative integers in [low, high] without leading zeros, by digit count.</summary>
    private static Grammar NonNegative(long low, long high)
    {
        var parts = new List<Grammar>();
        for (var digits = 1; digits <= JsonGrammars.MaxDigits; digits++)
        {
            var first = digits == 1 ? 0 : (long)Math.Pow(10, digits - 1);
            var last = (long)Math.Pow(10, digits) - 1;
            var from = Math.Max(low, first);
            var to = Math.Min(high, last);
            if (from <= to)
            {
                parts.Add(SameLength(from.ToString(CultureInfo.InvariantCulture), to.ToString(CultureInfo.InvariantCulture)));
            }
        }

        return Grammar.Choice([.. parts]);
    }

    /// <summary>Digit strings of one length between low and high inclusive.</summary>
    private static Grammar SameLength(string low, string high)
    {
        if (low.Length == 0)
        {
            return Grammar.Empty;
        }

        var rest = low.Length - 1;
        if (low[1..].All(c => c == '0') && high[1..].All(c => c == '9'))
        {
            return Grammar.Sequence(Grammar.ByteRange((byte)low[0], (byte)high[0]), Grammar.Repeat(JsonGrammars.Digit, rest, rest));
        }

        if (low[0] == high[0])
        {
            return Grammar.Sequence(Grammar.Literal(low[..1]), SameLength(low[1..], high[1..]));
        }

        var parts = new List<Grammar>
        {
            Grammar.Sequence(Grammar.Literal(low[..1]), SameLength(low[1..], new string('9', rest))),
        };
        if (high[0] - low[0] > 1)
        {
            parts.Add(Grammar.Sequence(Grammar.ByteRange((byte)(low[0] + 1), (byte)(high[0] - 1)), Grammar.Repeat(JsonGrammars.Digit, rest, rest)));
        }

        parts.Add(Grammar.Sequence(Grammar.Literal(high[..1]), SameLength(new string('0', rest), high[1..])));
        return Grammar.Choice([.. parts]);
    }
}
