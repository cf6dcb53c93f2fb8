namespace ChatCluster.Inference.Tokenization;

/// <summary>
/// GPT-2's byte-level alphabet: every byte value stands for one printable character, so a vocabulary of
/// strings can hold arbitrary bytes. Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for
/// themselves; the other 68 bytes (controls, space, soft hyphen...) take the characters U+0100 onwards in
/// byte order, which is why a space appears as 'Ġ' (U+0120) in vocab files.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly short[] CharToByte = BuildCharToByte();

    public static char ToChar(byte value) => ByteToChar[value];

    /// <summary>The byte a vocabulary character stands for, or -1 if the character is not in the alphabet.</summary>
    public static int ToByte(char c) => c < CharToByte.Length ? CharToByte[c] : -1;

    /// <summary>Decodes a vocabulary token to its bytes; false if a character is outside the alphabet.</summary>
    public static bool TryDecode(string token, out byte[] bytes)
    {
        bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            int b = ToByte(token[i]);
            if (b < 0)
                return false;
            bytes[i] = (byte)b;
        }
        return true;
    }

    /// <summary>Writes the vocabulary spelling of <paramref name="bytes"/> (one character per byte).</summary>
    public static void Encode(ReadOnlySpan<byte> bytes, Span<char> destination)
    {
        for (int i = 0; i < bytes.Length; i++)
            destination[i] = ByteToChar[bytes[i]];
    }

    private static bool IsPrintable(int b) => b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
            map[b] = IsPrintable(b) ? (char)b : (char)next++;
        return map;
    }

    private static short[] BuildCharToByte()
    {
        var map = new short[256 + 68];
        Array.Fill(map, (short)-1);
        for (int b = 0; b < 256; b++)
            map[ByteToChar[b]] = (short)b;
        return map;
    }
}
