namespace ChatCluster.Inference.Structured;

/// <summary>
/// A grammar compiled to a recursive transition network: one byte-level NFA per rule, whose states have byte
/// edges, empty edges, calls to other rules (with the state to return to) and an end flag. A rule is made for
/// every <see cref="Reference"/> (so recursion works) and every composite node used more than once (so shared
/// sub-grammars and repetitions are not copied). Rule 0 is the start. Immutable once built.
/// Also computes, per state, the fewest bytes to its rule's end (<see cref="Distance"/>): the shortest way to close.
/// </summary>
internal sealed class GrammarAutomaton
{
    private const int Unreachable = int.MaxValue / 4;

    /// <summary>Nodes above this many are refused: a schema whose bounds would unroll into a huge automaton.</summary>
    public const int MaxStates = 200_000;

    private readonly List<State> _states = [];
    private readonly List<int> _ruleStarts = [];
    private readonly Dictionary<Grammar, int> _rules = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Grammar, int> _uses = new(ReferenceEqualityComparer.Instance);
    private readonly Queue<(Grammar Node, int Start, int End)> _pendingRules = new();

    internal sealed class State
    {
        public List<(byte First, byte Last, int Target)> Bytes { get; } = [];

        public List<int> Empty { get; } = [];

        public List<(int Rule, int Return)> Calls { get; } = [];

        public bool IsEnd { get; set; }
    }

    private GrammarAutomaton()
    {
    }

    public State this[int state] => _states[state];

    public int RuleStart(int rule) => _ruleStarts[rule];

    /// <summary>Fewest bytes from each state to the end of its rule (calls count their rule's shortest length).</summary>
    public int[] Distance { get; private set; } = [];

    public static GrammarAutomaton Build(Grammar grammar)
    {
        var automaton = new GrammarAutomaton();
        automaton.CountUses(grammar);
        automaton.AddRule(grammar);
        while (automaton._pendingRules.TryDequeue(out var rule))
        {
            automaton.Emit(rule.Node, rule.Start, rule.End);
        }

        automaton.ComputeDistances();
        return automaton;
    }

    private int NewState()
    {
        if (_states.Count >= MaxStates)
        {
            throw new ArgumentException($"The grammar is too large (over {MaxStates} states); lower its length or item bounds.");
        }

        _states.Add(new State());
        return _states.Count - 1;
    }

    private int AddRule(Grammar node)
    {
        var rule = _ruleStarts.Count;
        var start = NewState();
        var end = NewState();
        _states[end].IsEnd = true;
        _ruleStarts.Add(start);
        _rules[node] = rule;
        _pendingRules.Enqueue((node, start, end));
        return rule;
    }

    /// <summary>Counts how many parents each composite node has (repetitions count once per unrolled copy).</summary>
    private void CountUses(Grammar root)
    {
        var stack = new Stack<(Grammar Node, int Times)>();
        stack.Push((root, 1));
        while (stack.TryPop(out var entry))
        {
            var (node, times) = entry;
            var seen = _uses.TryGetValue(node, out var uses);
            _uses[node] = uses + times;
            if (seen)
            {
                continue;
            }

            switch (node)
            {
                case Reference reference:
                    stack.Push((reference.Target, 1));
                    break;
                case SequenceNode sequence:
                    foreach (var item in sequence.Items)
                    {
                        stack.Push((item, 1));
                    }

                    break;
                case ChoiceNode choice:
                    foreach (var alternative in choice.Alternatives)
                    {
                        stack.Push((alternative, 1));
                    }

                    break;
                case RepeatNode repeat:
                    var copies = repeat.Max is { } max && max <= 1 ? 1 : 2;
                    stack.Push((repeat.Item, copies));
                    if (repeat.Separator is { } separator)
                    {
                        stack.Push((separator, copies));
                    }

                    break;
            }
        }
    }

