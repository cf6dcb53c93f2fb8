namespace ChatCluster.Inference.Scheduling;

public sealed partial class BatchScheduler
{
    /// <summary>
    /// Prefill on a fused graph: a sequence takes its slots when it is admitted, a kept cache is copied into
    /// them, and every prompt chunk runs as a batch-1 view of its slot (GroupQueryAttention's rule for several
    /// new tokens over existing context). A prompt that is done joins where it is, without a copy, so the loop
    /// goes on to the next prompt within the same token budget.
    /// </summary>
    private void PrefillInSlots(SlotDecodeBatch slots)
    {
        var budget = _options.PrefillChunkTokens;
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
            if (sequence.IsDone)
            {
                if (sequence.State == SequenceState.Finished && sequence.Job.CacheKey is { } key && sequence.Beam is null)
                {
                    _prefixCache.Put(key, sequence.Tokens.GetRange(0, sequence.Computed).ToArray(), slots.ExtractPrompt(sequence, Rent()));
                }

                slots.Release(sequence);
                continue;
            }

            sequence.State = SequenceState.Joining;
            _joining.Add((sequence, null, 0));
        }
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
