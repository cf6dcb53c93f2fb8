namespace ChatCluster.Inference;

/// <summary>
/// A function call the model made: OpenAI's <c>tool_calls[i]</c> with its id, the function's name and its
/// arguments as JSON text (an object).
/// </summary>
public sealed record ToolCall(string Id, string Name, string Arguments);

/// <summary>
/// One piece of a tool call as it streams: the first piece of a call carries its <see cref="Id"/> and
/// <see cref="Name"/>, the following ones fragments of its arguments (OpenAI's delta.tool_calls shape).
/// </summary>
/// <param name="CallIndex">The call's position among this choice's calls (0, 1, ...).</param>
public readonly record struct ToolCallDelta(int CallIndex, string? Id, string? Name, string Arguments);
