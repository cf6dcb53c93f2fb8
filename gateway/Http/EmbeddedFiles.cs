using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace ChatCluster.Gateway.Http;

/// <summary>
/// Serves the chat page from the files embedded in this assembly (wwwroot/, see Gateway.csproj), so the
/// gateway needs no content folder on disk and no build step for its page. index.html is also served at /.
/// </summary>
internal static class EmbeddedFiles
{
    private const string ResourcePrefix = "wwwroot/";

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
        [".ico"] = "image/x-icon",
    };

    public static void Map(IEndpointRouteBuilder app)
    {
        var assembly = typeof(EmbeddedFiles).Assembly;
        foreach (var name in assembly.GetManifestResourceNames().Where(static n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var file = Load(assembly, name);
            var path = "/" + name[ResourcePrefix.Length..];
            app.MapGet(path, context => ServeAsync(context, file));
            if (path == "/index.html")
            {
                app.MapGet("/", context => ServeAsync(context, file));
            }
        }
    }

    private static EmbeddedFile Load(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        var contentType = ContentTypes.GetValueOrDefault(Path.GetExtension(name), "application/octet-stream");
        var etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"";
        return new EmbeddedFile(bytes, contentType, etag);
    }

    private static Task ServeAsync(HttpContext context, EmbeddedFile file)
    {
        var response = context.Response;
        response.Headers[HeaderNames.ETag] = file.ETag;

        // Revalidate every time: the page changes with the server, and a 304 costs nothing.
        response.Headers[HeaderNames.CacheControl] = "no-cache";
        response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        if (context.Request.Headers.IfNoneMatch == file.ETag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.ContentType = file.ContentType;
        response.ContentLength = file.Bytes.Length;
        return response.Body.WriteAsync(file.Bytes, context.RequestAborted).AsTask();
    }

    private sealed record EmbeddedFile(byte[] Bytes, string ContentType, string ETag);
}
