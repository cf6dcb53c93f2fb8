using System.Text;

namespace ChatCluster.Inference.Tools;

/// <summary>
/// Splits a streamed reply into its content and its tool calls in <see cref="HermesToolFormat"/>, so that a
/// client gets OpenAI's shape: each call's id and name once, then its arguments in fragments. Text that may be the
/// start of a call is held back until it is known either way. The grammar keeps a constrained reply to the
/// format; should text leave it (a reply that was not constrained), what was held back goes out as content.
/// </summary>
public sealed class ToolCallStream(Func<string> newCallId)
{
    private enum State
    {
        Content,    // before any call: text is content, a possible trigger is held back
        Literal,    // matching the fixed text of the format in _literal
        Name,       // inside the function name's quotes
        Arguments,  // inside the arguments object
        AfterCall,  // a call ended: the next can only be another call
    }

    private readonly StringBuilder _held = new();
    private readonly StringBuilder _name = new();
    private State _state;
    private string _literal = "";
    private int _matched;
    private State _afterLiteral;
    private int _depth;
    private bool _inString;
    private bool _escaped;

    /// <summary>Calls begun so far.</summary>
    public int Calls { get; private set; }

    /// <summary>Feeds newly decoded text; content and call pieces go to <paramref name="output"/> in order.</summary>
    public void Append(string text, List<ChatPiece> output)
    {
        var content = new StringBuilder();
        var arguments = new StringBuilder();
        foreach (var c in text)
        {
            switch (_state)
            {
                case State.Content:
                    _held.Append(c);
                    ReleaseUnlessTriggerPrefix(content);
                    if (_held.Length == HermesToolFormat.Trigger.Length)
                    {
                        // Still held: should the rest not follow, all of it was content.
                        Expect(HermesToolFormat.CallStart[HermesToolFormat.Trigger.Length..], State.Name);
                    }

                    break;
                case State.Literal or State.AfterCall:
                    if (_state == State.AfterCall)
                    {
                        Expect(HermesToolFormat.CallSeparator + HermesToolFormat.CallStart, State.Name);
                    }

                    _held.Append(c);
                    if (c != _literal[_matched])
                    {
                        // Off the format: nothing more is a call.
                        content.Append(_held);
                        _held.Clear();
                        _state = State.Content;
                        break;
                    }

                    if (++_matched == _literal.Length)
                    {
                        _held.Clear();
                        _state = _afterLiteral;
                    }

                    break;
                case State.Name:
                    if (c == '"')
                    {
                        Emit(content, output, isContent: true);
                        output.Add(new ChatPiece(null, new ToolCallDelta(Calls++, newCallId(), _name.ToString(), "")));
                        _name.Clear();
                        Expect(HermesToolFormat.ArgumentsStart[1..], State.Arguments); // its opening quote closed the name
                        _depth = 0;
                    }
                    else
                    {
                        _name.Append(c);
                    }

                    break;
                case State.Arguments:
                    arguments.Append(c);
                    if (ObjectEnds(c))
                    {
                        Emit(arguments, output, isContent: false);
                        Expect(HermesToolFormat.CallEnd, State.AfterCall);
                    }

                    break;
            }
        }

        Emit(content, output, isContent: true);
        Emit(arguments, output, isContent: false);
    }

    /// <summary>At the end of the reply: text still held back was content after all.</summary>
    public string Flush()
    {
        var rest = _held.ToString();
        _held.Clear();
        return rest;
    }

    private void Emit(StringBuilder pending, List<ChatPiece> output, bool isContent)
    {
        if (pending.Length > 0)
        {
            output.Add(isContent
                ? new ChatPiece(pending.ToString(), null)
                : new ChatPiece(null, new ToolCallDelta(Calls - 1, null, null, pending.ToString())));
            pending.Clear();
        }
    }

    private void Expect(string literal, State next)
    {
        _state = State.Literal;
        _literal = literal;
        _matched = 0;
        _afterLiteral = next;
    }

    /// <summary>Releases held text from its start until what is left could still begin the trigger.</summary>
    private void ReleaseUnlessTriggerPrefix(StringBuilder content)
    {
        var trigger = HermesToolFormat.Trigger;
        while (_held.Length > 0 && !IsPrefix(_held, trigger))
        {
            content.Append(_held[0]);
            _held.Remove(0, 1);
        }
    }

    private static bool IsPrefix(StringBuilder held, string of)
    {
        for (var i = 0; i < held.Length; i++)
        {
            if (i >= of.Length || held[i] != of[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Tracks strings and nesting; true on the brace that closes the arguments object.</summary>
    private bool ObjectEnds(char c)
    {
        if (_inString)
        {
            if (_escaped)
            {
                _escaped = false;
            }
            else if (c == '\\')
            {
                _escaped = true;
            }
            else if (c == '"')
            {
                _inString = false;
            }

            return false;
        }

        switch (c)
        {
            case '"':
                _inString = true;
                return false;
            case '{' or '[':
                _depth++;
                return false;
            case '}' or ']':
                return --_depth == 0;
            default:
                return false;
        }
    }
}

/// <summary>A piece of a reply: content text, or a piece of a tool call.</summary>
public readonly record struct ChatPiece(string? Content, ToolCallDelta? ToolCall);
