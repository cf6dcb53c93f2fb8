using System.Globalization;
using System.Text.Json;
using ChatCluster.Gateway.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace ChatCluster.Gateway.Errors;

/// <summary>Writes OpenAI's error body, as a whole response or as the payload of an SSE event.</summary>
public static class ErrorBodyWriter
{
    public static void Write(Utf8JsonWriter json, ApiError error)
    {
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("message", error.Message);
        json.WriteString("type", error.Type);
        WriteStringOrNull(json, "param", error.Param);
        WriteStringOrNull(json, "code", error.Code);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>Sends <paramref name="error"/> as the whole response; the response must not have started.</summary>
    public static async Task WriteResponseAsync(HttpContext context, ApiError error)
    {
        var response = context.Response;
        response.StatusCode = error.Status;
        response.ContentType = "application/json; charset=utf-8";
        if (error.RetryAfterSeconds is { } seconds)
        {
            response.Headers[HeaderNames.RetryAfter] = seconds.ToString(CultureInfo.InvariantCulture);
        }

        using (var json = new Utf8JsonWriter(response.BodyWriter, JsonResponse.WriterOptions))
        {
            Write(json, error);
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static void WriteStringOrNull(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
