using System.Text.Json;
using ChatCluster.Inference;
using ChatCluster.Inference.Structured;

namespace ChatCluster.Tests.Structured;

/// <summary>The constraint as it crosses silos (System.Text.Json, web defaults), and the one place kinds become grammars.</summary>
public sealed class OutputConstraintTests
{
    [Fact]
    public void A_constraint_round_trips_through_system_text_json_with_its_sampling_parameters()
    {
        var sampling = new SamplingParameters
        {
            Temperature = 0.5f,
            Constraint = new OutputConstraint
            {
                Kind = OutputConstraintKind.ToolCalls,
                Schema = """{"type": "object"}""",
                Tools = [new ToolDefinition("get_weather", "Weather now", """{"type": "object", "properties": {"city": {"type": "string"}}}""")],
                ToolChoice = ToolChoiceMode.Required,
                ParallelToolCalls = false,
            },
        };
        var web = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        var copy = JsonSerializer.Deserialize<SamplingParameters>(JsonSerializer.Serialize(sampling, web), web)!;
        var constraint = copy.Constraint!;
        Assert.Equal(OutputConstraintKind.ToolCalls, constraint.Kind);
        Assert.Equal(sampling.Constraint.Schema, constraint.Schema);
        Assert.Equal(sampling.Constraint.Tools[0], constraint.Tools.Single());
        Assert.Equal(ToolChoiceMode.Required, constraint.ToolChoice);
        Assert.False(constraint.ParallelToolCalls);
        Assert.Null(JsonSerializer.Deserialize<SamplingParameters>("{}", web)!.Constraint);
    }

    [Fact]
    public void Kinds_become_grammars_in_one_place()
    {
        Assert.Same(Grammar.AnyJsonObject, ConstraintGrammar.For(new OutputConstraint { Kind = OutputConstraintKind.JsonObject }).Grammar);
        Assert.Null(ConstraintGrammar.For(new OutputConstraint { Kind = OutputConstraintKind.JsonSchema, Schema = """{"type": "string"}""" }).Trigger);
        Assert.Throws<InvalidSchemaException>(() => ConstraintGrammar.For(new OutputConstraint { Kind = OutputConstraintKind.JsonSchema }));
        var tool = new ToolDefinition("f", null, """{"type": "object"}""");
        Assert.Equal("<tool_call>", ConstraintGrammar.For(new OutputConstraint { Kind = OutputConstraintKind.ToolCalls, Tools = [tool], ToolChoice = ToolChoiceMode.Auto }).Trigger);
        Assert.Null(ConstraintGrammar.For(new OutputConstraint { Kind = OutputConstraintKind.ToolCalls, Tools = [tool], ToolChoice = ToolChoiceMode.Required }).Trigger);
    }
}
