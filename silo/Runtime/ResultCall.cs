using System.Reflection;

namespace ChatCluster.Silo.Runtime;

/// <summary>A call of a method returning <see cref="Task{TResult}"/> or <see cref="ValueTask{TResult}"/>.</summary>
internal sealed class ResultCall<TResult>(MethodInfo method, object?[] arguments) : GrainCall<Task<TResult>>(method, arguments)
{
    public Task<TResult> Result => Outcome.Unwrap();

    protected override Task<TResult>? ToTask(object? returned) => returned switch
    {
        Task<TResult> task => task,
        ValueTask<TResult> valueTask => valueTask.AsTask(),
        _ => null,
    };

    protected override Task<TResult> FromException(Exception exception) => Task.FromException<TResult>(exception);
}
