using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

public interface IStreamingGrain : IGrain
{
    /// <summary>Yields 0..count-1; logs "start", and "end" or "cancelled" when its enumeration unwinds.</summary>
    IAsyncEnumerable<int> CountAsync(int count, CancellationToken cancellationToken = default);

    /// <summary>Yields 0, 1, 2, ... until cancelled; logs like <see cref="CountAsync"/>.</summary>
    IAsyncEnumerable<int> EndlessAsync();

    /// <summary>Yields 0..count-1, then throws <paramref name="exception"/>.</summary>
    IAsyncEnumerable<int> FailAfterAsync(int count, Exception exception);

    Task MarkAsync(string entry);

    Task<IReadOnlyList<string>> GetLogAsync();
}
