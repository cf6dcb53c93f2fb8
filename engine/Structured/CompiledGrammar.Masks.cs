namespace ChatCluster.Inference.Structured;

public sealed partial class CompiledGrammar
{
    private readonly MaskWalk _walk;

    /// <summary>
    /// The cached mask of a set: computed on the first visit, then reused by every row that reaches the same set.
    /// Also fills the set's closing token and the largest cost a token leads to.
    /// </summary>
    internal ulong[] Mask(int set)
    {
        lock (_lock)
        {
            var s = _sets[set];
            if (s.Mask is null)
            {
                var mask = new ulong[(Vocabulary.Size + 63) / 64];
                var (maxCostAfter, closing) = _walk.Run(s, mask);
                s.MaxCostAfter = maxCostAfter;
                s.ClosingToken = closing;
                s.Mask = mask;
            }

            return s.Mask;
        }
    }

    /// <summary>
    /// The allowed tokens after which the grammar can still be closed within <paramref name="tokensAfter"/> tokens
    /// (by the byte bound, or else by the closing chain's length), end tokens where it may end. Asked only when the
    /// byte bound of some allowed token exceeds the budget; the largest token need of the set is computed once,
    /// and narrower masks are cached per budget below it, so a row near its limit in a seen state allocates nothing.
    /// </summary>
    internal ulong[] BudgetMask(int set, int tokensAfter)
    {
        var full = Mask(set);
        lock (_lock)
        {
            var s = _sets[set];
            if (s.MaxNeedAfter < 0)
            {
                var most = 0;
                for (var token = NextToken(full, -1); token >= 0; token = NextToken(full, token))
                {
                    most = Math.Max(most, Need(set, token));
                }

                s.MaxNeedAfter = most;
            }

            if (tokensAfter >= s.MaxNeedAfter)
            {
                return full;
            }

            s.BudgetMasks ??= [];
            if (s.BudgetMasks.TryGetValue(tokensAfter, out var known))
            {
                return known;
            }

            var mask = new ulong[full.Length];
            for (var token = NextToken(full, -1); token >= 0; token = NextToken(full, token))
            {
                if (Need(set, token) <= tokensAfter)
                {
                    mask[token >> 6] |= 1UL << token;
                }
            }

            // Too few tokens left to close whatever is taken (a limit below the shortest output): close anyway.
            if (Array.TrueForAll(mask, static word => word == 0))
            {
                mask[s.ClosingToken >> 6] |= 1UL << s.ClosingToken;
            }

            s.BudgetMasks[tokensAfter] = mask;
            return mask;
        }
    }

    /// <summary>Tokens needed to close after <paramref name="token"/>: the smaller of the byte bound and the closing chain.</summary>
    private int Need(int set, int token)
    {
        if (Vocabulary.IsEndToken(token))
        {
            return 0;
        }

        var next = Advance(set, token);
        return Math.Min(_sets[next].Cost, CloseTokens(next));
    }

    /// <summary>The first token in the mask after <paramref name="after"/>, or -1.</summary>
    private static int NextToken(ulong[] mask, int after)
    {
        var start = after + 1;
        for (var word = start >> 6; word < mask.Length; word++)
        {
            var bits = word == start >> 6 ? mask[word] & (ulong.MaxValue << (start & 63)) : mask[word];
            if (bits != 0)
            {
                return (word << 6) + System.Numerics.BitOperations.TrailingZeroCount(bits);
            }
        }

        return -1;
    }

