using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using ChatCluster.Gateway.Http;
using ChatCluster.Inference.Tokenization;

namespace ChatCluster.Silo.Commands;

/// <summary>
/// <c>tokenize --tokenizer FILE [--decode]</c>: a line filter over a model's tokenizer.json.
/// Encoding reads one JSON string per line and writes one JSON array of ids per line; --decode reads one JSON
/// array of ids per line and writes one JSON string per line. Text is always ordinary text: "&lt;|endoftext|&gt;"
/// typed in a string encodes as its characters, not as the control token. The first bad line stops the run
/// with a message naming the line on stderr and exit code 1, so every line written answers the line read.
/// </summary>
internal static class TokenizeCommand
{
    public const int Success = 0;
    public const int Failure = 1;

    public static Command Create()
    {
        var tokenizerOption = new Option<FileInfo>("--tokenizer")
        {
            Description = "A Hugging Face tokenizer.json (byte-level BPE).",
            HelpName = "FILE",
            Required = true,
        }.AcceptExistingOnly();
        var decodeOption = new Option<bool>("--decode")
        {
            Description = "Read JSON arrays of token ids and write the decoded JSON strings.",
        };
        var command = new Command("tokenize", "Encode JSON strings from stdin to token ids, one per line (or decode ids with --decode).");
        command.Options.Add(tokenizerOption);
        command.Options.Add(decodeOption);
        command.SetAction(parseResult =>
        {
            FileInfo file = parseResult.GetValue(tokenizerOption)!;
            BpeTokenizer tokenizer;
            try
            {
                tokenizer = BpeTokenizer.Load(file.FullName);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"tokenize: cannot load the tokenizer: {e.Message}");
                return Failure;
            }
            using var input = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
            using var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
            int exitCode = Run(tokenizer, parseResult.GetValue(decodeOption), input, output, Console.Error);
            output.Flush();
            return exitCode;
        });
        return command;
    }

    /// <summary>Runs the filter over <paramref name="input"/>; returns the process exit code.</summary>
    public static int Run(BpeTokenizer tokenizer, bool decode, TextReader input, TextWriter output, TextWriter error)
    {
        var ids = new List<int>();
        var answer = new StringBuilder();
        int lineNumber = 0;
        while (input.ReadLine() is { } line)
        {
            lineNumber++;
            answer.Clear();
            string? problem = decode ? DecodeLine(tokenizer, line, ids, answer) : EncodeLine(tokenizer, line, ids, answer);
            if (problem is not null)
            {
                error.WriteLine($"tokenize: line {lineNumber}: {problem}");
                return Failure;
            }
            output.WriteLine(answer);
        }
        return Success;
    }

    private static string? EncodeLine(BpeTokenizer tokenizer, string line, List<int> ids, StringBuilder answer)
    {
        string text;
        try
        {
            using JsonDocument document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind != JsonValueKind.String)
                return $"expected a JSON string, got {JsonFields.Kind(document.RootElement.ValueKind)}";
            text = document.RootElement.GetString()!;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return $"expected a JSON string: {e.Message}";
        }

        ids.Clear();
        tokenizer.Encode(text, ids);
        answer.Append('[').AppendJoin(',', ids).Append(']');
        return null;
    }

    private static string? DecodeLine(BpeTokenizer tokenizer, string line, List<int> ids, StringBuilder answer)
    {
        ids.Clear();
        try
        {
            using JsonDocument document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
                return $"expected a JSON array of token ids, got {JsonFields.Kind(document.RootElement.ValueKind)}";
            foreach (JsonElement element in document.RootElement.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out int id))
                    return $"expected integer token ids, got {element.GetRawText()}";
                if (!tokenizer.ContainsId(id))
                    return $"token id {id} is not in the vocabulary (ids 0..{tokenizer.VocabSize - 1})";
                ids.Add(id);
            }
        }
        catch (JsonException e)
        {
            return $"expected a JSON array of token ids: {e.Message}";
        }

        AppendJsonString(answer, tokenizer.Decode(CollectionsMarshal.AsSpan(ids)));
        return null;
    }

    /// <summary>
    /// A JSON string that keeps non-ASCII text readable: only quotes, backslashes and control characters are
    /// escaped (System.Text.Json's encoders escape every emoji). Decoded text holds no lone surrogates: broken
    /// UTF-8 decodes to U+FFFD.
    /// </summary>
    private static void AppendJsonString(StringBuilder answer, string text)
    {
        answer.Append('"');
        foreach (char c in text)
        {
            switch (c)
            {
                case '"': answer.Append("\\\""); break;
                case '\\': answer.Append("\\\\"); break;
                case '\n': answer.Append("\\n"); break;
                case '\r': answer.Append("\\r"); break;
                case '\t': answer.Append("\\t"); break;
                case < ' ' or '\u2028' or '\u2029': answer.Append("\\u").Append(((int)c).ToString("x4")); break;
                default: answer.Append(c); break;
            }
        }
        answer.Append('"');
    }
}
