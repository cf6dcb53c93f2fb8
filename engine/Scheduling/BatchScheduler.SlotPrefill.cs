namespace ChatCluster.Inference.Scheduling;

public sealed partial class BatchScheduler
{
    /// <summary>
    /// Prefill on a fused graph: a sequence takes its slots when it is admitted. New short prompts at the head of
    /// the queue that get consecutive slots go through one call together (PrefillGroupInSlots); otherwise a kept
    /// cache is copied into the head sequence's slot and its prompt chunks run as batch-1 views of the slot
    /// (GroupQueryAttention's rule for several new tokens over existing context). A prompt that is done joins
    /// where it is, without a copy, so the loop goes on to the next prompt within the same token budget.
    /// </summary>
    private void PrefillInSlots(SlotDecodeBatch slots)
    {
        var budget = _options.PrefillChunkTokens;
        if (_prefilling is null)
        {
            budget -= PrefillGroupInSlots(slots, budget);
        }

        while (budget > 0 && (_prefilling ?? AdmitToSlots(slots)) is { } sequence)
        {
            if (sequence.CancelRequested)
            {
                sequence.Cancel();
                slots.Release(sequence);
                _prefilling = null;
                continue;
            }

            var count = Math.Min(budget, sequence.Tokens.Count - sequence.Computed);
            try
            {
                slots.Prefill(sequence, count, _prefillIo);
            }
            catch (Exception error)
            {
                sequence.Fail(error);
                slots.Release(sequence);
                _prefilling = null;
                continue;
            }

            Interlocked.Add(ref _prefilledTokens, count);
            InferenceTelemetry.PrefilledTokens.Add(count);
            budget -= count;
            if (sequence.Computed < sequence.Tokens.Count)
            {
                continue;
            }

            _prefilling = null;
            PickFirstToken(sequence, _prefillIo.Logits.Span.Slice((count - 1) * _model.VocabSize, _model.VocabSize));
            JoinOrKeep(slots, sequence);
        }
    }

    /// <summary>
    /// Takes the new one-row prompts at the head of the queue that fit the budget together (padding counted), the
    /// first in the lowest free slot and each next in the slot after, and prefills them in one call; each then
    /// picks its first token and joins. Returns the budget it used (0 when the head cannot go this way: a long
    /// prompt, a kept cache, a beam search, or no free slot after the last).
    /// </summary>
    private int PrefillGroupInSlots(SlotDecodeBatch slots, int budget)
    {
        _group.Clear();
        var longest = 0;
        var first = -1;
        while (TryPeekLive(out var next))
        {
            var length = next.Tokens.Count;
            if ((_group.Count + 1) * Math.Max(longest, length) > budget || next.Rows != 1
                || next.Job.CacheKey is { } key && _prefixCache.Contains(key)
                || !(_group.Count == 0 ? slots.TryReserve(next) : slots.TryReserveAt(next, first + _group.Count)))
            {
                break;
            }

            _queue.Reader.TryRead(out _);
            next.Admit();
            first = _group.Count == 0 ? slots.FirstSlotOf(next) : first;
            _group.Add(next);
            longest = Math.Max(longest, length);
        }

        if (_group.Count == 0)
        {
            return 0;
        }

        Volatile.Write(ref _largestPrefillGroup, Math.Max(_largestPrefillGroup, _group.Count));
        try
        {
            slots.PrefillGroup(_group, longest, _prefillIo);
        }
        catch (Exception error)
        {
            foreach (var s in _group)
            {
                s.Fail(error);
                slots.Release(s);
            }

            return _group.Count * longest;
        }

        var vocab = _model.VocabSize;
        for (var b = 0; b < _group.Count; b++)
        {
            var sequence = _group[b];
            Interlocked.Add(ref _prefilledTokens, sequence.Computed);
            InferenceTelemetry.PrefilledTokens.Add(sequence.Computed);
            PickFirstToken(sequence, _prefillIo.Logits.Span.Slice(((b * longest) + sequence.Computed - 1) * vocab, vocab));
            JoinOrKeep(slots, sequence);
        }

        return _group.Count * longest;
    }

    /// <summary>After its first token: a sequence that ended there keeps its cache and frees its slot; the others join.</summary>
    private void JoinOrKeep(SlotDecodeBatch slots, Sequence sequence)
    {
        if (sequence.IsDone)
        {
            if (sequence.State == SequenceState.Finished && sequence.Job.CacheKey is { } key && sequence.Beam is null)
            {
                _prefixCache.Put(key, sequence.Tokens.GetRange(0, sequence.Computed).ToArray(), slots.ExtractPrompt(sequence, Rent()));
            }

            slots.Release(sequence);
            return;
        }

        sequence.State = SequenceState.Joining;
        _joining.Add((sequence, null, 0));
    }

    /// <summary>Takes the next queued sequence if there are free slots for it; copies its conversation's kept cache in.</summary>
    private Sequence? AdmitToSlots(SlotDecodeBatch slots)
    {
        if (!_queue.Reader.TryPeek(out var next) || !slots.TryReserve(next))
        {
            return null;
        }

        _queue.Reader.TryRead(out _);
        next.Admit();
        if (next.Job.CacheKey is { } key && _prefixCache.TryTake(key, out var tokens, out var cached))
        {
            // Reuse the longest common prefix, leaving at least one prompt token to compute logits from.
            var reuse = Math.Min(CommonPrefix(tokens, next.Tokens), next.Tokens.Count - 1);
            if (reuse > 0)
            {
                slots.Restore(next, cached, reuse);
                next.Computed = next.CachedTokens = reuse;
            }

            Return(cached);
        }

        _prefilling = next;
        return next;
    }
}
