using System.Globalization;
using System.Text;
using ChatCluster.Inference.Tools;

namespace ChatCluster.Inference.Structured;

/// <summary>
/// A regular expression (the subset JSON Schema's <c>pattern</c> uses in practice) as the grammar of a JSON
/// string's content, escapes included: literals, escapes, classes with ranges and negation, \d \w \s and their
/// negations, '.', groups, alternation, ? * + {m} {m,} {m,n}, and ^ $ at the ends.
/// The grammar matches the whole string (anchored): a string the anchored pattern matches also matches the
/// unanchored one, so this is a subset of what the pattern allows, and a model cannot pad it with free text.
/// For the same reason '.', negated classes and \D \W \S draw only from printable ASCII: validators' Unicode
/// definitions of \d and \w differ, and ASCII keeps every engine in agreement.
/// </summary>
internal sealed class PatternGrammar
{
    private const int MaxRepeat = 1000;

    private readonly string _pattern;
    private readonly string _path;
    private int _at;

    private PatternGrammar(string pattern, string path)
    {
        _pattern = pattern;
        _path = path;
    }

    /// <summary>Printable ASCII: what '.' and negations draw from.</summary>
    private static readonly CharSet Printable = new([(0x20, 0x7E)]);

    public static Grammar Compile(string pattern, string path)
    {
        var parser = new PatternGrammar(pattern, path);
        var body = pattern;
        if (body.StartsWith('^'))
        {
            parser._at = 1;
        }

        var grammar = parser.ParseAlternation();
        if (parser._at < pattern.Length && pattern[parser._at] == '$' && parser._at == pattern.Length - 1)
        {
            parser._at++;
        }

        if (parser._at < pattern.Length)
        {
            throw parser.Unsupported($"'{pattern[parser._at]}' at offset {parser._at}");
        }

        return grammar;
    }

    private Grammar ParseAlternation()
    {
        var alternatives = new List<Grammar> { ParseSequence() };
        while (Peek() == '|')
        {
            _at++;
            alternatives.Add(ParseSequence());
        }

        return Grammar.Choice([.. alternatives]);
    }

    private Grammar ParseSequence()
    {
        var items = new List<Grammar>();
        while (_at < _pattern.Length && Peek() is not ('|' or ')'))
        {
            if (Peek() == '$' && _at == _pattern.Length - 1)
            {
                break;
            }

            items.Add(ParseQuantified(ParseAtom()));
        }

        return Grammar.Sequence([.. items]);
    }

    private Grammar ParseQuantified(Grammar atom)
    {
        while (true)
        {
            int min;
            int? max;
            switch (Peek())
            {
                case '?':
                    (min, max) = (0, 1);
                    _at++;
                    break;
                case '*':
                    (min, max) = (0, null);
                    _at++;
                    break;
                case '+':
                    (min, max) = (1, null);
                    _at++;
                    break;
                case '{' when TryParseCount(out min, out max):
                    break;
                default:
                    return atom;
            }

            // A lazy quantifier matches the same strings.
            if (Peek() == '?')
            {
                _at++;
            }

            atom = Grammar.Repeat(atom, min, max);
        }
    }

