namespace ChatCluster.Conversations;

/// <summary>
/// How large one conversation may grow, so that no caller can make a record in Redis (and the memory of the
/// silo holding it) grow without bound. A turn that would pass a limit is refused with 400; the caller starts
/// a new conversation. Registered by the silo from its flags.
/// </summary>
public sealed record ConversationLimits
{
    /// <summary>Stored user and assistant messages (the system prompt not counted).</summary>
    public int MaxMessages { get; init; } = 1000;

    /// <summary>UTF-8 bytes of the stored text: system prompt and every message.</summary>
    public long MaxBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Idempotency keys kept per conversation (its most recent keyed turns); an older key runs its turn again.</summary>
    public int IdempotencyKeys { get; init; } = 100;
}