    /// <summary>Adds edges that match <paramref name="node"/> from state <paramref name="from"/> to <paramref name="to"/>.</summary>
    private void Emit(Grammar node, int from, int to)
    {
        switch (node)
        {
            case LiteralNode literal:
                EmitLiteral(literal.Bytes, from, to);
                break;
            case ByteClassNode byteClass:
                foreach (var (first, last) in byteClass.Ranges)
                {
                    _states[from].Bytes.Add((first, last, to));
                }

                break;
            case SequenceNode sequence:
                var at = from;
                for (var i = 0; i < sequence.Items.Length; i++)
                {
                    var next = i == sequence.Items.Length - 1 ? to : NewState();
                    EmitUse(sequence.Items[i], at, next);
                    at = next;
                }

                if (sequence.Items.Length == 0)
                {
                    _states[from].Empty.Add(to);
                }

                break;
            case ChoiceNode choice:
                foreach (var alternative in choice.Alternatives)
                {
                    EmitUse(alternative, from, to);
                }

                break;
            case RepeatNode repeat:
                EmitRepeat(repeat, from, to);
                break;
            case Reference reference:
                // Inside the reference's own rule: its target is the rule's body.
                Emit(reference.Target, from, to);
                break;
            default:
                throw new InvalidOperationException($"Unknown grammar node {node.GetType().Name}.");
        }
    }

    /// <summary>A node used once is inlined; a reference or a shared composite node becomes a call to its rule.</summary>
    private void EmitUse(Grammar node, int from, int to)
    {
        var shared = node is Reference || node is SequenceNode or ChoiceNode or RepeatNode && _uses.GetValueOrDefault(node) > 1;
        if (!shared)
        {
            Emit(node, from, to);
            return;
        }

        var rule = _rules.TryGetValue(node, out var existing) ? existing : AddRule(node);
        _states[from].Calls.Add((rule, to));
    }

    private void EmitLiteral(byte[] bytes, int from, int to)
    {
        if (bytes.Length == 0)
        {
            _states[from].Empty.Add(to);
            return;
        }

        var at = from;
        for (var i = 0; i < bytes.Length; i++)
        {
            var next = i == bytes.Length - 1 ? to : NewState();
            _states[at].Bytes.Add((bytes[i], bytes[i], next));
            at = next;
        }
    }

    /// <summary>Unrolls the bounded part (item, then optional further items each after a separator); an unbounded tail loops.</summary>
    private void EmitRepeat(RepeatNode repeat, int from, int to)
    {
        var at = from;
        for (var i = 0; i < repeat.Min; i++)
        {
            at = EmitItem(repeat, at, first: i == 0);
        }

        if (repeat.Max is { } max)
        {
            for (var i = repeat.Min; i < max; i++)
            {
                _states[at].Empty.Add(to);
                at = EmitItem(repeat, at, first: i == 0);
            }

            _states[at].Empty.Add(to);
            return;
        }

        if (repeat.Min == 0)
        {
            _states[from].Empty.Add(to);
            at = EmitItem(repeat, from, first: true);
        }

        // at: after at least one item. Either stop, or another (separator and) item back to at.
        _states[at].Empty.Add(to);
        var again = at;
        if (repeat.Separator is { } separator)
        {
            again = NewState();
            EmitUse(separator, at, again);
        }

        EmitUse(repeat.Item, again, at);
    }

    private int EmitItem(RepeatNode repeat, int at, bool first)
    {
        if (!first && repeat.Separator is { } separator)
        {
            var afterSeparator = NewState();
            EmitUse(separator, at, afterSeparator);
            at = afterSeparator;
        }

        var next = NewState();
        EmitUse(repeat.Item, at, next);
        return next;
    }

    /// <summary>Bellman-Ford style relaxation until nothing shortens; rules' lengths are their starts' distances.</summary>
    private void ComputeDistances()
    {
        var distance = new int[_states.Count];
        Array.Fill(distance, Unreachable);
        for (var changed = true; changed;)
        {
            changed = false;
            for (var s = _states.Count - 1; s >= 0; s--)
            {
                var state = _states[s];
                var best = state.IsEnd ? 0 : distance[s];
                foreach (var (_, _, target) in state.Bytes)
                {
                    best = Math.Min(best, 1 + distance[target]);
                }

                foreach (var target in state.Empty)
                {
                    best = Math.Min(best, distance[target]);
                }

                foreach (var (rule, ret) in state.Calls)
                {
                    best = Math.Min(best, distance[_ruleStarts[rule]] + distance[ret]);
                }

                if (best < distance[s])
                {
                    distance[s] = best;
                    changed = true;
                }
            }
        }

        if (distance[_ruleStarts[0]] >= Unreachable)
        {
            throw new ArgumentException("The grammar matches no string (a rule can never end).");
        }

        Distance = distance;
    }
}
