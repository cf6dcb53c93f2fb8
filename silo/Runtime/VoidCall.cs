using System.Reflection;

namespace ChatCluster.Silo.Runtime;

/// <summary>A call of a method returning <see cref="Task"/> or <see cref="ValueTask"/>.</summary>
internal sealed class VoidCall(MethodInfo method, object?[] arguments) : GrainCall<Task>(method, arguments)
{
    public Task Result => Outcome.Unwrap();

    protected override Task? ToTask(object? returned) => returned switch
    {
        Task task => task,
        ValueTask valueTask => valueTask.AsTask(),
        _ => null,
    };

    protected override Task FromException(Exception exception) => Task.FromException(exception);
}
