using System.Text.Json;
using System.Text.RegularExpressions;
using ChatCluster.Gateway.Errors;
using ChatCluster.Gateway.Http;
using ChatCluster.Gateway.Security;
using ChatCluster.Grains;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ChatCluster.Gateway.Conversations;

/// <summary>
/// The conversation API: the server keeps the history, so a client sends only its new message. Every call
/// passes the caller's owner id to the grain, which answers 404 for a conversation of another key.
/// </summary>
internal static partial class ConversationEndpoints
{
    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapPost("/conversations", CreateAsync);
        api.MapGet("/conversations/{id}", GetAsync);
        api.MapPost("/conversations/{id}/messages", SendAsync);
        api.MapDelete("/conversations/{id}", DeleteAsync);
    }

    private static async Task CreateAsync(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<GatewayOptions>();
        CreateConversationRequest request;
        using (var body = await RequestBodyReader.ReadJsonAsync(context.Request, options.MaxRequestBodyBytes, context.RequestAborted))
        {
            request = ConversationRequestParser.ParseCreate(body, options);
        }

        var id = RandomIds.New("conv_");
        var grain = Grain(context, id);
        var owner = CallerIdentity.Of(context).Owner;
        await ClusterRetry.RunAsync(() => grain.CreateAsync(owner, request.SystemPrompt, request.Defaults), context.RequestAborted);
        await JsonResponse.WriteAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteString("id", id);
            json.WriteString("object", "conversation");
            json.WriteEndObject();
        });
    }

    private static async Task GetAsync(HttpContext context, string id)
    {
        var grain = Grain(context, id);
        var owner = CallerIdentity.Of(context).Owner;
        var snapshot = await ClusterRetry.RunAsync(() => grain.GetAsync(owner), context.RequestAborted);
        await JsonResponse.WriteAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteString("id", snapshot.Id);
            json.WriteString("object", "conversation");
            json.WriteNumber("created", snapshot.CreatedUnixSeconds);
            json.WriteStartArray("messages");
            foreach (var message in snapshot.Messages)
            {
                json.WriteStartObject();
                json.WriteString("role", message.Role);
                json.WriteString("content", message.Content);
                if (message.ToolCalls is { Count: > 0 } calls)
                {
                    ToolCallJson.WriteArray(json, calls);
                }

                if (message.ToolCallId is { } callId)
                {
                    json.WriteString("tool_call_id", callId);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    private static async Task SendAsync(HttpContext context, string id)
    {
        var services = context.RequestServices;
        var options = services.GetRequiredService<GatewayOptions>();
        var grain = Grain(context, id);
        SendMessageRequest request;
        TurnKey? key;
        using (var body = await RequestBodyReader.ReadJsonAsync(context.Request, options.MaxRequestBodyBytes, context.RequestAborted))
        {
            request = ConversationRequestParser.ParseMessage(body, options);
            key = IdempotencyKey.Of(context.Request, body);
        }

        var owner = CallerIdentity.Of(context).Owner;
        await services.GetRequiredService<GenerationResponder>().RespondAsync(
            context,
            choices: 1,
            (_, cancellationToken) => ClusterRetry.StreamAsync(token => grain.SendAsync(owner, new TurnInput(request.Messages, request.Tools, request.Sampling, request.Constraint), key, token), cancellationToken),
            request.Stream,
            ConversationReplyWriter.WriteStreamAsync,
            ConversationReplyWriter.WriteObjectAsync);
    }

    private static async Task DeleteAsync(HttpContext context, string id)
    {
        var grain = Grain(context, id);
        var owner = CallerIdentity.Of(context).Owner;
        await ClusterRetry.RunAsync(() => grain.DeleteAsync(owner), context.RequestAborted);
        await JsonResponse.WriteAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteString("id", id);
            json.WriteString("object", "conversation.deleted");
            json.WriteBoolean("deleted", true);
            json.WriteEndObject();
        });
    }

    /// <summary>The conversation's grain; an id that this server could never have made is a 404 without a grain call.</summary>
    private static IConversationGrain Grain(HttpContext context, string id)
    {
        if (!ConversationId().IsMatch(id))
        {
            throw new ApiException(ApiError.NotFound($"No conversation with id '{id}'.", "id"));
        }

        return context.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IConversationGrain>(id);
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex ConversationId();
}
