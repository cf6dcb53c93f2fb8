namespace ChatCluster.Inference.Tools;

/// <summary>Puts a reply's streamed call pieces back together into whole calls.</summary>
public sealed class ToolCallCollector
{
    private readonly List<ToolCall> _calls = [];

    public IReadOnlyList<ToolCall> Calls => _calls;

    public void Add(ToolCallDelta? piece)
    {
        if (piece is not { } call)
        {
            return;
        }

        if (call.Id is not null)
        {
            _calls.Add(new ToolCall(call.Id, call.Name ?? "", ""));
        }

        _calls[call.CallIndex] = _calls[call.CallIndex] with { Arguments = _calls[call.CallIndex].Arguments + call.Arguments };
    }
}
