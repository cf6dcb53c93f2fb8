using ChatCluster.Inference.Model;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Inference;

/// <summary>The model runner on the real exported test model, through the real ONNX Runtime.</summary>
public sealed class DecoderModelTests : IDisposable
{
    private readonly DecoderModel _model = DecoderModel.Load(TestPaths.TinyModel, ExecutionDevice.Cpu);

    [Fact]
    public void Reads_names_and_shapes_from_the_graph()
    {
        Assert.True(_model.KvShape.Layers > 0);
        Assert.True(_model.KvShape.Heads > 0);
        Assert.True(_model.KvShape.HeadDim > 0);
        Assert.Equal(_model.Config.VocabSize, _model.VocabSize);
        Assert.True(_model.HasPositionIds);
    }

    [Fact]
    public void Cached_decoding_gives_the_logits_of_recomputing_the_whole_sequence()
    {
        int[] tokens = [5, 17, 42, 3, 99, 7, 64, 12, 250, 31, 8, 77];
        const int prefill = 5;

        // Prefill the first tokens, then feed the rest one at a time through the KV cache.
        var io = new ModelStepBuffers();
        var past = new KvCache(_model.KvShape);
        var present = new KvCache(_model.KvShape);
        past.Resize(1, 0);
        Fill(io, tokens.AsSpan(0, prefill), start: 0);
        _model.Run(io, 1, prefill, past, present);
        (past, present) = (present, past);
        var cached = new List<float[]> { LastRow(io, prefill) };
        for (var t = prefill; t < tokens.Length; t++)
        {
            Fill(io, tokens.AsSpan(t, 1), start: t);
            _model.Run(io, 1, 1, past, present);
            (past, present) = (present, past);
            cached.Add(LastRow(io, 1));
        }

        // Recompute every prefix from scratch, without a cache.
        var maxDifference = 0f;
        for (var n = prefill; n <= tokens.Length; n++)
        {
            var fresh = new KvCache(_model.KvShape);
            fresh.Resize(1, 0);
            Fill(io, tokens.AsSpan(0, n), start: 0);
            _model.Run(io, 1, n, fresh, new KvCache(_model.KvShape));
            var full = LastRow(io, n);
            var step = cached[n - prefill];
            for (var i = 0; i < full.Length; i++)
            {
                maxDifference = Math.Max(maxDifference, Math.Abs(full[i] - step[i]));
            }
        }

        Assert.True(maxDifference < 1e-4f, $"max |cached - recomputed| = {maxDifference}");
    }

    [Fact]
    public void A_fused_call_over_memory_and_shapes_seen_before_makes_no_new_tensor_handles()
    {
        using var model = DecoderModel.Load(TestPaths.BundledModel, ExecutionDevice.Cpu);
        var slots = new KvSlots(model.KvShape, model.Config.ContextWindow);
        slots.EnsureSlots(3);
        var io = new ModelStepBuffers();
        io.Reserve(3, 1, 4, model.VocabSize);
        long Call(int batch)
        {
            io.InputIds.Span[..batch].Fill(7);
            io.PositionIds.Span[..batch].Fill(4);
            io.AttentionMask.Span[..(batch * 5)].Fill(1);
            var before = GC.GetAllocatedBytesForCurrentThread();
            model.RunInPlace(io, batch, 1, 5, slots, 0);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Call(2);
        var firstSight = Call(1);  // new handles for every tensor, every name bound
        var same = Call(1);        // the same handles: nothing to bind
        var seenBefore = Call(2);  // batch 2's handles were kept: its names are bound again, no handle is made
        Assert.Equal(0, same);
        Assert.True(seenBefore < firstSight, $"a shape seen before allocated {seenBefore} bytes, a new one {firstSight}");
        Assert.True(Call(3) > seenBefore, "a new shape makes handles");
    }

    public void Dispose() => _model.Dispose();

    private void Fill(ModelStepBuffers io, ReadOnlySpan<int> tokens, int start)
    {
        io.Reserve(1, tokens.Length, start, _model.VocabSize);
        for (var i = 0; i < tokens.Length; i++)
        {
            io.InputIds.Span[i] = tokens[i];
            io.PositionIds.Span[i] = start + i;
        }

        io.AttentionMask.Span[..(start + tokens.Length)].Fill(1);
    }

    private float[] LastRow(ModelStepBuffers io, int tokens) =>
        io.Logits.Span.Slice((tokens - 1) * _model.VocabSize, _model.VocabSize).ToArray();
}
