using System.Text.Json;
using ChatCluster.Gateway.Errors;
using ChatCluster.Gateway.Http;
using ChatCluster.Gateway.Security;
using ChatCluster.Grains.Inference;
using ChatCluster.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ChatCluster.Gateway.OpenAi;

/// <summary>OpenAI's routes: the model list and chat completions.</summary>
internal static class OpenAiEndpoints
{
    private const string Owner = "chatcluster";

    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapGet("/models", ListModelsAsync);
        api.MapGet("/models/{model}", GetModelAsync);
        api.MapPost("/chat/completions", CompleteChatAsync);
    }

    private static Task ListModelsAsync(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<GatewayOptions>();
        return JsonResponse.WriteAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            WriteModel(json, options);
            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    private static async Task GetModelAsync(HttpContext context, string model)
    {
        var options = context.RequestServices.GetRequiredService<GatewayOptions>();
        if (model != options.ModelId)
        {
            throw new ApiException(ApiError.NotFound(
                $"The model '{model}' does not exist; this server serves '{options.ModelId}'.", "model", "model_not_found"));
        }

        await JsonResponse.WriteAsync(context, json => WriteModel(json, options));
    }

    private static async Task CompleteChatAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var options = services.GetRequiredService<GatewayOptions>();
        ChatCompletionRequest request;
        using (var body = await RequestBodyReader.ReadJsonAsync(context.Request, options.MaxRequestBodyBytes, context.RequestAborted))
        {
            request = ChatCompletionRequestParser.Parse(body, options);
        }

        var inference = services.GetRequiredService<InferenceClient>();
        var hint = new RouteHint(PrefixKey: PrefixKey(CallerIdentity.Of(context).Owner, request.Messages));
        var writer = new ChatCompletionWriter(request, RandomIds.New("chatcmpl-"), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        await services.GetRequiredService<GenerationResponder>().RespondAsync(
            context,
            request.Choices,
            (choice, cancellationToken) => inference.ChatAsync(ForChoice(request, choice, hint.PrefixKey), hint, cancellationToken: cancellationToken),
            request.Stream,
            writer.WriteStreamAsync,
            writer.WriteObjectAsync);
    }

    /// <summary>Choice <paramref name="choice"/> of n: with a seed, each choice gets its own (seed + choice), so they differ yet repeat.</summary>
    private static ChatRequest ForChoice(ChatCompletionRequest request, int choice, string? prefixKey)
    {
        var sampling = request.Sampling;
        if (choice > 0 && sampling.Seed is { } seed)
        {
            sampling = sampling with { Seed = unchecked(seed + choice) };
        }

        return new ChatRequest { Messages = request.Messages, Tools = request.Tools, Sampling = sampling, TruncateOldest = false, CacheKey = prefixKey };
    }

    /// <summary>
    /// A stateless chat's identity across its requests: the caller and the messages up to its first user
    /// message (system prompt and opening question), which a client that resends the history keeps sending. It
    /// routes every request of that chat to the same engine, and keys the engine's kept cache there, so each
    /// request prefills only what the previous one did not already compute (the engine reuses the longest common
    /// token prefix, so a key shared by different chats costs reuse, never correctness). The caller is part
    /// of the key: one API key's prompts never warm, and so never time, another's.
    /// </summary>
    private static string PrefixKey(string owner, IReadOnlyList<ChatMessage> messages)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        void Add(string text)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(text));
            hash.AppendData([0]);
        }

        Add(owner);
        foreach (var message in messages)
        {
            Add(message.Role);
            Add(message.Content);
            if (message.Role == ChatMessage.User)
            {
                break;
            }
        }

        return "prefix:" + Convert.ToHexString(hash.GetHashAndReset(), 0, 12);
    }

    private static void WriteModel(Utf8JsonWriter json, GatewayOptions options)
    {
        json.WriteStartObject();
        json.WriteString("id", options.ModelId);
        json.WriteString("object", "model");
        json.WriteNumber("created", options.ModelCreatedUnixSeconds);
        json.WriteString("owned_by", Owner);
        json.WriteEndObject();
    }
}
