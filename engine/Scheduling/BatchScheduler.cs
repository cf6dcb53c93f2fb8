using System.Diagnostics;
using System.Threading.Channels;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Structured;
using ChatCluster.Inference.Tokenization;

namespace ChatCluster.Inference.Scheduling;

/// <summary>
/// The continuous-batching loop of one model on one device, in the shape of a message pump: one thread owns
/// the model, the batch and every sequence's state; callers only enqueue (bounded: a full queue is an
/// "overloaded" error) and read their sequence's output channel.
///
/// Each step:
///   1. drop cancelled sequences (their rows are freed by the rebuild below, within this step) and keep the
///      caches of conversations that finished in the last step;
///   2. prefill up to <see cref="SchedulerOptions.PrefillChunkTokens"/> prompt tokens (padding included): the
///      new short prompts at the head of the queue together in one call, or else one chunk of the head sequence
///      (a long prompt takes several steps, so running streams wait at most one chunk; a conversation's kept
///      cache is continued here); a sequence whose prompt is done picks its first token and is ready to join.
///      On a fused graph every prompt chunk runs in the sequence's own slot instead (BatchScheduler.SlotPrefill.cs);
///   3. rebuild the batch's rows if sequences left or joined;
///   4. decode: one model call for every row; each sequence picks its next token with its own sampling.
/// The step's plan is data (which sequences, how many tokens); <see cref="DecodeBatch"/> runs it.
/// </summary>
public sealed partial class BatchScheduler : IDisposable
{
    private readonly DecoderModel _model;
    private readonly BpeTokenizer _tokenizer;
    private readonly IReadOnlyList<int> _endTokens;
    private readonly SchedulerOptions _options;
    private readonly Channel<Sequence> _queue;
    private readonly DecodeBatch _batch;
    private readonly PrefixCache _prefixCache;
    private readonly ModelStepBuffers _prefillIo = new();
    private readonly List<(Sequence, KvCache?, int)> _joining = [];
    private readonly List<Sequence> _group = [];
    private readonly Stack<KvCache> _cachePool = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Thread _thread;
    private KvCache _prefillPast;
    private KvCache _prefillPresent;
    private readonly KvCache _groupPast;
    private readonly KvCache _groupPresent;
    private Sequence? _prefilling;
    private readonly Lazy<TokenVocabulary> _vocabulary;

