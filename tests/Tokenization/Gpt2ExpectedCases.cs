using System.Text.Json;

namespace ChatCluster.Tests.Tokenization;

/// <summary>The strings and reference ids of data/tokenizer/gpt2-expected.json (written by generate-expected.mjs).</summary>
internal static class Gpt2ExpectedCases
{
    private static readonly Lazy<IReadOnlyList<(string Text, int[] Ids)>> Cases = new(Read);

    public static IReadOnlyList<(string Text, int[] Ids)> All => Cases.Value;

    /// <summary>Case indexes, for xunit theories (indexes keep test names short and stable).</summary>
    public static TheoryData<int> Indexes()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < All.Count; i++)
            data.Add(i);
        return data;
    }

    private static IReadOnlyList<(string, int[])> Read()
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", "tokenizer", "gpt2-expected.json")));
        var cases = new List<(string, int[])>();
        foreach (JsonElement item in document.RootElement.GetProperty("cases").EnumerateArray())
        {
            var ids = new List<int>();
            foreach (JsonElement id in item.GetProperty("ids").EnumerateArray())
                ids.Add(id.GetInt32());
            cases.Add((item.GetProperty("text").GetString()!, ids.ToArray()));
        }
        return cases;
    }
}
