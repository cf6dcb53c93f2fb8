namespace ChatCluster.Inference;

/// <summary>
/// One message of a chat. Roles: system, user, assistant, tool. An assistant message may carry the tool calls
/// the model made (its content then may be empty); a tool message carries one call's result and names the call
/// it answers in <see cref="ToolCallId"/>.
/// </summary>
public sealed record ChatMessage(string Role, string Content)
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";
    public const string Tool = "tool";

    /// <summary>Calls the assistant made in this message (assistant messages only).</summary>
    public IReadOnlyList<ToolCall>? ToolCalls { get; init; }

    /// <summary>The call this message is the result of (tool messages only).</summary>
    public string? ToolCallId { get; init; }

    public static bool IsKnownRole(string role) => role is System or User or Assistant or Tool;
}
