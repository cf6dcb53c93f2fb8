namespace ChatCluster.Inference.Structured;

/// <summary>
/// One row's constraint: free text until the trigger (if any) has appeared, then the grammar from the byte after
/// it. The row masks its logits here before sampling and accepts the token it picked. Mutable, not thread-safe.
/// </summary>
public sealed class RowConstraint
{
    private readonly CompiledConstraint _constraint;
    private readonly GrammarMatcher _matcher;

    /// <summary>Trigger bytes matched so far while the text is free; -1 once the grammar applies.</summary>
    private int _triggerMatched;

    internal RowConstraint(CompiledConstraint constraint)
    {
        _constraint = constraint;
        _matcher = constraint.Grammar.CreateMatcher();
        _triggerMatched = constraint.HasTrigger ? 0 : -1;
    }

    /// <summary>A row constraint over <paramref name="grammar"/> that starts after <paramref name="trigger"/> (null: at once).</summary>
    public RowConstraint(CompiledGrammar grammar, string? trigger) : this(new CompiledConstraint(grammar, trigger))
    {
    }

    /// <summary>Whether the grammar applies yet (false: free text before the trigger).</summary>
    public bool IsActive => _triggerMatched < 0;

    public GrammarMatcher Matcher => _matcher;

    /// <summary>The row may end here: free text, or the grammar may end.</summary>
    public bool CanEnd => !IsActive || _matcher.CanEnd;

    /// <summary>Only an end token may follow.</summary>
    public bool IsComplete => IsActive && _matcher.IsComplete;

    /// <summary>Tokens on the shortest way to a valid end (0 in free text).</summary>
    public int TokensToClose => IsActive ? _matcher.TokensToClose : 0;

    /// <summary>Next token of the shortest way to a valid end (an end token in free text).</summary>
    public int ClosingToken() => IsActive ? _matcher.ClosingToken() : _constraint.Grammar.Vocabulary.EndTokens[0];

    /// <param name="tokensLeft">Tokens the row may still generate, this one included.</param>
    public void MaskLogits(Span<float> logits, int tokensLeft)
    {
        if (IsActive)
        {
            if (!_matcher.TryForce(logits, tokensLeft))
            {
                _matcher.MaskLogits(logits, tokensLeft);
            }
        }
        else
        {
            // The grammar may start only where what it starts can still close within the limit (the matcher is at
            // the grammar's start until then); text is free either way.
            var mayStart = tokensLeft - 1 >= _matcher.TokensToClose;
            GrammarMatcher.Apply(_constraint.FreeMask(_triggerMatched, mayStart), logits);
        }
    }

    /// <exception cref="InvalidOperationException">The token is not allowed here.</exception>
    public void Accept(int token)
    {
        if (IsActive)
        {
            _matcher.Accept(token);
            return;
        }

        var bytes = _constraint.Grammar.Vocabulary.TokenBytes(token);
        var matched = _constraint.Feed(_triggerMatched, bytes, out var tailStart);
        if (tailStart < 0)
        {
            _triggerMatched = matched;
            return;
        }

        if (!_matcher.TryAcceptBytes(bytes[tailStart..]))
        {
            throw new InvalidOperationException($"Token {token} completes the trigger with bytes the grammar does not allow.");
        }

        _triggerMatched = -1;
    }

    public RowConstraint Clone()
    {
        var copy = new RowConstraint(_constraint);
        copy.CopyFrom(this);
        return copy;
    }

    /// <summary>Takes over another row's place (a beam reorder) without allocating.</summary>
    public void CopyFrom(RowConstraint other)
    {
        _matcher.CopyFrom(other._matcher);
        _triggerMatched = other._triggerMatched;
    }
}
