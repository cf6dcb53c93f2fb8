using System.Diagnostics;
using System.Threading.Channels;
using ChatCluster.Inference.Sampling;
using ChatCluster.Inference.Structured;
using ChatCluster.Inference.Tokenization;

namespace ChatCluster.Inference.Scheduling;

/// <summary>
/// One request inside the scheduler: its tokens, how many of them the cache holds, how it picks tokens
/// (a <see cref="Sampler"/>, or a <see cref="BeamSearch"/> over several rows), its output constraint (one
/// <see cref="RowConstraint"/> per row), and the stream its text goes out on. All fields but the cancellation flag are touched only by the scheduler loop.
/// </summary>
internal sealed class Sequence
{
    private readonly Channel<ChatDelta> _output = Channel.CreateUnbounded<ChatDelta>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private readonly BpeTokenizer _tokenizer;
    private readonly StreamingDecoder _decoder;
    private readonly StopStringMatcher _stops;
    private readonly HashSet<int> _endTokens;
    private readonly int _contextWindow;
    private RowConstraint[]? _constraintScratch;
    private volatile bool _cancelRequested;
    private long _cancelRequestedAtStep = -1;

    public Sequence(GenerationJob job, BpeTokenizer tokenizer, IReadOnlyList<int> endTokens, int vocabSize, int contextWindow, CompiledConstraint? constraint = null)
    {
        Job = job;
        _tokenizer = tokenizer;
        _decoder = new StreamingDecoder(tokenizer);
        _stops = new StopStringMatcher(job.Sampling.Stop);
        _endTokens = [.. endTokens];
        _contextWindow = contextWindow;
        Tokens = new List<int>(job.Prompt.Length + 64);
        Tokens.AddRange(job.Prompt);
        MaxNewTokens = Math.Min(job.Sampling.MaxTokens ?? int.MaxValue, contextWindow - job.Prompt.Length);
        NextTokens = new int[Math.Max(1, job.Sampling.BeamWidth)];
        if (constraint is not null)
        {
            Constraints = [.. Enumerable.Range(0, NextTokens.Length).Select(_ => constraint.CreateRow())];
            _constraintScratch = [.. Enumerable.Range(0, NextTokens.Length).Select(_ => constraint.CreateRow())];
        }

        if (job.Sampling.BeamWidth > 1)
        {
            Beam = new BeamSearch(job.Sampling.BeamWidth, endTokens, vocabSize, MaxNewTokens);
        }
        else
        {
            Sampler = new Sampler(job.Sampling, vocabSize);
            foreach (var token in job.Prompt)
            {
                Sampler.Observe(token);
            }
        }
    }

    public GenerationJob Job { get; }

    public SequenceState State { get; set; }

    /// <summary>Prompt, then every token picked so far (for beam search: the prompt only).</summary>
    public List<int> Tokens { get; }

    /// <summary>Leading tokens whose keys and values are in the cache (its own while prefilling, else the batch's rows).</summary>
    public int Computed { get; set; }

    public int Generated { get; private set; }

    public int MaxNewTokens { get; }

    public Sampler? Sampler { get; }

    public BeamSearch? Beam { get; }

    /// <summary>Each row's output constraint (null: free text); beams carry their own.</summary>
    public RowConstraint[]? Constraints { get; private set; }

    /// <summary>The current token of each of this sequence's rows, fed at the next decode step.</summary>
    public int[] NextTokens { get; }

    /// <summary>Rows this sequence takes in the batch.</summary>
    public int Rows => Beam?.Width ?? 1;

    public bool CancelRequested => _cancelRequested;

    public ChannelReader<ChatDelta> Output => _output.Reader;

    public bool IsDone => State is SequenceState.Finished or SequenceState.Cancelled;

    /// <summary>When the scheduler took it from the queue (a <see cref="Stopwatch"/> timestamp; 0 while queued).</summary>
    public long AdmittedAt { get; private set; }

    /// <summary>Prompt tokens whose KV came from a kept cache instead of a prefill (set on admission).</summary>
    public int CachedTokens { get; set; }

    /// <summary>Leaves the queue for prefill.</summary>
    public void Admit()
    {
        State = SequenceState.Prefilling;
        AdmittedAt = Stopwatch.GetTimestamp();
    }

    /// <summary>Steps the scheduler had completed when cancellation was asked for (-1: never asked).</summary>
    public long CancelRequestedAtStep => Interlocked.Read(ref _cancelRequestedAtStep);

