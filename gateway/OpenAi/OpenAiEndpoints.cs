using System.Text.Json;
using ChatCluster.Gateway.Errors;
using ChatCluster.Gateway.Http;
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
        var info = Engine(context).Info;
        return JsonResponse.WriteAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            WriteModel(json, info);
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

        var info = Engine(context).Info;
        await JsonResponse.WriteAsync(context, json => WriteModel(json, info));
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

        var engine = Engine(context);
        var writer = new ChatCompletionWriter(request, RandomIds.New("chatcmpl-"), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        await services.GetRequiredService<GenerationResponder>().RespondAsync(
            context,
            request.Choices,
            (choice, cancellationToken) => engine.ChatAsync(ForChoice(request, choice), cancellationToken),
            request.Stream,
            writer.WriteStreamAsync,
            writer.WriteObjectAsync);
    }

    /// <summary>Choice <paramref name="choice"/> of n: with a seed, each choice gets its own (seed + choice), so they differ yet repeat.</summary>
    private static ChatRequest ForChoice(ChatCompletionRequest request, int choice)
    {
        var sampling = request.Sampling;
        if (choice > 0 && sampling.Seed is { } seed)
        {
            sampling = sampling with { Seed = unchecked(seed + choice) };
        }

        return new ChatRequest { Messages = request.Messages, Sampling = sampling, TruncateOldest = false };
    }

    /// <summary>
    /// This silo's engine. A stateless completion has no state to place anywhere, so it runs on the node it
    /// arrived at, in the same batches as the conversations that live here.
    /// </summary>
    private static InferenceEngine Engine(HttpContext context) => context.RequestServices.GetRequiredService<InferenceEngine>();

    private static void WriteModel(Utf8JsonWriter json, ModelInfo info)
    {
        json.WriteStartObject();
        json.WriteString("id", info.Id);
        json.WriteString("object", "model");
        json.WriteNumber("created", info.CreatedUnixSeconds);
        json.WriteString("owned_by", Owner);
        json.WriteEndObject();
    }
}
