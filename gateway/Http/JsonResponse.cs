using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ChatCluster.Gateway.Http;

/// <summary>Writes a 200 JSON response straight into the response pipe.</summary>
internal static class JsonResponse
{
    /// <summary>
    /// How every JSON body and event is written: quotes as \" and non-ASCII text as UTF-8, as OpenAI writes them,
    /// rather than the default's \u0022 and \u00E9 (escapes meant for JSON pasted into HTML, which these are not:
    /// they go out as application/json and text/event-stream).
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task WriteAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter, WriterOptions))
        {
            write(json);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }
}
