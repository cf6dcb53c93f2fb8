using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Unicode;
using ChatCluster.Gateway.Errors;
using Microsoft.AspNetCore.Http;

namespace ChatCluster.Gateway.Http;

/// <summary>
/// Reads a JSON request body with a size cap, checks that it is strict UTF-8, and parses it. The cap is
/// applied while reading, so an oversized body is refused before it is buffered, whatever Content-Length says.
/// </summary>
public static class RequestBodyReader
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        MaxDepth = 32,
        AllowDuplicateProperties = false,
    };

    /// <summary>The body as a JSON document, or null when the body is empty.</summary>
    public static async Task<JsonDocument?> ReadJsonAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        var bytes = await ReadCappedAsync(request, maxBytes, cancellationToken);
        return bytes.Length == 0 ? null : Parse(bytes);
    }

    /// <summary>Parses a whole body: strict UTF-8, then JSON, each failure a 400 saying where.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> body)
    {
        var span = body.Span;
        if (!Utf8.IsValid(span))
        {
            throw new ApiException(ApiError.Invalid(
                $"The request body is not valid UTF-8 (the first invalid byte is at offset {FirstInvalidUtf8Offset(span)})."));
        }

        try
        {
            return JsonDocument.Parse(body, DocumentOptions);
        }
        catch (JsonException json)
        {
            throw new ApiException(ErrorMapping.ToApiError(json));
        }
        catch (InvalidOperationException)
        {
            // The duplicate-name check decodes every property name; a name written as an unpaired \uD800-style
            // escape is well-formed JSON but has no text, and the decoder says so with this exception.
            throw new ApiException(ApiError.Invalid(
                "The request body is not valid JSON: a property name holds an invalid \\u escape (an unpaired surrogate)."));
        }
    }

    private static async Task<byte[]> ReadCappedAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            throw new ApiException(TooLarge(maxBytes));
        }

        PipeReader reader = request.BodyReader;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await reader.ReadAsync(cancellationToken);
            }
            catch (IOException unreadable) when (unreadable is not BadHttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                // Kestrel reports some malformed framing of the body as a plain IOException rather than a
                // BadHttpRequestException (a chunk size that overflows: "Bad chunk size data"). The bytes are the
                // caller's, so it is their 400, not a 500 of the server. A client that went away cancels the token
                // and is left to the error middleware, which sends nothing.
                throw new ApiException(ApiError.Invalid($"The request body could not be read: {unreadable.Message}"));
            }

            var buffered = result.Buffer;
            if (buffered.Length > maxBytes)
            {
                reader.AdvanceTo(buffered.Start, buffered.End);
                throw new ApiException(TooLarge(maxBytes));
            }

            if (result.IsCompleted)
            {
                var bytes = buffered.ToArray();
                reader.AdvanceTo(buffered.End);
                return bytes;
            }

            // Nothing consumed, everything examined: the next read returns the whole body so far plus more.
            reader.AdvanceTo(buffered.Start, buffered.End);
        }
    }

    private static ApiError TooLarge(int maxBytes) =>
        ApiError.TooLarge($"The request body is larger than this server's limit of {maxBytes} bytes.");

    private static int FirstInvalidUtf8Offset(ReadOnlySpan<byte> bytes)
    {
        var offset = 0;
        while (offset < bytes.Length)
        {
            var status = System.Text.Rune.DecodeFromUtf8(bytes[offset..], out _, out var consumed);
            if (status != OperationStatus.Done)
            {
                return offset;
            }

            offset += consumed;
        }

        return offset;
    }
}
