using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace ChatCluster.Tests.Tokenization;

/// <summary>
/// Thousands of random strings from the reference encoder itself (data/tokenizer/random-cases.mjs, run with
/// node from the folder where the build restored js-tiktoken), beyond the hand-picked cases.
/// </summary>
public sealed class RandomReferenceCasesTests
{
    [Theory]
    [InlineData(1, 2000)]
    [InlineData(2, 2000)]
    public void Encode_and_decode_match_the_reference_on_random_strings(int seed, int count)
    {
        var mismatches = new List<string>();
        int checkedCases = 0;
        foreach (string line in RunReference(seed, count))
        {
            using JsonDocument item = JsonDocument.Parse(line);
            string text = item.RootElement.GetProperty("text").GetString()!;
            int[] expected = item.RootElement.GetProperty("ids").Deserialize<int[]>()!;
            List<int> actual = Gpt2TokenizerJson.Tokenizer.Encode(text);
            if (!actual.SequenceEqual(expected) || Gpt2TokenizerJson.Tokenizer.Decode(expected) != text)
                mismatches.Add($"{JsonSerializer.Serialize(text)}: expected [{string.Join(',', expected)}], got [{string.Join(',', actual)}]");
            checkedCases++;
        }
        Assert.Equal(count, checkedCases);
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {count} differ, e.g.\n{string.Join('\n', mismatches.Take(5))}");
    }

    private static string[] RunReference(int seed, int count)
    {
        string directory = typeof(RandomReferenceCasesTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "TokenizerTestDataDirectory").Value!;
        var start = new ProcessStartInfo("node", ["random-cases.mjs", seed.ToString(), count.ToString()])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"node random-cases.mjs failed: {error.Result}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