    public BatchScheduler(DecoderModel model, BpeTokenizer tokenizer, IReadOnlyList<int> endTokens, SchedulerOptions options)
    {
        _model = model;
        _tokenizer = tokenizer;
        _endTokens = endTokens;
        _options = options;
        _queue = Channel.CreateBounded<Sequence>(new BoundedChannelOptions(options.MaxQueuedRequests)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _batch = DecodeBatch.For(model, options);
        _prefixCache = new PrefixCache(options.PrefixCacheBytes, Return);
        _prefillPast = new KvCache(model.KvShape);
        _prefillPresent = new KvCache(model.KvShape);
        _groupPast = new KvCache(model.KvShape);
        _groupPresent = new KvCache(model.KvShape);
        _vocabulary = new(() => TokenVocabulary.From(tokenizer, endTokens, model.VocabSize));
        _thread = new Thread(RunLoop) { IsBackground = true, Name = $"scheduler {model.Config.Id}" };
        _thread.Start();
    }

    public SchedulerOptions Options => _options;

    /// <summary>The model's tokens as constraints see them, with its cache of compiled constraints (built on first use).</summary>
    public TokenVocabulary Vocabulary => _vocabulary.Value;

    private int _activeRows;
    private long _steps;
    private long _prefilledTokens;
    private long _loopAllocatedBytes;
    private long _maxCancelLatencySteps;
    private long _cancelledSequences;
    private int _largestPrefillGroup;
    private long _kvCacheBytes;
    private long _prefillTicks;
    private long _rebuildTicks;
    private long _decodeTicks;
    private long _modelTicks;

    /// <summary>Rows decoding now (read from any thread; for metrics and tests).</summary>
    public int ActiveRows => Volatile.Read(ref _activeRows);

    /// <summary>Steps run since start.</summary>
    public long Steps => Interlocked.Read(ref _steps);

    /// <summary>Prompt tokens run through the model since start (tokens restored from a kept cache are not).</summary>
    public long PrefilledTokens => Interlocked.Read(ref _prefilledTokens);

    /// <summary>Bytes the loop thread allocated in its steps since start (the decode path's own allocations).</summary>
    public long LoopAllocatedBytes => Interlocked.Read(ref _loopAllocatedBytes);

    /// <summary>
    /// The most steps that passed between a running sequence's cancellation and the freeing of its rows:
    /// 1 means the step in flight finished and the next one freed them.
    /// </summary>
    public long MaxCancelLatencySteps => Interlocked.Read(ref _maxCancelLatencySteps);

    /// <summary>The most new prompts prefilled together in one model call so far.</summary>
    public int LargestPrefillGroup => Volatile.Read(ref _largestPrefillGroup);

    /// <summary>Running sequences ended by cancellation (a caller that went away or stopped reading).</summary>
    public long CancelledSequences => Interlocked.Read(ref _cancelledSequences);

    /// <summary>Asks for a sequence to end (any thread); its rows are freed at the start of the next step.</summary>
    internal void Cancel(Sequence sequence) => sequence.RequestCancel(Steps);

    /// <summary>Pinned KV cache memory held: the running batch's and the kept caches of finished turns (as of the last step).</summary>
    public long KvCacheBytes => Interlocked.Read(ref _kvCacheBytes);

    /// <summary>
    /// Where the loop's time went since start, in <see cref="Stopwatch"/> ticks: prefill calls (with their first
    /// tokens), batch rebuilds (KV rows copied on joins and leaves), decode steps (the model call, then sampling
    /// and streaming out), and of those the decode model calls alone. For the bench's profile; a few timestamps a step.
    /// </summary>
    public (long Prefill, long Rebuild, long Decode, long DecodeModel) PhaseTicks =>
        (Interlocked.Read(ref _prefillTicks), Interlocked.Read(ref _rebuildTicks), Interlocked.Read(ref _decodeTicks), Interlocked.Read(ref _modelTicks));

    /// <summary>Requests waiting in the queue.</summary>
    public int QueuedRequests => _queue.Reader.Count;

    /// <summary>
    /// Queues a request. Throws <see cref="OverloadedException"/> when the queue is full, and an
    /// <see cref="ArgumentException"/> (<see cref="SchemaNotSupportedException"/>, <see cref="InvalidSchemaException"/>)
    /// when its output constraint does not compile. The returned sequence's output channel carries its deltas;
    /// <see cref="Sequence.RequestCancel"/> ends it.
    /// </summary>
    internal Sequence Submit(GenerationJob job)
    {
        var constraint = job.Sampling.Constraint is { } wanted ? Vocabulary.Constraints.Get(wanted) : null;
        var sequence = new Sequence(job, _tokenizer, _endTokens, _model.VocabSize, _model.Config.ContextWindow, constraint);
        if (!_queue.Writer.TryWrite(sequence))
        {
            throw new OverloadedException(
                $"The model '{_model.Config.Id}' has {_options.MaxQueuedRequests} requests waiting; try again shortly.");
        }

        return sequence;
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _queue.Writer.TryComplete();
        _thread.Join();
        _stopping.Dispose();
    }

    private void RunLoop()
    {
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                if (_batch.Rows == 0 && _prefilling is null && _joining.Count == 0 && !WaitForWork())
                {
                    break;
                }

                Step();
            }
        }
        finally
        {
            foreach (var s in _batch.Sequences)
            {
                s.Cancel();
            }

            _prefilling?.Cancel();
            while (_queue.Reader.TryRead(out var queued))
            {
                queued.Cancel();
            }
        }
    }

    private bool WaitForWork()
    {
        try
        {
            return _queue.Reader.WaitToReadAsync(_stopping.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// A span for the step just run, linked to the span of every request it decoded for: a step serves many
    /// requests, so it is a trace of its own rather than a child of one of them. Only when tracing listens.
    /// </summary>
    private void TraceStep(long startedAt)
    {
        var links = new List<ActivityLink>(_batch.Sequences.Count);
        foreach (var s in _batch.Sequences)
        {
            if (s.Job.Trace != default)
            {
                links.Add(new ActivityLink(s.Job.Trace));
            }
        }

        var startTime = DateTimeOffset.UtcNow - Stopwatch.GetElapsedTime(startedAt);
        using var span = InferenceTelemetry.Source.StartActivity("inference.step", ActivityKind.Internal, default(ActivityContext), links: links, startTime: startTime);
        span?.SetTag("chatcluster.batch.rows", _batch.Rows);
    }

    private void Step()
    {
        var startedAt = Stopwatch.GetTimestamp();
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        foreach (var s in _batch.Sequences)
        {
            if (s.CancelRequested && !s.IsDone)
            {
                s.Cancel();
                Interlocked.Increment(ref _cancelledSequences);
                var latency = Steps - s.CancelRequestedAtStep;
                if (latency > _maxCancelLatencySteps)
                {
                    Interlocked.Exchange(ref _maxCancelLatencySteps, latency);
                }
            }
        }

        // Before any prefill: a reply's last delta went out in the last step, so its conversation's next turn
        // may already be queued, and must find the cache in place.
        KeepFinishedCaches();
        Prefill();
        var prefilled = Stopwatch.GetTimestamp();
        _batch.Rebuild(_joining);
        _joining.Clear();
        Volatile.Write(ref _activeRows, _batch.Rows);
        var rebuilt = Stopwatch.GetTimestamp();
        if (_batch.Rows > 0)
        {
            Decode();
            InferenceTelemetry.BatchRows.Record(_batch.Rows);
            InferenceTelemetry.GeneratedTokens.Add(_batch.Rows);
        }

        Interlocked.Add(ref _prefillTicks, prefilled - startedAt);
        Interlocked.Add(ref _rebuildTicks, rebuilt - prefilled);
        Interlocked.Add(ref _decodeTicks, Stopwatch.GetTimestamp() - rebuilt);

        InferenceTelemetry.StepDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalMilliseconds);
        if (InferenceTelemetry.Source.HasListeners())
        {
            TraceStep(startedAt);
        }

        Interlocked.Exchange(ref _kvCacheBytes, _batch.CacheCapacityBytes + _prefixCache.Bytes);

        Interlocked.Add(ref _loopAllocatedBytes, GC.GetAllocatedBytesForCurrentThread() - allocatedBefore);
        Interlocked.Increment(ref _steps);
    }
}