    /// <summary>
    /// Called by the reader's side (any thread), with the scheduler's completed step count: the loop drops the
    /// sequence at the start of its next step.
    /// </summary>
    public void RequestCancel(long completedSteps)
    {
        Interlocked.CompareExchange(ref _cancelRequestedAtStep, completedSteps, -1);
        _cancelRequested = true;
    }

    /// <summary>
    /// Picks this (single-row) sequence's next token from its logits. Under a constraint: when the tokens left
    /// are only just enough to close the output, the shortest way to close is taken whatever the model prefers.
    /// </summary>
    public int PickNext(Span<float> logits)
    {
        var constraint = Constraints?[0];
        var tokensLeft = MaxNewTokens - Generated;
        if (constraint is not null && tokensLeft <= constraint.TokensToClose)
        {
            return constraint.ClosingToken();
        }

        return Sampler!.Next(logits, constraint, tokensLeft);
    }

    /// <summary>Masks each beam row's logits (k rows of one block) with that beam's constraint before a beam step.</summary>
    public void MaskBeams(Span<float> logits, int vocabSize)
    {
        if (Constraints is not { } constraints)
        {
            return;
        }

        var tokensLeft = MaxNewTokens - Beam!.Steps;
        var rows = Math.Min(constraints.Length, logits.Length / vocabSize);
        for (var b = 0; b < rows; b++)
        {
            constraints[b].MaskLogits(logits.Slice(b * vocabSize, vocabSize), tokensLeft);
        }
    }

    /// <summary>
    /// After a beam step: beam i continues beam parents[i] with token tokens[i], and its constraint follows. A dead
    /// beam (probability 0: a token the mask forbade, or a filler) keeps its parent's place; it never expands again.
    /// </summary>
    public void AcceptBeams(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens)
    {
        if (Constraints is not { } constraints)
        {
            return;
        }

        var next = _constraintScratch!;
        for (var i = 0; i < parents.Length; i++)
        {
            next[i].CopyFrom(constraints[parents[i]]);
            if (Beam!.IsLive(i))
            {
                next[i].Accept(tokens[i]);
            }
        }

        (Constraints, _constraintScratch) = (next, constraints);
    }

    /// <summary>Takes a token picked by the sampler; finishes the sequence if it ends here.</summary>
    public void Accept(int token)
    {
        Generated++;
        Constraints?[0].Accept(token);
        if (_endTokens.Contains(token))
        {
            // Text held back as a possible stop-string start is released: no stop string matched.
            Finish(FinishReason.Stop, _stops.Append(_decoder.Flush()) + _stops.Flush());
            return;
        }

        Tokens.Add(token);
        NextTokens[0] = token;
        Sampler!.Observe(token);
        var text = _stops.Append(_decoder.Append(token));
        if (_stops.Stopped)
        {
            Finish(FinishReason.Stop, text);
        }
        else if (Generated >= MaxNewTokens || Tokens.Count >= _contextWindow)
        {
            Finish(FinishReason.Length, text + _stops.Append(_decoder.Flush()) + _stops.Flush());
        }
        else if (text.Length > 0)
        {
            Emit(text, null);
        }
    }

    /// <summary>Ends a beam search: the best hypothesis goes out as one piece of text.</summary>
    public void FinishBeam()
    {
        var (tokens, ended) = Beam!.Best();
        var ids = ended ? tokens.Take(tokens.Count - 1).ToArray() : tokens.ToArray();
        Generated = tokens.Count;
        var text = _stops.Append(_tokenizer.Decode(ids));
        var reason = ended || _stops.Stopped ? FinishReason.Stop : FinishReason.Length;
        Finish(reason, _stops.Stopped ? text : text + _stops.Flush());
    }

    public void Cancel()
    {
        if (IsDone)
        {
            return;
        }

        State = SequenceState.Cancelled;
        _decoder.Dispose();
        _output.Writer.TryWrite(Delta(string.Empty, FinishReason.Cancelled));
        _output.Writer.TryComplete();
    }

    public void Fail(Exception error)
    {
        if (IsDone)
        {
            return;
        }

        State = SequenceState.Cancelled;
        _decoder.Dispose();
        _output.Writer.TryComplete(error);
    }

    private void Finish(FinishReason reason, string text)
    {
        State = SequenceState.Finished;
        _decoder.Dispose();
        _output.Writer.TryWrite(Delta(text, reason));
        _output.Writer.TryComplete();
    }

    private void Emit(string text, FinishReason? reason) => _output.Writer.TryWrite(Delta(text, reason));

    private ChatDelta Delta(string text, FinishReason? reason) =>
        new(0, text, reason, Job.Prompt.Length, Generated, Job.DroppedMessages, CachedTokens);
}
