using ChatCluster.Inference;
using ChatCluster.Inference.Tools;

namespace ChatCluster.Tests.Tools;

/// <summary>A reply's text split into content and OpenAI-shaped call pieces, however the text is cut into deltas.</summary>
public sealed class ToolCallStreamTests
{
    private const string TwoCalls =
        "Checking.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo {x}\", \"when\": [1, {\"a\": \"\\\"}\"}]}}\n</tool_call>\n" +
        "<tool_call>\n{\"name\": \"get-time\", \"arguments\": {}}\n</tool_call>";

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public void Content_then_two_calls_come_out_whole_whatever_the_delta_size(int deltaSize)
    {
        var (content, calls) = Run(TwoCalls, deltaSize);

        Assert.Equal("Checking.", content);
        Assert.Equal(2, calls.Count);
        Assert.Equal(("get_weather", "{\"city\": \"Oslo {x}\", \"when\": [1, {\"a\": \"\\\"}\"}]}"), (calls[0].Name, calls[0].Arguments));
        Assert.Equal(("get-time", "{}"), (calls[1].Name, calls[1].Arguments));
        Assert.NotEqual(calls[0].Id, calls[1].Id);
    }

    [Fact]
    public void Each_call_names_itself_once_then_streams_arguments_under_its_index()
    {
        var ids = 0;
        var stream = new ToolCallStream(() => $"call_{ids++}");
        var pieces = new List<ChatPiece>();
        foreach (var c in TwoCalls)
        {
            stream.Append(c.ToString(), pieces);
        }

        var calls = pieces.Where(p => p.ToolCall is not null).Select(p => p.ToolCall!.Value).ToList();
        var heads = calls.Where(c => c.Id is not null).ToList();
        Assert.Equal([(0, "call_0", "get_weather"), (1, "call_1", "get-time")], heads.Select(h => (h.CallIndex, h.Id!, h.Name!)));
        Assert.All(heads, h => Assert.Equal("", h.Arguments));
        Assert.All(calls.Where(c => c.Id is null), c => Assert.Null(c.Name));

        // Content only before the first call.
        var firstCall = pieces.FindIndex(p => p.ToolCall is not null);
        Assert.All(pieces.Skip(firstCall), p => Assert.Null(p.Content));
    }

    [Theory]
    [InlineData("a < b, and <tool_cal is not a call")]
    [InlineData("ends on a possible start <tool_c")]
    [InlineData("<<tool_call>\n{\"name\" oops")]
    public void Text_that_is_not_a_call_is_content(string text)
    {
        var (content, calls) = Run(text, 2);

        Assert.Empty(calls);
        Assert.Equal(text, content);
    }

    private static (string Content, List<ToolCall> Calls) Run(string text, int deltaSize)
    {
        var stream = new ToolCallStream(() => Guid.NewGuid().ToString("N"));
        var pieces = new List<ChatPiece>();
        for (var i = 0; i < text.Length; i += deltaSize)
        {
            stream.Append(text.Substring(i, Math.Min(deltaSize, text.Length - i)), pieces);
        }

        var content = string.Concat(pieces.Select(p => p.Content)) + stream.Flush();
        var calls = new ToolCallCollector();
        foreach (var piece in pieces)
        {
            calls.Add(piece.ToolCall);
        }

        return (content, [.. calls.Calls]);
    }
}