    private bool TryParseCount(out int min, out int? max)
    {
        var close = _pattern.IndexOf('}', _at);
        (min, max) = (0, null);
        if (close < 0)
        {
            return false;
        }

        var body = _pattern[(_at + 1)..close];
        var comma = body.IndexOf(',');
        var minText = comma < 0 ? body : body[..comma];
        if (!int.TryParse(minText, NumberStyles.None, CultureInfo.InvariantCulture, out min))
        {
            return false;
        }

        if (comma < 0)
        {
            max = min;
        }
        else if (comma < body.Length - 1)
        {
            if (!int.TryParse(body[(comma + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var upper) || upper < min)
            {
                throw new InvalidSchemaException(_path + "/pattern", $"pattern has a malformed count {{{body}}}.");
            }

            max = upper;
        }

        if ((max ?? min) > MaxRepeat)
        {
            throw Unsupported($"a count above {MaxRepeat}");
        }

        _at = close + 1;
        return true;
    }

    private Grammar ParseAtom()
    {
        var c = _pattern[_at++];
        switch (c)
        {
            case '(':
                if (Peek() == '?')
                {
                    if (_at + 1 < _pattern.Length && _pattern[_at + 1] == ':')
                    {
                        _at += 2;
                    }
                    else
                    {
                        throw Unsupported("a group construct '(?'");
                    }
                }

                var inner = ParseAlternation();
                if (Peek() != ')')
                {
                    throw new InvalidSchemaException(_path + "/pattern", "pattern has an unclosed group.");
                }

                _at++;
                return inner;
            case '[':
                return Chars(ParseClass());
            case '.':
                return Chars(Printable);
            case '\\':
                return ParseEscape() is { } set ? Chars(set) : throw Unsupported($"the escape '\\{_pattern[_at - 1]}'");
            case '^' or '$':
                throw Unsupported($"the anchor '{c}' inside the pattern");
            case ')' or '*' or '+' or '?' or '{' or '|':
                throw new InvalidSchemaException(_path + "/pattern", $"pattern has an unexpected '{c}' at offset {_at - 1}.");
            default:
                return Chars(CharSet.Of(ReadCodePoint(c)));
        }
    }

    /// <summary>After a backslash: the set it stands for, or null for an unsupported escape.</summary>
    private CharSet? ParseEscape()
    {
        if (_at >= _pattern.Length)
        {
            throw new InvalidSchemaException(_path + "/pattern", "pattern ends with a backslash.");
        }

        var c = _pattern[_at++];
        return c switch
        {
            'd' => CharSet.Digits,
            'w' => CharSet.Word,
            's' => CharSet.Space,
            'D' => Printable.Except(CharSet.Digits),
            'W' => Printable.Except(CharSet.Word),
            'S' => Printable.Except(CharSet.Space),
            'n' => CharSet.Of('\n'),
            't' => CharSet.Of('\t'),
            'r' => CharSet.Of('\r'),
            'f' => CharSet.Of('\f'),
            'v' => CharSet.Of('\v'),
            'u' when _at + 4 <= _pattern.Length && int.TryParse(_pattern.AsSpan(_at, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code) =>
                Take(4, CharSet.Of(code)),
            _ when !char.IsLetterOrDigit(c) => CharSet.Of(c),
            _ => null,
        };
    }

    private CharSet Take(int characters, CharSet set)
    {
        _at += characters;
        return set;
    }

    private CharSet ParseClass()
    {
        var negated = Peek() == '^';
        if (negated)
        {
            _at++;
        }

        var ranges = new List<(int, int)>();
        var first = true;
        while (_at < _pattern.Length && (Peek() != ']' || first))
        {
            first = false;
            int low;
            if (Peek() == '\\')
            {
                _at++;
                var escaped = ParseEscape() ?? throw Unsupported($"the escape '\\{_pattern[_at - 1]}' in a class");
                if (!escaped.IsSingle(out low))
                {
                    ranges.AddRange(escaped.Ranges);
                    continue;
                }
            }
            else
            {
                low = ReadCodePoint(_pattern[_at++]);
            }

            var high = low;
            if (Peek() == '-' && _at + 1 < _pattern.Length && _pattern[_at + 1] != ']')
            {
                _at++;
                if (Peek() == '\\')
                {
                    _at++;
                    var escaped = ParseEscape();
                    if (escaped is null || !escaped.IsSingle(out high))
                    {
                        throw Unsupported("a class range ending in a class escape");
                    }
                }
                else
                {
                    high = ReadCodePoint(_pattern[_at++]);
                }

                if (high < low)
                {
                    throw new InvalidSchemaException(_path + "/pattern", "pattern has a class range out of order.");
                }
            }

            ranges.Add((low, high));
        }

        if (Peek() != ']')
        {
            throw new InvalidSchemaException(_path + "/pattern", "pattern has an unclosed character class.");
        }

        _at++;
        var set = new CharSet(ranges);
        return negated ? Printable.Except(set) : set;
    }

    private int ReadCodePoint(char c)
    {
        if (char.IsHighSurrogate(c) && _at < _pattern.Length && char.IsLowSurrogate(_pattern[_at]))
        {
            return char.ConvertToUtf32(c, _pattern[_at++]);
        }

        return c;
    }

    private char Peek() => _at < _pattern.Length ? _pattern[_at] : '\0';

    private Grammar Chars(CharSet set)
    {
        var alternatives = new List<Grammar>();
        var ascii = new List<(byte, byte)>();
        foreach (var (low, high) in set.Ranges)
        {
            for (var c = low; c <= high; c++)
            {
                if (c >= 0x80)
                {
                    if (high - c > 256)
                    {
                        throw Unsupported("a class of more than 256 non-ASCII characters");
                    }

                    alternatives.Add(Grammar.Literal(char.ConvertFromUtf32(c)));
                }
                else if (c is '"' or '\\' or < 0x20)
                {
                    alternatives.Add(Grammar.Literal(PythonStyleJson.Escape(((char)c).ToString())));
                }
                else if (ascii.Count > 0 && ascii[^1].Item2 == c - 1)
                {
                    ascii[^1] = (ascii[^1].Item1, (byte)c);
                }
                else
                {
                    ascii.Add(((byte)c, (byte)c));
                }
            }
        }

        if (ascii.Count > 0)
        {
            alternatives.Add(Grammar.ByteClass([.. ascii]));
        }

        if (alternatives.Count == 0)
        {
            throw new InvalidSchemaException(_path + "/pattern", "pattern has a character class that matches nothing.");
        }

        return Grammar.Choice([.. alternatives]);
    }

    private SchemaNotSupportedException Unsupported(string what) =>
        new("pattern", _path, $"{what} in \"{_pattern}\" (supported: literals, classes, \\d \\w \\s, '.', groups, |, ? * + {{m,n}}, ^ and $ at the ends)");

    /// <summary>A set of code points as sorted ranges.</summary>
    private sealed class CharSet
    {
        public static readonly CharSet Digits = new([('0', '9')]);
        public static readonly CharSet Word = new([('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')]);
        public static readonly CharSet Space = new([('\t', '\r'), (' ', ' ')]);

        public CharSet(IEnumerable<(int Low, int High)> ranges) => Ranges = Normalize(ranges);

        public List<(int Low, int High)> Ranges { get; }

        public static CharSet Of(int c) => new([(c, c)]);

        public bool IsSingle(out int c)
        {
            c = Ranges.Count == 1 && Ranges[0].Low == Ranges[0].High ? Ranges[0].Low : -1;
            return c >= 0;
        }

        public CharSet Except(CharSet other)
        {
            var result = new List<(int, int)>();
            foreach (var (low, high) in Ranges)
            {
                var from = low;
                foreach (var (otherLow, otherHigh) in other.Ranges)
                {
                    if (otherHigh < from || otherLow > high)
                    {
                        continue;
                    }

                    if (otherLow > from)
                    {
                        result.Add((from, otherLow - 1));
                    }

                    from = Math.Max(from, otherHigh + 1);
                }

                if (from <= high)
                {
                    result.Add((from, high));
                }
            }

            return new CharSet(result);
        }

        private static List<(int, int)> Normalize(IEnumerable<(int Low, int High)> ranges)
        {
            var merged = new List<(int Low, int High)>();
            foreach (var (low, high) in ranges.OrderBy(r => r.Low))
            {
                if (merged.Count > 0 && low <= merged[^1].High + 1)
                {
                    merged[^1] = (merged[^1].Low, Math.Max(merged[^1].High, high));
                }
                else
                {
                    merged.Add((low, high));
                }
            }

            return merged;
        }
    }
}
