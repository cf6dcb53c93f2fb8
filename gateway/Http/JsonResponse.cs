using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ChatCluster.Gateway.Http;

/// <summary>Writes a 200 JSON response straight into the response pipe.</summary>
internal static class JsonResponse
{
    public static async Task WriteAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            write(json);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }
}
