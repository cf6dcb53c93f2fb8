using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using ChatCluster.Gateway.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace ChatCluster.Gateway.Http;

/// <summary>
/// Writes Server-Sent Events straight into the response's pipe: <c>data: &lt;json&gt;</c> and a blank line
/// per event, flushed as soon as no further event is ready, so that each token reaches the client when it is
/// made and a burst of tokens goes out in one write. One JSON writer is
/// reused for every event, so an event costs no allocation beyond the pipe's own buffers.
/// </summary>
public sealed class ServerSentEventWriter : IDisposable
{
    private static ReadOnlySpan<byte> DataPrefix => "data: "u8;

    private static ReadOnlySpan<byte> EventEnd => "\n\n"u8;

    private static ReadOnlySpan<byte> DoneEvent => "data: [DONE]\n\n"u8;

    private readonly PipeWriter _output;
    private readonly Utf8JsonWriter _json;

    public ServerSentEventWriter(PipeWriter output)
    {
        _output = output;
        _json = new Utf8JsonWriter(output, JsonResponse.WriterOptions);
    }

    /// <summary>Sends the headers of an event stream and turns off response buffering.</summary>
    public static ServerSentEventWriter Start(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers[HeaderNames.CacheControl] = "no-cache";

        // Asks reverse proxies (nginx) not to hold the stream back either.
        response.Headers["X-Accel-Buffering"] = "no";
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        return new ServerSentEventWriter(response.BodyWriter);
    }

    /// <summary>Starts an event; write one JSON value to the returned writer, then call <see cref="EndEventAsync"/>.</summary>
    public Utf8JsonWriter BeginEvent()
    {
        _output.Write(DataPrefix);
        _json.Reset(_output);
        return _json;
    }

    public async ValueTask EndEventAsync(CancellationToken cancellationToken)
    {
        EndEvent();
        await _output.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Ends an event without sending it yet: the streaming writers end every event this way and call
    /// <see cref="FlushAsync"/> when no further event is ready, so a burst of tokens costs one write, not one each.
    /// </summary>
    public void EndEvent()
    {
        _json.Flush();
        _output.Write(EventEnd);
    }

    /// <summary>Sends the events ended so far.</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken) => await _output.FlushAsync(cancellationToken);

    public async ValueTask WriteDoneAsync(CancellationToken cancellationToken)
    {
        _output.Write(DoneEvent);
        await _output.FlushAsync(cancellationToken);
    }

    /// <summary>Reports a failure after the stream has started (the status line is gone): an error event, then the end.</summary>
    public async ValueTask WriteErrorAsync(ApiError error, CancellationToken cancellationToken)
    {
        ErrorBodyWriter.Write(BeginEvent(), error);
        await EndEventAsync(cancellationToken);
    }

    public void Dispose() => _json.Dispose();
}
