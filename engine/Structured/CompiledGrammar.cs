namespace ChatCluster.Inference.Structured;

/// <summary>
/// A grammar compiled against one vocabulary: the automaton, plus tables filled as rows visit states.
/// A parse position is a stack of automaton states (the current one on top, the states to return to below),
/// interned as (state, parent position) so that it is one int. A row's state is the set of positions the bytes so
/// far can be in (interned as a <see cref="StateSet"/>); each set caches its token mask, its shortest way to
/// close and its transitions by token, so that a row that revisits states (the common case: the same schema,
/// the same keys, the same string contents) costs a few dictionary lookups per step and allocates nothing.
/// Masks are exact: a set is keyed by its whole stacks, never approximated by the top state alone.
/// Safe to share between threads (one lock; rows of one engine are stepped by one thread, so it is uncontended).
/// </summary>
public sealed partial class CompiledGrammar
{
    /// <summary>Position 0: the grammar has ended (nothing can follow).</summary>
    internal const int EndPosition = 0;

    private readonly GrammarAutomaton _automaton;
    private readonly object _lock = new();
    private readonly List<(int State, int Parent, int Cost)> _positions = [(-1, -1, 0)];
    private readonly Dictionary<(int State, int Parent), int> _positionIds = [];
    private readonly Dictionary<long, int[]> _byteSteps = [];
    private readonly List<StateSet> _sets = [];
    private readonly Dictionary<int[], int> _setIds = new(PositionsComparer.Instance);
    private readonly HashSet<int> _closureSeen = [];
    private readonly List<int> _closure = [];

    internal CompiledGrammar(Grammar grammar, TokenVocabulary vocabulary)
    {
        _automaton = GrammarAutomaton.Build(grammar);
        Vocabulary = vocabulary;
        _walk = new MaskWalk(this);
        lock (_lock)
        {
            var start = Closure(Intern(_automaton.RuleStart(0), -1));
            InitialSet = InternSet(start);
        }
    }

    public TokenVocabulary Vocabulary { get; }

    internal int InitialSet { get; }

    public static CompiledGrammar Compile(Grammar grammar, TokenVocabulary vocabulary) => new(grammar, vocabulary);

    public GrammarMatcher CreateMatcher() => new(this);

    internal sealed class StateSet(int[] positions, int cost)
    {
        /// <summary>Sorted position ids; contains <see cref="EndPosition"/> when the grammar may end here.</summary>
        public int[] Positions { get; } = positions;

        public bool CanEnd => Positions[0] == EndPosition;

        public bool IsComplete => Positions.Length == 1 && CanEnd;

        /// <summary>Fewest bytes to the end of the grammar from here.</summary>
        public int Cost { get; } = cost;

        /// <summary>Allowed tokens (end tokens included where the grammar may end); null until first asked.</summary>
        public ulong[]? Mask { get; set; }

        /// <summary>The largest <see cref="Cost"/> any allowed token leads to: a budget at least this large needs no narrower mask.</summary>
        public int MaxCostAfter { get; set; }

        /// <summary>The allowed token that leads closest to the end (an end token where the grammar may end).</summary>
        public int ClosingToken { get; set; } = -1;

        /// <summary>Tokens on the closing chain from here (-1: not yet followed).</summary>
        public int CloseTokens { get; set; } = -1;

        /// <summary>The most tokens any allowed token needs to close after it (-1: not yet computed).</summary>
        public int MaxNeedAfter { get; set; } = -1;

        /// <summary>Masks narrowed to a budget (tokens after this one), for budgets below <see cref="MaxNeedAfter"/>.</summary>
        public Dictionary<int, ulong[]>? BudgetMasks { get; set; }

        public Dictionary<int, int> Next { get; } = [];

        /// <summary>The token forced text starts with here (-1: a choice); null until first asked.</summary>
        public int? ForcedToken { get; set; }
    }

    internal StateSet Set(int id)
    {
        lock (_lock)
        {
            return _sets[id];
        }
    }

