using System.Text.Json;
using Orleans.Storage;

namespace ChatCluster.Silo.Hosting;

/// <summary>
/// Grain state as plain JSON (System.Text.Json, camelCase names): the property names are the stored schema
/// and no .NET type name is written, so renaming or moving a state type never orphans stored state, and
/// <c>redis-cli GET</c> shows a conversation as it is. (Orleans' own JSON storage serializer writes .NET
/// type names into every record.)
/// </summary>
internal sealed class JsonGrainStateSerializer : IGrainStorageSerializer
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public BinaryData Serialize<T>(T? input) => BinaryData.FromObjectAsJson(input, Options);

    public T? Deserialize<T>(BinaryData input) => input.ToObjectFromJson<T>(Options);
}
