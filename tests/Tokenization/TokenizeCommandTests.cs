using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ChatCluster.Silo.Commands;

namespace ChatCluster.Tests.Tokenization;

public sealed class TokenizeCommandTests
{
    [Fact]
    public void Encodes_one_json_string_per_line_to_one_array_of_ids_per_line()
    {
        string[] lines = RunOverAllCases(decode: false, c => JsonSerializer.Serialize(c.Text));
        for (int i = 0; i < lines.Length; i++)
            Assert.Equal(Gpt2ExpectedCases.All[i].Ids, JsonSerializer.Deserialize<int[]>(lines[i]));
    }

    [Fact]
    public void Decodes_one_array_of_ids_per_line_to_one_json_string_per_line()
    {
        string[] lines = RunOverAllCases(decode: true, c => JsonSerializer.Serialize(c.Ids));
        for (int i = 0; i < lines.Length; i++)
            Assert.Equal(Gpt2ExpectedCases.All[i].Text, JsonSerializer.Deserialize<string>(lines[i]));
    }

    [Fact]
    public void Decoded_strings_escape_what_json_requires_and_keep_the_rest_readable()
    {
        const string text = "nul\u0000 bell\u0007 quote\" backslash\\ tab\t line\u2028sep é 😀";
        (int exitCode, string output, _) = RunInProcess(decode: true, JsonSerializer.Serialize(Gpt2TokenizerJson.Tokenizer.Encode(text)) + "\n");
        Assert.Equal(TokenizeCommand.Success, exitCode);
        Assert.Equal(text, JsonSerializer.Deserialize<string>(output));
        Assert.Contains("é 😀", output);
        Assert.Contains("\\u0000", output);
    }

    [Fact]
    public void Special_token_text_stays_plain_text()
    {
        (int exitCode, string output, _) = RunInProcess(decode: false, "\"<|endoftext|>\"\n");
        Assert.Equal(TokenizeCommand.Success, exitCode);
        int[] ids = JsonSerializer.Deserialize<int[]>(output)!;
        Assert.DoesNotContain(Gpt2TokenizerJson.EndOfTextId, ids);
        Assert.Equal(Gpt2TokenizerJson.Tokenizer.Encode("<|endoftext|>"), ids);
    }

    [Theory]
    [InlineData(false, "not json", "line 2: expected a JSON string")]
    [InlineData(false, "[1, 2]", "line 2: expected a JSON string, got an array")]
    [InlineData(false, "", "line 2: expected a JSON string")]
    [InlineData(true, "\"text\"", "line 2: expected a JSON array of token ids, got a string")]
    [InlineData(true, "[1, \"two\"]", "line 2: expected integer token ids, got \"two\"")]
    [InlineData(true, "[1.5]", "line 2: expected integer token ids, got 1.5")]
    [InlineData(true, "[50257]", "line 2: token id 50257 is not in the vocabulary (ids 0..50256)")]
    [InlineData(true, "[-1]", "line 2: token id -1 is not in the vocabulary")]
    public void A_bad_line_stops_with_a_message_naming_it(bool decode, string badLine, string expectedMessage)
    {
        string goodLine = decode ? "[15496]" : "\"Hello\"";
        (int exitCode, string output, string error) = RunInProcess(decode, $"{goodLine}\n{badLine}\n{goodLine}\n");
        Assert.Equal(TokenizeCommand.Failure, exitCode);
        Assert.Contains(expectedMessage, error);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void The_built_silo_executable_tokenizes_stdin()
    {
        string tokenizerPath = Path.Combine(Path.GetTempPath(), $"gpt2-tokenizer-{Guid.NewGuid():N}.json");
        File.WriteAllBytes(tokenizerPath, Gpt2TokenizerJson.Build());
        try
        {
            (int exitCode, string output, string error) = RunSilo($"tokenize --tokenizer {tokenizerPath}", "\"Hello, world! 😀\"\n\"<|endoftext|>\"\n");
            Assert.True(exitCode == 0, error);
            string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(Gpt2TokenizerJson.Tokenizer.Encode("Hello, world! 😀"), JsonSerializer.Deserialize<int[]>(lines[0]));
            Assert.Equal(Gpt2TokenizerJson.Tokenizer.Encode("<|endoftext|>"), JsonSerializer.Deserialize<int[]>(lines[1]));

            (exitCode, output, error) = RunSilo($"tokenize --tokenizer {tokenizerPath} --decode", lines[0] + "\n");
            Assert.True(exitCode == 0, error);
            Assert.Equal("Hello, world! 😀", JsonSerializer.Deserialize<string>(output));
            Assert.Contains("😀", output);

            (exitCode, _, error) = RunSilo($"tokenize --tokenizer {tokenizerPath} --decode", "[1, 2\n");
            Assert.Equal(1, exitCode);
            Assert.StartsWith("tokenize: line 1: expected a JSON array of token ids", error);
            Assert.DoesNotContain("   at ", error);

            (exitCode, _, error) = RunSilo("tokenize --tokenizer /nonexistent/tokenizer.json", "");
            Assert.NotEqual(0, exitCode);
            Assert.Contains("/nonexistent/tokenizer.json", error);
            Assert.DoesNotContain("   at ", error);
        }
        finally
        {
            File.Delete(tokenizerPath);
        }
    }

    /// <summary>Feeds one line per reference case; checks the run succeeded with one output line per case.</summary>
    private static string[] RunOverAllCases(bool decode, Func<(string Text, int[] Ids), string> inputLine)
    {
        (int exitCode, string output, string error) = RunInProcess(decode, string.Join("\n", Gpt2ExpectedCases.All.Select(inputLine)) + "\n");
        Assert.Equal("", error);
        Assert.Equal(TokenizeCommand.Success, exitCode);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Gpt2ExpectedCases.All.Count, lines.Length);
        return lines;
    }

    private static (int ExitCode, string Output, string Error) RunInProcess(bool decode, string input)
    {
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter();
        int exitCode = TokenizeCommand.Run(Gpt2TokenizerJson.Tokenizer, decode, new StringReader(input), output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    private static (int ExitCode, string Output, string Error) RunSilo(string arguments, string input)
    {
        // The silo's build output is copied next to the tests (project reference), runtimeconfig included.
        var start = new ProcessStartInfo("dotnet", $"\"{Path.Combine(AppContext.BaseDirectory, "ChatCluster.Silo.dll")}\" {arguments}")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        using Process process = Process.Start(start)!;
        process.StandardInput.Write(input);
        process.StandardInput.Close();
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill();
            throw new TimeoutException($"silo {arguments} did not exit");
        }
        return (process.ExitCode, output.Result, error.Result);
    }
}
