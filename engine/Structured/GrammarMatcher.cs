namespace ChatCluster.Inference.Structured;

/// <summary>
/// One row's place in a compiled grammar. Mutable and not thread-safe; <see cref="Clone"/> is cheap (a beam that
/// takes over another's place copies it). Its state is an id into the grammar's shared tables, so masking and
/// accepting a token are lookups once the state has been seen, and allocate nothing.
/// </summary>
public sealed class GrammarMatcher
{
    private readonly CompiledGrammar _grammar;
    private int _set;

    internal GrammarMatcher(CompiledGrammar grammar) : this(grammar, grammar.InitialSet)
    {
    }

    private GrammarMatcher(CompiledGrammar grammar, int set)
    {
        _grammar = grammar;
        _set = set;
    }

    public CompiledGrammar Grammar => _grammar;

    /// <summary>The grammar may end here (end tokens are allowed).</summary>
    public bool CanEnd => _grammar.Set(_set).CanEnd;

    /// <summary>Nothing may follow but the end: the row should take an end token.</summary>
    public bool IsComplete => _grammar.Set(_set).IsComplete;

    /// <summary>
    /// Tokens on the way to complete from here that <see cref="ClosingToken"/> takes (an upper bound on the fewest:
    /// each closing token moves to the nearest end by bytes, the longest such token). 0 once the grammar may end.
    /// </summary>
    public int TokensToClose => _grammar.CloseTokens(_set);

    /// <summary>The next token of the shortest way to complete (an end token where the grammar may end).</summary>
    public int ClosingToken()
    {
        _grammar.Mask(_set);
        return _grammar.Set(_set).ClosingToken;
    }

    /// <summary>Sets every token the grammar does not allow here to -infinity; end tokens only where it may end.</summary>
    public void MaskLogits(Span<float> logits) => Apply(_grammar.Mask(_set), logits);

    /// <summary>
    /// As <see cref="MaskLogits(Span{float})"/>, and also only tokens after which the grammar can still be closed
    /// within the tokens left after this one: a row that starts with at least <see cref="TokensToClose"/> tokens
    /// left always ends on complete output, however it samples.
    /// </summary>
    /// <param name="tokensLeft">Tokens this row may still generate, this one included.</param>
    public void MaskLogits(Span<float> logits, int tokensLeft)
    {
        // When the byte bound of every allowed token fits, no token can strand the row (one check, the common case).
        var mask = _grammar.Mask(_set);
        if (_grammar.Set(_set).MaxCostAfter >= tokensLeft)
        {
            mask = _grammar.BudgetMask(_set, tokensLeft - 1);
        }

        Apply(mask, logits);
    }

    /// <summary>Whether the grammar allows <paramref name="token"/> here (end tokens: where it may end).</summary>
    public bool IsAllowed(int token)
    {
        var mask = _grammar.Mask(_set);
        return (mask[token >> 6] & (1UL << token)) != 0;
    }

    /// <summary>Moves past <paramref name="token"/>; an end token leaves the matcher where it is.</summary>
    /// <exception cref="InvalidOperationException">The grammar does not allow the token here.</exception>
    public void Accept(int token)
    {
        if (_grammar.Vocabulary.IsEndToken(token))
        {
            if (!CanEnd)
            {
                throw new InvalidOperationException($"The grammar cannot end here; end token {token} is not allowed.");
            }

            return;
        }

        var next = _grammar.Advance(_set, token);
        if (next < 0)
        {
            throw new InvalidOperationException($"The grammar does not allow token {token} here.");
        }

        _set = next;
    }

    /// <summary>Moves past raw bytes (text that did not come as one token); false, and no move, if not allowed.</summary>
    public bool TryAcceptBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return true;
        }

        var next = _grammar.AdvanceBytes(_set, bytes);
        if (next < 0)
        {
            return false;
        }

        _set = next;
        return true;
    }

    public GrammarMatcher Clone() => new(_grammar, _set);

    /// <summary>Takes over another matcher's place in the same grammar (a beam reorder) without allocating.</summary>
    public void CopyFrom(GrammarMatcher other)
    {
        if (!ReferenceEquals(other._grammar, _grammar))
        {
            throw new ArgumentException("The matchers belong to different grammars.", nameof(other));
        }

        _set = other._set;
    }

    /// <summary>
    /// Where the grammar forces text, and every allowed token would still leave room to close within
    /// <paramref name="tokensLeft"/>, leaves only the token that text starts with as the tokenizer encodes it
    /// (<see cref="CompiledGrammar.ForcedToken"/>): a choice of how to decode, on top of the mask, which stays
    /// the set of tokens the grammar allows.
    /// </summary>
    /// <returns>Whether it forced a token (the logits then allow that one alone).</returns>
    public bool TryForce(Span<float> logits, int tokensLeft)
    {
        // Most states leave a choice: ask that first (one cached lookup), and the closing cost only where text is forced.
        var token = _grammar.ForcedToken(_set);
        if (token < 0)
        {
            return false;
        }

        _grammar.Mask(_set); // fills the set's MaxCostAfter
        if (_grammar.Set(_set).MaxCostAfter >= tokensLeft)
        {
            return false;
        }

        logits.Fill(float.NegativeInfinity);
        logits[token] = 0;
        return true;
    }

    internal static void Apply(ulong[] mask, Span<float> logits)
    {
        for (var word = 0; word < mask.Length; word++)
        {
            var allowed = mask[word];
            if (allowed == ulong.MaxValue)
            {
                continue;
            }

            var first = word * 64;
            var count = Math.Min(64, logits.Length - first);
            if (allowed == 0)
            {
                logits.Slice(first, count).Fill(float.NegativeInfinity);
                continue;
            }

            for (var i = 0; i < count; i++)
            {
                if ((allowed & (1UL << i)) == 0)
                {
                    logits[first + i] = float.NegativeInfinity;
                }
            }
        }
    }
}
