namespace ChatCluster.Grains;

/// <summary>
/// The store that conversations live in (Redis) did not take or give their state. Nothing was written; the
/// caller should retry later (the API answers 503 with Retry-After).
/// </summary>
public sealed class StorageUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);