    /// <summary>The set after <paramref name="token"/>'s bytes, or -1 if the grammar does not allow it.</summary>
    internal int Advance(int set, int token)
    {
        lock (_lock)
        {
            var from = _sets[set];
            if (from.Next.TryGetValue(token, out var next))
            {
                return next;
            }

            next = AdvanceBytes(set, Vocabulary.TokenBytes(token));
            from.Next[token] = next;
            return next;
        }
    }

    /// <summary>The set after <paramref name="bytes"/>, or -1 if the grammar does not allow them.</summary>
    internal int AdvanceBytes(int set, ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            if (bytes.IsEmpty)
            {
                return -1;
            }

            IReadOnlyList<int> current = _sets[set].Positions;
            var next = new List<int>();
            foreach (var b in bytes)
            {
                next = [];
                foreach (var position in current)
                {
                    if (position != EndPosition)
                    {
                        next.AddRange(Step(position, b));
                    }
                }

                if (next.Count == 0)
                {
                    return -1;
                }

                current = next;
            }

            return InternSet([.. next.Distinct()]);
        }
    }

    /// <summary>The positions one byte leads to from a position (closed: each has byte edges, or is the end).</summary>
    private int[] Step(int position, byte b)
    {
        if (_byteSteps.TryGetValue(((long)position << 8) | b, out var known))
        {
            return known;
        }

        var (state, parent, _) = _positions[position];
        _closure.Clear();
        _closureSeen.Clear();
        foreach (var (first, last, target) in _automaton[state].Bytes)
        {
            if (b >= first && b <= last)
            {
                CloseInto(Intern(target, parent));
            }
        }

        var result = _closure.ToArray();
        _byteSteps[((long)position << 8) | b] = result;
        return result;
    }

    private int[] Closure(int position)
    {
        _closure.Clear();
        _closureSeen.Clear();
        CloseInto(position);
        return [.. _closure];
    }

    /// <summary>Follows empty edges, calls (push) and rule ends (pop) to the positions that read a byte, and the end.</summary>
    private void CloseInto(int position)
    {
        if (!_closureSeen.Add(position))
        {
            return;
        }

        if (position == EndPosition)
        {
            _closure.Add(position);
            return;
        }

        var (stateId, parent, _) = _positions[position];
        var state = _automaton[stateId];
        if (state.Bytes.Count > 0)
        {
            _closure.Add(position);
        }

        foreach (var target in state.Empty)
        {
            CloseInto(Intern(target, parent));
        }

        foreach (var (rule, ret) in state.Calls)
        {
            CloseInto(Intern(_automaton.RuleStart(rule), Intern(ret, parent)));
        }

        if (state.IsEnd)
        {
            CloseInto(parent < 0 ? EndPosition : parent);
        }
    }

    private int Intern(int state, int parent)
    {
        if (_positionIds.TryGetValue((state, parent), out var id))
        {
            return id;
        }

        var cost = _automaton.Distance[state] + (parent < 0 ? 0 : _positions[parent].Cost);
        id = _positions.Count;
        _positions.Add((state, parent, cost));
        _positionIds[(state, parent)] = id;
        return id;
    }

    private int InternSet(int[] positions)
    {
        Array.Sort(positions);
        if (_setIds.TryGetValue(positions, out var id))
        {
            return id;
        }

        var cost = int.MaxValue;
        foreach (var p in positions)
        {
            cost = Math.Min(cost, _positions[p].Cost);
        }

        id = _sets.Count;
        _sets.Add(new StateSet(positions, cost));
        _setIds[positions] = id;
        return id;
    }

    private sealed class PositionsComparer : IEqualityComparer<int[]>
    {
        public static readonly PositionsComparer Instance = new();

        public bool Equals(int[]? x, int[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(int[] positions)
        {
            var hash = new HashCode();
            foreach (var p in positions)
            {
                hash.Add(p);
            }

            return hash.ToHashCode();
        }
    }
}
