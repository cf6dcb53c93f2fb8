using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ChatCluster.Inference.Tokenization;

/// <summary>Reading a Hugging Face tokenizer.json (the "BPE" model with a byte-level pre-tokenizer).</summary>
public sealed partial class BpeTokenizer
{
    /// <exception cref="InvalidDataException">The file is not a byte-level BPE tokenizer.json we can run.</exception>
    public static BpeTokenizer Load(string tokenizerJsonPath)
    {
        using FileStream stream = File.OpenRead(tokenizerJsonPath);
        try
        {
            return Load(stream);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{tokenizerJsonPath}: {e.Message}", e);
        }
    }

    /// <exception cref="InvalidDataException">The JSON is not a byte-level BPE tokenizer we can run.</exception>
    public static BpeTokenizer Load(Stream tokenizerJson)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(tokenizerJson, new JsonDocumentOptions { MaxDepth = 256 });
            return new BpeTokenizer(document.RootElement);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"tokenizer.json is not valid JSON: {e.Message}", e);
        }
    }

    private BpeTokenizer(JsonElement root)
    {
        JsonElement model = Property(root, "model", "the tokenizer");
        string modelType = model.TryGetProperty("type", out JsonElement type) ? type.GetString() ?? "BPE" : "BPE";
        if (modelType != "BPE")
            throw new InvalidDataException($"model.type is \"{modelType}\"; only byte-level \"BPE\" is supported.");
        if (model.TryGetProperty("byte_fallback", out JsonElement byteFallback) && byteFallback.ValueKind == JsonValueKind.True)
            throw new InvalidDataException("model.byte_fallback is set (a SentencePiece-style BPE); only byte-level BPE is supported.");
        RequireNullOrEmpty(model, "continuing_subword_prefix");
        RequireNullOrEmpty(model, "end_of_word_suffix");
        if (root.TryGetProperty("normalizer", out JsonElement normalizer) && normalizer.ValueKind != JsonValueKind.Null)
            // Qwen 2 asks for NFC, but with InvariantGlobalization (Directory.Build.props) string.Normalize leaves
            // non-ASCII text unchanged, so running it would silently give other ids than the reference.
            throw new InvalidDataException($"normalizer {normalizer.GetRawText()} is not supported (only none; NFC needs ICU, which invariant globalization turns off).");
        _ignoreMerges = model.TryGetProperty("ignore_merges", out JsonElement ignoreMerges) && ignoreMerges.ValueKind == JsonValueKind.True;

        _vocab = ReadVocabulary(Property(model, "vocab", "model"));
        _vocabBySpan = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _pieceCacheBySpan = _pieceCache.GetAlternateLookup<ReadOnlySpan<char>>();
        _merges = ReadMerges(Property(model, "merges", "model"), _vocab);
        (_splitPattern, _addPrefixSpace) = ReadPreTokenizer(root);

        _addedTokens = ReadAddedTokens(root);
        _addedTokenIds = new Dictionary<string, int>(_addedTokens.Length, StringComparer.Ordinal);
        int maxId = -1;
        foreach (int id in _vocab.Values)
            maxId = Math.Max(maxId, id);
        foreach (AddedToken token in _addedTokens)
        {
            maxId = Math.Max(maxId, token.Id);
            _addedTokenIds[token.Content] = token.Id;
        }

        _idToBytes = new byte[maxId + 1][];
        _isSpecial = new bool[maxId + 1];
        _wholeText = new string?[maxId + 1];
        foreach ((string token, int id) in _vocab)
        {
            // A vocabulary entry outside the byte alphabet can only be a control token listed in the vocab
            // (GPT-2's "<|endoftext|>" is, and is spelled in-alphabet anyway); it stands for its own text.
            _idToBytes[id] = ByteLevelAlphabet.TryDecode(token, out byte[] bytes) ? bytes : Encoding.UTF8.GetBytes(token);
        }
        foreach (AddedToken token in _addedTokens)
        {
            _idToBytes[token.Id] = Encoding.UTF8.GetBytes(token.Content);
            _isSpecial[token.Id] = token.Special;
        }

        _byteToId = new int[256];
        Span<char> single = stackalloc char[1];
        for (int b = 0; b < 256; b++)
        {
            single[0] = ByteLevelAlphabet.ToChar((byte)b);
            if (!_vocabBySpan.TryGetValue(single, out _byteToId[b]))
                throw new InvalidDataException($"the vocabulary lacks the byte-level token for byte 0x{b:X2} (\"{single[0]}\"); not a byte-level BPE vocabulary.");
        }
    }

    private static Dictionary<string, int> ReadVocabulary(JsonElement vocab)
    {
        if (vocab.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException("model.vocab must be an object of token -> id.");
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonProperty entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw new InvalidDataException($"model.vocab[\"{entry.Name}\"] must be a non-negative integer id.");
            result[entry.Name] = id;
        }
        return result;
    }

    /// <summary>Merges as "left right" strings (older files) or [left, right] arrays (newer files); rank = position.</summary>
    private static Dictionary<long, Merge> ReadMerges(JsonElement merges, Dictionary<string, int> vocab)
    {
        if (merges.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException("model.merges must be an array.");
        var result = new Dictionary<long, Merge>(merges.GetArrayLength());
        int rank = 0;
        foreach (JsonElement merge in merges.EnumerateArray())
        {
            (string left, string right) = merge.ValueKind switch
            {
                JsonValueKind.String => SplitMergeString(merge.GetString()!, rank),
                JsonValueKind.Array when merge.GetArrayLength() == 2
                    && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String
                    => (merge[0].GetString()!, merge[1].GetString()!),
                _ => throw new InvalidDataException($"model.merges[{rank}] must be \"left right\" or [\"left\", \"right\"]."),
            };
            int leftId = VocabId(vocab, left, rank), rightId = VocabId(vocab, right, rank);
            int mergedId = VocabId(vocab, left + right, rank);
            // The first occurrence of a pair wins, as in the reference implementation.
            result.TryAdd(PairKey(leftId, rightId), new Merge(rank, mergedId));
            rank++;
        }
        return result;
    }

    private static (string, string) SplitMergeString(string merge, int rank)
    {
        int space = merge.IndexOf(' ');
        if (space <= 0 || space == merge.Length - 1 || merge.IndexOf(' ', space + 1) >= 0)
            throw new InvalidDataException($"model.merges[{rank}] \"{merge}\" is not two tokens separated by one space.");
        return (merge[..space], merge[(space + 1)..]);
    }

    private static int VocabId(Dictionary<string, int> vocab, string token, int rank) =>
        vocab.TryGetValue(token, out int id)
            ? id
            : throw new InvalidDataException($"model.merges[{rank}] uses \"{token}\", which is not in model.vocab.");

    /// <summary>
    /// ByteLevel (GPT-2: its built-in pattern), or Sequence [Split(pattern, Isolated), ByteLevel(use_regex false)]
    /// (Llama 3, Qwen 2: their own pattern). GPT-2's pattern always runs on the code-point scanner.
    /// </summary>
    private static (Regex? SplitPattern, bool AddPrefixSpace) ReadPreTokenizer(JsonElement root)
    {
        JsonElement preTokenizer = Property(root, "pre_tokenizer", "the tokenizer");
        string? type = preTokenizer.ValueKind == JsonValueKind.Object && preTokenizer.TryGetProperty("type", out JsonElement t) ? t.GetString() : null;
        if (type == "ByteLevel")
        {
            if (preTokenizer.TryGetProperty("use_regex", out JsonElement useRegex) && useRegex.ValueKind == JsonValueKind.False)
                throw new InvalidDataException("pre_tokenizer ByteLevel without use_regex and without a Split is not supported.");
            return (null, AddsPrefixSpace(preTokenizer));
        }
        if (type == "Sequence" && preTokenizer.TryGetProperty("pretokenizers", out JsonElement steps)
            && steps.ValueKind == JsonValueKind.Array && steps.GetArrayLength() == 2
            && steps[0].TryGetProperty("type", out JsonElement first) && first.GetString() == "Split"
            && steps[1].TryGetProperty("type", out JsonElement second) && second.GetString() == "ByteLevel")
        {
            JsonElement split = steps[0];
            if (!split.TryGetProperty("pattern", out JsonElement pattern) || !pattern.TryGetProperty("Regex", out JsonElement regex)
                || regex.ValueKind != JsonValueKind.String)
                throw new InvalidDataException("pre_tokenizer Split must have a pattern {\"Regex\": ...}.");
            if (split.TryGetProperty("behavior", out JsonElement behavior) && behavior.GetString() != "Isolated")
                throw new InvalidDataException($"pre_tokenizer Split behavior \"{behavior.GetString()}\" is not supported (only \"Isolated\").");
            if (split.TryGetProperty("invert", out JsonElement invert) && invert.ValueKind == JsonValueKind.True)
                throw new InvalidDataException("pre_tokenizer Split with invert is not supported.");
            if (steps[1].TryGetProperty("use_regex", out JsonElement useRegex) && useRegex.ValueKind == JsonValueKind.True)
                throw new InvalidDataException("pre_tokenizer Sequence [Split, ByteLevel(use_regex: true)] is not supported.");
            string source = regex.GetString()!;
            Regex? compiled = source == Gpt2PreTokenizer.Pattern ? null : CompileSplitPattern(source);
            return (compiled, AddsPrefixSpace(steps[1]));
        }
        throw new InvalidDataException($"pre_tokenizer {preTokenizer.GetRawText()} is not supported; expected ByteLevel or Sequence [Split, ByteLevel].");
    }

    private static Regex CompileSplitPattern(string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"pre_tokenizer Split pattern cannot be compiled by .NET: {e.Message}", e);
        }
    }

    private static bool AddsPrefixSpace(JsonElement byteLevel) =>
        byteLevel.TryGetProperty("add_prefix_space", out JsonElement add) && add.ValueKind == JsonValueKind.True;

    private static AddedToken[] ReadAddedTokens(JsonElement root)
    {
        if (!root.TryGetProperty("added_tokens", out JsonElement added) || added.ValueKind == JsonValueKind.Null)
            return [];
        if (added.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException("added_tokens must be an array.");
        var result = new AddedToken[added.GetArrayLength()];
        int index = 0;
        foreach (JsonElement token in added.EnumerateArray())
        {
            if (!token.TryGetProperty("id", out JsonElement id) || !id.TryGetInt32(out int value) || value < 0
                || !token.TryGetProperty("content", out JsonElement content) || content.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"added_tokens[{index}] needs a non-negative \"id\" and a string \"content\".");
            bool special = token.TryGetProperty("special", out JsonElement s) && s.ValueKind == JsonValueKind.True;
            result[index++] = new AddedToken(value, content.GetString()!, special);
        }
        return result;
    }

    private static JsonElement Property(JsonElement element, string name, string owner) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out JsonElement value)
            ? value
            : throw new InvalidDataException($"{owner} has no \"{name}\".");

    private static void RequireNullOrEmpty(JsonElement model, string name)
    {
        if (model.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null
            && !(value.ValueKind == JsonValueKind.String && value.GetString()!.Length == 0))
            throw new InvalidDataException($"model.{name} is set; byte-level BPE uses none.");
    }
}
