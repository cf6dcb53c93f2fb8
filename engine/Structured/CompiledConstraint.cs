using System.Text;

namespace ChatCluster.Inference.Structured;

/// <summary>
/// A compiled grammar and the optional trigger text after which it applies (free text before it). Before the
/// trigger, a row's state is how much of the trigger its last bytes match (a KMP automaton); a token that would
/// complete the trigger is allowed only if what follows the trigger within it is allowed by the grammar. Those
/// masks are cached per trigger state and shared by every row.
/// </summary>
public sealed class CompiledConstraint
{
    private readonly byte[] _trigger;
    private readonly int[] _failure;
    private readonly ulong[]?[] _freeMasks;
    private readonly ulong[]?[] _closedMasks;

    public CompiledConstraint(CompiledGrammar grammar, string? trigger)
    {
        Grammar = grammar;
        Trigger = string.IsNullOrEmpty(trigger) ? null : trigger;
        _trigger = Trigger is null ? [] : Encoding.UTF8.GetBytes(Trigger);
        _failure = Failure(_trigger);
        _freeMasks = new ulong[]?[_trigger.Length];
        _closedMasks = new ulong[]?[_trigger.Length];
    }

    public CompiledGrammar Grammar { get; }

    public string? Trigger { get; }

    internal bool HasTrigger => _trigger.Length > 0;

    public RowConstraint CreateRow() => new(this);

    /// <summary>
    /// Feeds a token's bytes to the trigger matcher from state <paramref name="matched"/> (bytes of the trigger
    /// matched so far). Returns the new state, or the trigger's length when it completes; then
    /// <paramref name="tailStart"/> is where the grammar's bytes begin within the token.
    /// </summary>
    internal int Feed(int matched, ReadOnlySpan<byte> bytes, out int tailStart)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            while (matched > 0 && _trigger[matched] != bytes[i])
            {
                matched = _failure[matched - 1];
            }

            if (_trigger[matched] == bytes[i])
            {
                matched++;
            }

            if (matched == _trigger.Length)
            {
                tailStart = i + 1;
                return matched;
            }
        }

        tailStart = -1;
        return matched;
    }

    /// <summary>
    /// Free-text mask in trigger state <paramref name="matched"/>: every token but those that would start the grammar
    /// wrongly; with <paramref name="mayStart"/> false, also none that completes the trigger (a row too near its
    /// token limit to finish what the grammar starts).
    /// </summary>
    internal ulong[] FreeMask(int matched, bool mayStart = true)
    {
        var masks = mayStart ? _freeMasks : _closedMasks;
        lock (_freeMasks)
        {
            if (masks[matched] is { } known)
            {
                return known;
            }

            var vocabulary = Grammar.Vocabulary;
            var mask = new ulong[(vocabulary.Size + 63) / 64];
            for (var token = 0; token < vocabulary.Size; token++)
            {
                var bytes = vocabulary.TokenBytes(token);
                var completes = Feed(matched, bytes, out var tailStart) == _trigger.Length;
                var allowed = !completes
                    || mayStart && (tailStart == bytes.Length || Grammar.AdvanceBytes(Grammar.InitialSet, bytes[tailStart..]) >= 0);
                if (allowed)
                {
                    mask[token >> 6] |= 1UL << token;
                }
            }

            masks[matched] = mask;
            return mask;
        }
    }

    /// <summary>KMP failure function: failure[i] is the longest proper border of trigger[..(i + 1)].</summary>
    private static int[] Failure(byte[] pattern)
    {
        var failure = new int[pattern.Length];
        for (int i = 1, k = 0; i < pattern.Length; i++)
        {
            while (k > 0 && pattern[i] != pattern[k])
            {
                k = failure[k - 1];
            }

            if (pattern[i] == pattern[k])
            {
                k++;
            }

            failure[i] = k;
        }

        return failure;
    }
}
