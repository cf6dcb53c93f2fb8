using ChatCluster.Inference.Model;

namespace ChatCluster.Inference.Scheduling;

public sealed partial class BatchScheduler
{
    /// <summary>
    /// Runs at most one chunk's worth of prompt tokens: short new prompts from the head of the queue together in
    /// one call, or else a chunk of the sequence at the head (a long prompt, or one that continues a kept cache).
    /// </summary>
    private void Prefill()
    {
        if (_batch is SlotDecodeBatch slots)
        {
            PrefillInSlots(slots);
            return;
        }

        var budget = _options.PrefillChunkTokens;
        if (_prefilling is null && PrefillGroup(budget))
        {
            return;
        }

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
                Keep(sequence, _prefillPast, 0);
                continue;
            }

            sequence.State = SequenceState.Joining;
            _joining.Add((sequence, _prefillPast, 0));

            // The joiner's cache is the prefill buffer itself: the next prompt starts after the rebuild copied it.
            break;
        }
    }

    /// <summary>The queue's head, once heads whose callers went away are dropped (and ended) on the way.</summary>
    private bool TryPeekLive(out Sequence next)
    {
        while (_queue.Reader.TryPeek(out next!))
        {
            if (!next.CancelRequested)
            {
                return true;
            }

            _queue.Reader.TryRead(out _);
            next.Cancel();
        }

        return false;
    }

    /// <summary>
    /// Prefills the new prompts at the head of the queue that fit the token budget together (counting the
    /// padding) in one call, left-padded to the longest, from an empty cache. Each then picks its first token and
    /// joins. Returns false when the head cannot go this way (a long prompt, a kept cache, or no room).
    /// </summary>
    private bool PrefillGroup(int budget)
    {
        _group.Clear();
        var longest = 0;
        var rows = _batch.Rows;
        while (TryPeekLive(out var next))
        {
            var length = next.Tokens.Count;
            if ((_group.Count + 1) * Math.Max(longest, length) > budget || rows + next.Rows > _options.MaxBatchRows
                || next.Job.CacheKey is { } key && _prefixCache.Contains(key))
            {
                break;
            }

            _queue.Reader.TryRead(out _);
            next.Admit();
            _group.Add(next);
            longest = Math.Max(longest, length);
            rows += next.Rows;
        }

        if (_group.Count == 0)
        {
            return false;
        }

        var batch = _group.Count;
        Volatile.Write(ref _largestPrefillGroup, Math.Max(_largestPrefillGroup, batch));
        _prefillIo.Reserve(batch, longest, 0, _model.VocabSize);
        var ids = _prefillIo.InputIds.Span;
        var positions = _prefillIo.PositionIds.Span;
        var mask = _prefillIo.AttentionMask.Span;
        for (var b = 0; b < batch; b++)
        {
            var tokens = _group[b].Tokens;
            var pad = longest - tokens.Count;
            for (var i = 0; i < longest; i++)
            {
                var at = b * longest + i;
                (ids[at], positions[at], mask[at]) = i < pad ? (0L, 0L, 0L) : (tokens[i - pad], i - pad, 1L);
            }
        }

        try
        {
            _groupPast.Resize(batch, 0);
            _model.Run(_prefillIo, batch, longest, _groupPast, _groupPresent);
        }
        catch (Exception error)
        {
            _group.ForEach(s => s.Fail(error));
            return true;
        }

        // Left padding puts every row's last prompt token at the last position.
        var vocab = _model.VocabSize;
        for (var b = 0; b < batch; b++)
        {
            var sequence = _group[b];
            sequence.Computed = sequence.Tokens.Count;
            Interlocked.Add(ref _prefilledTokens, sequence.Computed);
            InferenceTelemetry.PrefilledTokens.Add(sequence.Computed);
            PickFirstToken(sequence, _prefillIo.Logits.Span.Slice(((b * longest) + longest - 1) * vocab, vocab));
            if (sequence.IsDone)
            {
                Keep(sequence, _groupPresent, b);
            }
            else
            {
                sequence.State = SequenceState.Joining;
                _joining.Add((sequence, _groupPresent, b));
            }
        }

        return true;
    }

    /// <summary>Takes the next queued sequence if the batch has rows for it; restores its conversation's cache.</summary>
    private Sequence? Admit()
    {
        if (!_queue.Reader.TryPeek(out var next) || _batch.Rows + next.Rows > _options.MaxBatchRows)
        {
            return null;
        }

        _queue.Reader.TryRead(out _);
        next.Admit();
        _prefillPast.Resize(1, 0);
        if (next.Job.CacheKey is { } key && _prefixCache.TryTake(key, out var tokens, out var cached))
        {
            // Reuse the longest common prefix, leaving at least one prompt token to compute logits from.
            var reuse = Math.Min(CommonPrefix(tokens, next.Tokens), next.Tokens.Count - 1);
            if (reuse == cached.Length)
            {
                // The usual case, the whole kept cache is the prompt's prefix: it becomes the prefill cache as is,
                // and the buffer it replaces will hold the next cache kept.
                Return(_prefillPast);
                _prefillPast = cached;
                next.Computed = next.CachedTokens = reuse;
            }
            else
            {
                if (reuse > 0)
                {
                    _prefillPast.Resize(1, reuse);
                    cached.CopyRowTo(0, 0, reuse, _prefillPast, 0, 0);
                    next.Computed = next.CachedTokens = reuse;
                }

                Return(cached);
            }
        }

        _prefilling = next;
        return next;
    }

    private void RunPrefillChunk(Sequence sequence, int count)
    {
        var start = sequence.Computed;
        _prefillIo.FillChunk(sequence.Tokens, start, count, _model.VocabSize);
        _model.Run(_prefillIo, 1, count, _prefillPast, _prefillPresent);
        (_prefillPast, _prefillPresent) = (_prefillPresent, _prefillPast);
        sequence.Computed = start + count;
        Interlocked.Add(ref _prefilledTokens, count);
        InferenceTelemetry.PrefilledTokens.Add(count);
    }

    private void PickFirstToken(Sequence sequence, Span<float> logits)
    {
        try
        {
            PickFirstTokenOf(sequence, logits);
        }
        catch (InvalidOperationException error) when (sequence.Constraints is not null)
        {
            // An output constraint that cannot go on ends only its own sequence, never the loop.
            sequence.Fail(error);
        }
    }

    private void PickFirstTokenOf(Sequence sequence, Span<float> logits)
    {
        if (sequence.Beam is { } beam)
        {
            Span<int> parents = stackalloc int[beam.Width];
            sequence.MaskBeams(logits, _model.VocabSize);
            beam.Step(logits, parents, sequence.NextTokens);
            sequence.AcceptBeams(parents, sequence.NextTokens);
            if (beam.Done)
            {
                sequence.FinishBeam();
            }

            return;
        }

        sequence.Accept(sequence.PickNext(logits));
    }

    /// <summary>Before the rebuild drops them: finished conversations keep their cache for the next turn.</summary>
    private void KeepFinishedCaches()
    {
        var row = 0;
        foreach (var s in _batch.Sequences)
        {
            if (s.State == SequenceState.Finished && s.Job.CacheKey is not null && s.Beam is null)
            {
                _prefixCache.Put(s.Job.CacheKey, s.Tokens.GetRange(0, s.Computed).ToArray(), _batch.ExtractRow(row, s.Computed, Rent()));
            }

            row += s.Rows;
        }
    }

    /// <summary>Keeps the cache of a conversation that ended at its first token (its row of a prefill cache).</summary>
    private void Keep(Sequence sequence, KvCache cache, int row)
    {
        if (sequence.State != SequenceState.Finished || sequence.Job.CacheKey is null || sequence.Beam is not null)
        {
            return;
        }

        var copy = Rent();
        copy.Resize(1, sequence.Computed);
        cache.CopyRowTo(row, cache.Length - sequence.Computed, sequence.Computed, copy, 0, 0);
        _prefixCache.Put(sequence.Job.CacheKey, sequence.Tokens.GetRange(0, sequence.Computed).ToArray(), copy);
    }

    /// <summary>
    /// Single-row caches go round: kept after a turn, adopted or copied at the next, then reused for another
    /// kept cache, so that a conversation's turns do not allocate pinned memory each time.
    /// </summary>
    private KvCache Rent() => _cachePool.TryPop(out var cache) ? cache : new KvCache(_model.KvShape);

    private void Return(KvCache cache)
    {
        if (_cachePool.Count < CachePoolLimit)
        {
            _cachePool.Push(cache);
        }
    }

    private const int CachePoolLimit = 8;

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
