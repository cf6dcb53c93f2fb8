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
    /// Into <paramref name="mask"/>: the allowed tokens after which the grammar can still end within
    /// <paramref name="tokensAfter"/> tokens (by the byte bound, or else by the closing chain's length), and end
    /// tokens where it may end. Not cached: only rows near their token limit ask, for their last few steps; the
    /// transitions and chains it follows are cached, so in seen states it allocates nothing.
    /// </summary>
    internal void BudgetMask(int set, int tokensAfter, ulong[] mask)
    {
        var full = Mask(set);
        lock (_lock)
        {
            Array.Clear(mask);
            var vocabulary = Vocabulary;
            var any = false;
            for (var word = 0; word < full.Length; word++)
            {
                for (var bits = full[word]; bits != 0; bits &= bits - 1)
                {
                    var token = (word << 6) + System.Numerics.BitOperations.TrailingZeroCount(bits);
                    var fits = vocabulary.IsEndToken(token)
                        || _sets[Advance(set, token)].Cost <= tokensAfter
                        || CloseTokens(Advance(set, token)) <= tokensAfter;
                    if (fits)
                    {
                        mask[word] |= 1UL << token;
                        any = true;
                    }
                }
            }

            // Too few tokens left to close whatever is taken (a limit below the shortest output): close anyway.
            if (!any)
            {
                var closing = _sets[set].ClosingToken;
                mask[closing >> 6] |= 1UL << closing;
            }
        }
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
