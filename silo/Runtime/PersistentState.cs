using System.Text.Json;
using ChatCluster.Grains;
using ChatCluster.Silo.Storage;

namespace ChatCluster.Silo.Runtime;

/// <summary>
/// A grain's <see cref="IPersistentState{TState}"/>: the state object, stored through <see cref="IGrainStorage"/>
/// under the grain's id as UTF-8 JSON. It remembers the JSON last read or written, so that deactivation writes
/// back only a state that changed since.
/// </summary>
internal sealed class PersistentState<TState>(IGrainStorage storage, GrainId grainId) : IPersistentState<TState>, IGrainStateBinding
    where TState : class, new()
{
    // Web defaults: camelCase names, as the rest of the system's JSON.
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    private byte[] _storedJson = [];

    public TState State { get; set; } = new();

    public bool RecordExists { get; private set; }

    public async Task ReadStateAsync(CancellationToken cancellationToken = default)
    {
        var stored = await storage.ReadAsync(grainId, cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            Reset();
            return;
        }

        State = JsonSerializer.Deserialize<TState>(stored, s_json)
            ?? throw new InvalidDataException($"The stored state of {grainId} is JSON null.");
        _storedJson = stored;
        RecordExists = true;
    }

    public async Task WriteStateAsync(CancellationToken cancellationToken = default)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(State, s_json);
        await storage.WriteAsync(grainId, json, cancellationToken).ConfigureAwait(false);
        _storedJson = json;
        RecordExists = true;
    }

    public async Task ClearStateAsync(CancellationToken cancellationToken = default)
    {
        await storage.ClearAsync(grainId, cancellationToken).ConfigureAwait(false);
        Reset();
    }

    public Task WriteBackAsync(CancellationToken cancellationToken) =>
        JsonSerializer.SerializeToUtf8Bytes(State, s_json).AsSpan().SequenceEqual(_storedJson)
            ? Task.CompletedTask
            : WriteStateAsync(cancellationToken);

    /// <summary>No record: a fresh state, whose JSON counts as unchanged (an untouched grain writes nothing back).</summary>
    private void Reset()
    {
        State = new TState();
        _storedJson = JsonSerializer.SerializeToUtf8Bytes(State, s_json);
        RecordExists = false;
    }
}
