namespace ChatCluster.Inference.Tokenization;

/// <summary>
/// A token added on top of the BPE vocabulary (tokenizer.json's <c>added_tokens</c>): control tokens such as
/// <c>&lt;|endoftext|&gt;</c> or <c>&lt;|im_start|&gt;</c>. Ordinary encoding never produces them; only the chat
/// template inserts them, by id. <paramref name="Special"/> tokens can be skipped when decoding.
/// </summary>
public sealed record AddedToken(int Id, string Content, bool Special);
