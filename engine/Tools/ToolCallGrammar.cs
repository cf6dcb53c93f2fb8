using ChatCluster.Inference.Structured;

namespace ChatCluster.Inference.Tools;

/// <summary>
/// The grammar of a reply that calls tools in <see cref="HermesToolFormat"/>: each call names one of the
/// request's tools exactly, and its arguments keep to that tool's parameter schema. <c>required</c> (or a named
/// function) makes the reply calls only, from its first token; <c>auto</c> lets text flow until the model writes
/// the trigger, then holds it to the calls. <c>parallel_tool_calls: false</c> allows one call.
/// </summary>
public static class ToolCallGrammar
{
    /// <returns>The grammar, and the trigger it starts after (null: from the reply's first token).</returns>
    public static (Grammar Grammar, string? Trigger) For(OutputConstraint constraint)
    {
        var auto = constraint.ToolChoice == ToolChoiceMode.Auto;

        // Under a trigger the grammar starts right after it, so the first call's opening is the rest of CallStart.
        var first = Grammar.Choice([.. constraint.Tools.Select(tool => Call(tool, auto ? HermesToolFormat.CallStart[HermesToolFormat.Trigger.Length..] : HermesToolFormat.CallStart))]);
        var grammar = constraint.ParallelToolCalls
            ? Grammar.Sequence(first, Grammar.Repeat(Grammar.Sequence(Grammar.Literal(HermesToolFormat.CallSeparator), AnyCall(constraint.Tools)), 0, null))
            : first;
        return (grammar, auto ? HermesToolFormat.Trigger : null);
    }

    private static Grammar AnyCall(IReadOnlyList<ToolDefinition> tools) =>
        Grammar.Choice([.. tools.Select(tool => Call(tool, HermesToolFormat.CallStart))]);

    private static Grammar Call(ToolDefinition tool, string opening) => Grammar.Sequence(
        Grammar.Literal(opening + tool.Name + HermesToolFormat.ArgumentsStart),
        Grammar.FromJsonSchema(tool.ParametersSchema),
        Grammar.Literal(HermesToolFormat.CallEnd));
}
