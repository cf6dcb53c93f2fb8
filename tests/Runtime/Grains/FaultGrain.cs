using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

/// <summary>Throws what it is given; its first activation fails if the key starts with "flaky".</summary>
public sealed class FaultGrain(ActivationJournal journal) : Grain, IFaultGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        journal.Activated(Id);
        return Id.Key.StartsWith("flaky", StringComparison.Ordinal) && journal.Activations(Id) == 1
            ? throw new InvalidOperationException($"first activation of {Id} fails")
            : Task.CompletedTask;
    }

    public async Task ThrowAsync(Exception exception)
    {
        await Task.Yield();
        throw exception;
    }

    public Task<int> ThrowBeforeReturningAsync(Exception exception) => throw exception;

    public async ValueTask ThrowValueTaskAsync(Exception exception)
    {
        await Task.Yield();
        throw exception;
    }

    public Task<string> EchoAsync(string text) => Task.FromResult(text);
}
