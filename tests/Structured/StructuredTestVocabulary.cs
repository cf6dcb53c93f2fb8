using System.Text;
using ChatCluster.Inference.Structured;
using ChatCluster.Inference.Tokenization;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Structured;

/// <summary>The bundled model's tokenizer as a constraint vocabulary (end token: &lt;|im_end|&gt;), and matching helpers.</summary>
internal static class StructuredTestVocabulary
{
    public static BpeTokenizer Tokenizer { get; } = BpeTokenizer.Load(Path.Combine(TestPaths.BundledModel, "tokenizer.json"));

    public static int EndToken { get; } = Tokenizer.TokenToId("<|im_end|>")!.Value;

    public static TokenVocabulary Vocabulary { get; } = TokenVocabulary.From(Tokenizer, [EndToken]);

    /// <summary>Whether the grammar matches exactly <paramref name="text"/> (all of it, and may end after it).</summary>
    public static bool Matches(Grammar grammar, string text)
    {
        var matcher = CompiledGrammar.Compile(grammar, Vocabulary).CreateMatcher();
        return matcher.TryAcceptBytes(Encoding.UTF8.GetBytes(text)) && matcher.CanEnd;
    }

    public static bool MatchesSchema(string schema, string text) => Matches(Grammar.FromJsonSchema(schema), text);
}