    /// <summary>
    /// Tokens on the closing chain from a set (each step its closing token) to where the grammar may end: a
    /// bound on the tokens needed to close that is never above the byte bound, and usually far below it.
    /// </summary>
    internal int CloseTokens(int set)
    {
        lock (_lock)
        {
            if (_sets[set].CanEnd)
            {
                return 0;
            }

            if (_sets[set].CloseTokens >= 0)
            {
                return _sets[set].CloseTokens;
            }

            var chain = new List<int>();
            var at = set;
            while (_sets[at].CloseTokens < 0 && !_sets[at].CanEnd)
            {
                chain.Add(at);
                Mask(at);
                at = Advance(at, _sets[at].ClosingToken);
            }

            var count = _sets[at].CanEnd ? 0 : _sets[at].CloseTokens;
            _sets[at].CloseTokens = count;
            for (var i = chain.Count - 1; i >= 0; i--)
            {
                _sets[chain[i]].CloseTokens = ++count;
            }

            return _sets[set].CloseTokens;
        }
    }

    /// <summary>
    /// One preorder pass over the token trie, carrying the positions each prefix leads to per depth; a prefix
    /// that leads nowhere skips its subtree. Scratch is kept between walks.
    /// </summary>
    private sealed class MaskWalk(CompiledGrammar grammar)
    {
        private readonly List<List<int>> _levels = [];
        private int[] _stamp = new int[64];
        private int _generation;

        public (int MaxCostAfter, int ClosingToken) Run(StateSet set, ulong[] mask)
        {
            Array.Clear(mask);
            var trie = grammar.Vocabulary.Trie;
            while (_levels.Count <= trie.MaxDepth)
            {
                _levels.Add([]);
            }

            _levels[0].Clear();
            _levels[0].AddRange(set.Positions);
            var maxCostAfter = 0;
            var closing = -1;
            var closingCost = int.MaxValue;
            var closingDepth = 0;
            for (var node = 0; node < trie.NodeCount;)
            {
                var depth = trie.Depth[node];
                var level = _levels[depth];
                StepLevel(_levels[depth - 1], trie.Byte[node], level);
                if (level.Count == 0)
                {
                    node = trie.SubtreeEnd[node];
                    continue;
                }

                if (trie.TokensStart[node] < trie.TokensStart[node + 1])
                {
                    for (var t = trie.TokensStart[node]; t < trie.TokensStart[node + 1]; t++)
                    {
                        var token = trie.Tokens[t];
                        mask[token >> 6] |= 1UL << token;
                    }

                    var cost = CostOf(level);
                    maxCostAfter = Math.Max(maxCostAfter, cost);

                    // Closest to the end first; among equals the longest token, so closing takes fewest tokens.
                    if (cost < closingCost || cost == closingCost && depth > closingDepth)
                    {
                        (closing, closingCost, closingDepth) = (trie.Tokens[trie.TokensStart[node]], cost, depth);
                    }
                }

                node++;
            }

            if (set.CanEnd)
            {
                foreach (var end in grammar.Vocabulary.EndTokens)
                {
                    mask[end >> 6] |= 1UL << end;
                }

                if (grammar.Vocabulary.EndTokens.Count > 0)
                {
                    closing = grammar.Vocabulary.EndTokens[0];
                }
            }

            return (maxCostAfter, closing);
        }

        private int CostOf(List<int> positions)
        {
            var cost = int.MaxValue;
            foreach (var p in positions)
            {
                cost = Math.Min(cost, grammar._positions[p].Cost);
            }

            return cost;
        }

        /// <summary>into = the positions byte <paramref name="b"/> leads to from any of <paramref name="from"/>, without repeats.</summary>
        private void StepLevel(List<int> from, byte b, List<int> into)
        {
            into.Clear();
            if (++_generation == int.MaxValue)
            {
                Array.Clear(_stamp);
                _generation = 1;
            }

            foreach (var position in from)
            {
                if (position == EndPosition)
                {
                    continue;
                }

                foreach (var next in grammar.Step(position, b))
                {
                    if (next >= _stamp.Length)
                    {
                        Array.Resize(ref _stamp, Math.Max(next + 1, _stamp.Length * 2));
                    }

                    if (_stamp[next] != _generation)
                    {
                        _stamp[next] = _generation;
                        into.Add(next);
                    }
                }
            }
        }
    }
}
