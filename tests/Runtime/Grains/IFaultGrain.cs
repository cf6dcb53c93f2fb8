using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

public interface IFaultGrain : IGrain
{
    /// <summary>Throws from inside the async method.</summary>
    Task ThrowAsync(Exception exception);

    /// <summary>Throws before returning a task (a method that is not async).</summary>
    Task<int> ThrowBeforeReturningAsync(Exception exception);

    ValueTask ThrowValueTaskAsync(Exception exception);

    Task<string> EchoAsync(string text);
}
