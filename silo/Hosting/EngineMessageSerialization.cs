using ChatCluster.Inference;
using Orleans.Serialization;
using Orleans.Serialization.Cloning;
using Orleans.Serialization.Serializers;

namespace ChatCluster.Silo.Hosting;

/// <summary>
/// How the engine's messages cross grain calls. The engine has no Orleans in it, so its records carry no
/// serializer attributes: between silos they travel as JSON (Orleans' System.Text.Json codec), and within a
/// silo they are passed as they are, because they are immutable records (Orleans would otherwise copy every
/// argument and every streamed delta of a local call). Exceptions of the project, of StackExchange.Redis and of
/// Orleans' Redis provider are allowed across silos by namespace, so a caller on another node still sees a
/// NotFoundException as one, and a Redis outage as one.
/// </summary>
internal static class EngineMessageSerialization
{
    private static readonly HashSet<Type> Messages =
    [
        typeof(ChatMessage), typeof(SamplingParameters), typeof(ChatDelta), typeof(ChatRequest), typeof(ModelInfo),
        typeof(ToolDefinition), typeof(OutputConstraint),
    ];

    public static IServiceCollection AddEngineMessageSerialization(this IServiceCollection services)
    {
        services.AddSerializer(serializer => serializer.AddJsonSerializer(
            isSerializable: Messages.Contains,
            isCopyable: null,
            options => options.Configure(o => o.SerializerOptions = JsonGrainStateSerializer.Options)));
        services.AddSingleton<IGeneralizedCopier, ImmutableMessageCopier>();
        services.Configure<ExceptionSerializationOptions>(options =>
        {
            options.SupportedNamespacePrefixes.Add("ChatCluster");
            options.SupportedNamespacePrefixes.Add("StackExchange.Redis");
            options.SupportedNamespacePrefixes.Add("Orleans.Persistence.Redis");
        });
        return services;
    }

    /// <summary>Hands the engine's immutable records to a local callee as they are.</summary>
    private sealed class ImmutableMessageCopier : IGeneralizedCopier, IOptionalDeepCopier
    {
        public bool IsSupportedType(Type type) => Messages.Contains(type);

        public bool IsShallowCopyable() => true;

        public object? DeepCopy(object? input, CopyContext context) => input;
    }
}
