namespace ChatCluster.Silo.Runtime;

/// <summary>
/// What a streamed grain call returns to its caller. Like a local async iterator it does nothing until
/// enumerated, and each enumeration is a call of its own.
/// </summary>
internal sealed class GrainStream<T>(GrainReference target, GrainMethod method, object?[] arguments) : IAsyncEnumerable<T>
{
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        new StreamCall<T>(target, method, (object?[])arguments.Clone(), cancellationToken);
}
