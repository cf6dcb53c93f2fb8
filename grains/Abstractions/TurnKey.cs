namespace ChatCluster.Grains;

/// <summary>
/// A turn's idempotency key (the <c>Idempotency-Key</c> header) and a digest of the request that carried it: the
/// same key again replays the committed turn; the same key with another request is refused.
/// </summary>
[GenerateSerializer, Immutable, Alias("chatcluster.turn-key")]
public sealed record TurnKey([property: Id(0)] string Key, [property: Id(1)] string RequestDigest);

/// <summary>An idempotency key already used with a different request (HTTP 409); nothing ran.</summary>
public sealed class IdempotencyConflictException(string message) : Exception(message);
