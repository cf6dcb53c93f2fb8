using System.Text.Json;

namespace ChatCluster.Inference.Structured;

/// <summary>
/// Compiled constraints of one vocabulary, keyed by the constraint's value (its JSON), least recently used
/// dropped beyond <see cref="Capacity"/>: a schema sent with every request compiles once, and its masks and
/// transitions, filled as rows visit states, serve every later request.
/// </summary>
public sealed class ConstraintCache(TokenVocabulary vocabulary)
{
    public const int Capacity = 64;

    private readonly Dictionary<string, LinkedListNode<(string Key, CompiledConstraint Value)>> _entries = [];
    private readonly LinkedList<(string Key, CompiledConstraint Value)> _recency = [];

    /// <exception cref="SchemaNotSupportedException">A schema uses an unsupported keyword.</exception>
    /// <exception cref="InvalidSchemaException">A schema is malformed.</exception>
    public CompiledConstraint Get(OutputConstraint constraint)
    {
        var key = JsonSerializer.Serialize(constraint);
        lock (_entries)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                return node.Value.Value;
            }
        }

        // Compiled outside the lock; two racing requests for one new schema may both compile it, and one wins.
        var (grammar, trigger) = ConstraintGrammar.For(constraint);
        var compiled = new CompiledConstraint(CompiledGrammar.Compile(grammar, vocabulary), trigger);
        lock (_entries)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                return node.Value.Value;
            }

            _entries[key] = _recency.AddFirst((key, compiled));
            if (_entries.Count > Capacity)
            {
                _entries.Remove(_recency.Last!.Value.Key);
                _recency.RemoveLast();
            }
        }

        return compiled;
    }
}
