using System.Text;

namespace ChatCluster.Inference.Tokenization;

/// <summary>
/// Splits text into the pieces that GPT-2's pattern
/// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c> matches, one piece at a
/// time, without a regex engine. Why not .NET's Regex: it classifies UTF-16 code units, so a letter or digit
/// outside the Basic Multilingual Plane (𝐀, 𠀀, 𝟙) is two surrogates, neither \p{L} nor \p{N}, and "abc𝐀def"
/// would split where GPT-2's reference (which matches code points) does not. This scanner classifies code
/// points.
/// Whitespace is Unicode White_Space (char.IsWhiteSpace), as in the Python and Rust references.
/// </summary>
internal static class Gpt2PreTokenizer
{
    /// <summary>The pattern this scanner implements, as tokenizer.json files spell it in a Split pre-tokenizer.</summary>
    public const string Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private enum CharClass : byte { Letter, Number, WhiteSpace, Other }

    /// <summary>Length in chars of the piece that starts <paramref name="text"/> (which is not empty).</summary>
    public static int NextPieceLength(ReadOnlySpan<char> text)
    {
        char first = text[0];

        // 's 't 're 've 'm 'll 'd: lowercase only, as in the pattern ("IT'S" splits as "IT", "'", "S").
        if (first == '\'' && text.Length >= 2)
        {
            char second = text[1];
            if (second is 's' or 't' or 'm' or 'd')
                return 2;
            if (text.Length >= 3 && ((second is 'r' or 'v' && text[2] == 'e') || (second == 'l' && text[2] == 'l')))
                return 3;
        }

        CharClass firstClass = Classify(text, 0, out int firstWidth);
        if (firstClass != CharClass.WhiteSpace)
            return RunEnd(text, firstWidth, firstClass);

        // " ?X+": a single ASCII space joins the letter, number or symbol run that follows it.
        if (first == ' ' && text.Length > 1)
        {
            CharClass next = Classify(text, 1, out int nextWidth);
            if (next != CharClass.WhiteSpace)
                return RunEnd(text, 1 + nextWidth, next);
        }

        // "\s+(?!\S)|\s+": a whitespace run, less its last character when a non-space follows, so that
        // character can start the next piece (" word"); a lone whitespace character before a non-space is its
        // own piece. Whitespace characters are all in the BMP, so one char is one code point here.
        int end = RunEnd(text, firstWidth, CharClass.WhiteSpace);
        if (end == text.Length || end == 1)
            return end;
        return end - 1;
    }

    private static int RunEnd(ReadOnlySpan<char> text, int position, CharClass runClass)
    {
        while (position < text.Length && Classify(text, position, out int width) == runClass)
            position += width;
        return position;
    }

    private static CharClass Classify(ReadOnlySpan<char> text, int position, out int width)
    {
        char c = text[position];
        if (c < 0x80)
        {
            width = 1;
            if ((uint)((c | 0x20) - 'a') <= 'z' - 'a')
                return CharClass.Letter;
            if ((uint)(c - '0') <= 9)
                return CharClass.Number;
            return c == ' ' || (uint)(c - '\t') <= '\r' - '\t' ? CharClass.WhiteSpace : CharClass.Other;
        }

        // A lone surrogate decodes as U+FFFD (a symbol), as it does when the piece is encoded to UTF-8.
        Rune.DecodeFromUtf16(text[position..], out Rune rune, out width);
        if (Rune.IsLetter(rune))
            return CharClass.Letter;
        if (Rune.IsNumber(rune))
            return CharClass.Number;
        return Rune.IsWhiteSpace(rune) ? CharClass.WhiteSpace : CharClass.Other;
    }
}
