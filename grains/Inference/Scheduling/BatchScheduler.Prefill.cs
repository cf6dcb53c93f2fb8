using ChatCluster.Inference.Model;

namespace ChatCluster.Inference.Scheduling;

public sealed partial class BatchScheduler
{
    /// <summary>Runs at most one chunk's worth of prompt tokens, for the sequence at the head of the queue.</summary>
    private void Prefill()
    {
        var budget = _options.PrefillChunkTokens;
        while (budget > 0 && (_prefilling ?? Admit()) is { } sequence)
        {
            if (sequence.CancelRequested)
            {
                sequence.Cancel();
                _prefilling = null;
                continue;
            }

            var count = Math.Min(budget, sequence.Tokens.Count - sequence.Computed);
            try
            {
                RunPrefillChunk(sequence, count);
            }
            catch (Exception error)
            {
                sequence.Fail(error);
                _prefilling = null;
                continue;
            }

            budget -= count;
            if (sequence.Computed < sequence.Tokens.Count)
            {
                continue;
            }

            // Prompt done: pick the first token from the last position's logits; join at this step's rebuild.
            _prefilling = null;
            PickFirstToken(sequence, _prefillIo.Logits.Span.Slice((count - 1) * _model.VocabSize, _model.VocabSize));
            if (sequence.IsDone)
            {
                Keep(sequence, _prefillPast);
                continue;
            }

            sequence.State = SequenceState.Joining;
            _joining.Add((sequence, _prefillPast));

            // The joiner's cache is the prefill buffer itself: the next prompt starts after the rebuild copied it.
            break;
        }
    }

    /// <summary>Takes the next queued sequence if the batch has rows for it; restores its conversation's cache.</summary>
    private Sequence? Admit()
    {
        if (!_queue.Reader.TryPeek(out var next) || _batch.Rows + next.Rows > _options.MaxBatchRows)
        {
            return null;
        }

        _queue.Reader.TryRead(out _);
        next.State = SequenceState.Prefilling;
        _prefillPast.Resize(1, 0);
        if (next.Job.CacheKey is { } key && _prefixCache.TryTake(key, out var tokens, out var cached))
        {
            // Reuse the longest common prefix, leaving at least one prompt token to compute logits from.
            var reuse = Math.Min(CommonPrefix(tokens, next.Tokens), next.Tokens.Count - 1);
            if (reuse > 0)
            {
                _prefillPast.Resize(1, reuse);
                cached.CopyRowTo(0, 0, reuse, _prefillPast, 0, 0);
                next.Computed = reuse;
            }
        }

        _prefilling = next;
        return next;
    }

    private void RunPrefillChunk(Sequence sequence, int count)
    {
        var start = sequence.Computed;
        _prefillIo.Reserve(1, count, start, _model.VocabSize);
        var ids = _prefillIo.InputIds.Span;
        var positions = _prefillIo.PositionIds.Span;
        for (var i = 0; i < count; i++)
        {
            ids[i] = sequence.Tokens[start + i];
            positions[i] = start + i;
        }

        _prefillIo.AttentionMask.Span[..(start + count)].Fill(1);
        _model.Run(_prefillIo, 1, count, _prefillPast, _prefillPresent);
        (_prefillPast, _prefillPresent) = (_prefillPresent, _prefillPast);
        sequence.Computed = start + count;
        Interlocked.Add(ref _prefilledTokens, count);
        InferenceTelemetry.PrefilledTokens.Add(count);
    }

    private void PickFirstToken(Sequence sequence, Span<float> logits)
    {
        if (sequence.Beam is { } beam)
        {
            Span<int> parents = stackalloc int[beam.Width];
            beam.Step(logits, parents, sequence.NextTokens);
            if (beam.Done)
            {
                sequence.FinishBeam();
            }

            return;
        }

        sequence.Accept(sequence.Sampler!.Next(logits));
    }

    /// <summary>Before the rebuild drops them: finished conversations keep their cache for the next turn.</summary>
    private void KeepFinishedCaches()
    {
        var row = 0;
        foreach (var s in _batch.Sequences)
        {
            if (s.State == SequenceState.Finished && s.Job.CacheKey is not null && s.Beam is null)
            {
                _prefixCache.Put(s.Job.CacheKey, s.Tokens.GetRange(0, s.Computed).ToArray(), _batch.ExtractRow(row, s.Computed));
            }

            row += s.Rows;
        }
    }

    private void Keep(Sequence sequence, KvCache cache)
    {
        if (sequence.State != SequenceState.Finished || sequence.Job.CacheKey is null || sequence.Beam is not null)
        {
            return;
        }

        var copy = new KvCache(_model.KvShape, 1, sequence.Computed);
        copy.Resize(1, sequence.Computed);
        cache.CopyRowTo(0, 0, sequence.Computed, copy, 0, 0);
        _prefixCache.Put(sequence.Job.CacheKey, sequence.Tokens.GetRange(0, sequence.Computed).ToArray(), copy);
    }

    private static int CommonPrefix(int[] cached, List<int> prompt)
    {
        var n = Math.Min(cached.Length, prompt.Count);
        var i = 0;
        while (i < n && cached[i] == prompt[i])
        {
            i++;
        }

        return i;
    }
}
