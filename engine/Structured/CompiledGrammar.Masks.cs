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
                var (maxCostAfter, closing) = _walk.Run(s, int.MaxValue, mask);
                s.MaxCostAfter = maxCostAfter;
                s.ClosingToken = closing;
                s.Mask = mask;
            }

            return s.Mask;
        }
    }

    /// <summary>
    /// The tokens after which the grammar can still end within <paramref name="maxCostAfter"/> bytes, into
    /// <paramref name="mask"/> (not cached: only rows near their token limit ask, for their last few steps).
    /// </summary>
    internal void BudgetMask(int set, int maxCostAfter, ulong[] mask)
    {
        lock (_lock)
        {
            _walk.Run(_sets[set], maxCostAfter, mask);
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

        public (int MaxCostAfter, int ClosingToken) Run(StateSet set, int budget, ulong[] mask)
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

                var cost = CostOf(level);
                if (cost <= budget)
                {
                    for (var t = trie.TokensStart[node]; t < trie.TokensStart[node + 1]; t++)
                    {
                        var token = trie.Tokens[t];
                        mask[token >> 6] |= 1UL << token;
                    }

                    if (trie.TokensStart[node] < trie.TokensStart[node + 1])
                    {
                        maxCostAfter = Math.Max(maxCostAfter, cost);

                        // Closest to the end first; among equals the longest token, so closing takes fewest tokens.
                        if (cost < closingCost || cost == closingCost && depth > closingDepth)
                        {
                            (closing, closingCost, closingDepth) = (trie.Tokens[trie.TokensStart[node]], cost, depth);
                        }
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
