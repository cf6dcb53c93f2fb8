namespace ChatCluster.Inference.Model;

/// <summary>
/// The KV buffer of a fused (GroupQueryAttention) graph: one buffer per layer and kind (layer l's key is tensor
/// 2l, its value 2l+1), each (slots, heads, Capacity, head_dim), slot-major so that one slot's region is
/// contiguous and a contiguous run of slots is itself a (batch, heads, Capacity, head_dim) tensor the model
/// reads as past and writes as present in place. Right-padded: a slot's tokens are at [0, length).
/// Capacity is at least the longest length held plus one spare position, which no sequence ever holds: a decode
/// call writes its idle rows' (holes') keys there, so a slot that is being prefilled between decode calls is never
/// touched. It starts short and grows with the longest sequence (<see cref="EnsureLength"/>), up to the context
/// window + 1: a step's attention walks the buffer by its capacity, and on the bundled model at batch 16 a decode
/// call over slots of 96 positions took 1.10 ms against 1.22 ms over 257 (same rows, same lengths, 2 cores).
/// </summary>
internal sealed class KvSlots
{
    private readonly PinnedBuffer<float>[] _tensors;
    private readonly int _maxCapacity;

    /// <summary>
    /// Slots for sequences of up to <paramref name="contextWindow"/> tokens; they hold <paramref name="initialLength"/>
    /// tokens each before they first grow (by default the whole window: they never grow).
    /// </summary>
    public KvSlots(KvShape shape, int contextWindow, int initialSlots = 1, int initialLength = int.MaxValue)
    {
        Shape = shape;
        _maxCapacity = contextWindow + 1;
        Capacity = Math.Min(contextWindow, initialLength) + 1;
        _tensors = new PinnedBuffer<float>[shape.Layers * 2];
        for (var i = 0; i < _tensors.Length; i++)
        {
            _tensors[i] = new PinnedBuffer<float>(initialSlots * SlotElements);
        }

        Slots = initialSlots;
    }

    public KvShape Shape { get; }

    /// <summary>Positions per slot: the longest length the slots can hold + 1 spare (changes as they grow; addresses change then).</summary>
    public int Capacity { get; private set; }

    /// <summary>Slots the buffers hold now (they grow by doubling, keeping contents; addresses change then).</summary>
    public int Slots { get; private set; }

    public int TensorCount => _tensors.Length;

    /// <summary>Elements of one slot in one tensor: heads × Capacity × head_dim.</summary>
    public int SlotElements => Shape.Heads * Capacity * Shape.HeadDim;

    public long CapacityBytes => _tensors.Sum(static t => (long)t.Capacity) * sizeof(float);

    /// <summary>Address of <paramref name="slot"/>'s region of tensor <paramref name="tensor"/>.</summary>
    public IntPtr Address(int tensor, int slot) => _tensors[tensor].Address + (nint)slot * SlotElements * sizeof(float);

    public void EnsureSlots(int slots)
    {
        if (slots <= Slots)
        {
            return;
        }

        var grown = Math.Max(slots, Slots * 2);
        foreach (var tensor in _tensors)
        {
            tensor.EnsureCapacity(grown * SlotElements, preserve: true, preserveCount: Slots * SlotElements);
        }

        Slots = grown;
    }

    /// <summary>
    /// Makes room for <paramref name="length"/> tokens in every slot, keeping a spare position after them: doubles
    /// the capacity (at least), up to the context window + 1, moving every slot's contents to the new layout.
    /// </summary>
    public void EnsureLength(int length)
    {
        if (length < Capacity)
        {
            return;
        }

        if (length >= _maxCapacity)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"{length} tokens do not fit a context window of {_maxCapacity - 1}.");
        }

        var capacity = Math.Min(_maxCapacity, Math.Max(Capacity * 2, length + 1));
        var run = Capacity * Shape.HeadDim;
        for (var t = 0; t < _tensors.Length; t++)
        {
            var grown = new PinnedBuffer<float>(Slots * Shape.Heads * capacity * Shape.HeadDim);
            var from = _tensors[t].Span;
            var to = grown.Span;
            for (var region = 0; region < Slots * Shape.Heads; region++)
            {
                from.Slice(region * run, run).CopyTo(to.Slice(region * capacity * Shape.HeadDim, run));
            }

            _tensors[t] = grown;
        }

        Capacity = capacity;
    }

    /// <summary>Positions [sourceStart, +count) of a dense cache's row into positions [0, count) of a slot.</summary>
    public void CopyIn(KvCache source, int sourceRow, int sourceStart, int count, int slot)
    {
        EnsureLength(count);
        var d = Shape.HeadDim;
        for (var t = 0; t < _tensors.Length; t++)
        {
            var from = source.Tensor(t).Span;
            var to = _tensors[t].Span;
            for (var h = 0; h < Shape.Heads; h++)
            {
                from.Slice((((sourceRow * Shape.Heads) + h) * source.Length + sourceStart) * d, count * d)
                    .CopyTo(to.Slice(Offset(slot, h), count * d));
            }
        }
    }

    /// <summary>Positions [0, count) of a slot into <paramref name="target"/>, resized to (1, heads, count, head_dim).</summary>
    public KvCache CopyOut(int slot, int count, KvCache target)
    {
        target.Resize(1, count);
        var d = Shape.HeadDim;
        for (var t = 0; t < _tensors.Length; t++)
        {
            var from = _tensors[t].Span;
            var to = target.Tensor(t).Span;
            for (var h = 0; h < Shape.Heads; h++)
            {
                from.Slice(Offset(slot, h), count * d).CopyTo(to.Slice(h * count * d, count * d));
            }
        }

        return target;
    }

    /// <summary>Positions [0, count) of one slot into another (a beam search's rows start from one prompt).</summary>
    public void CopySlot(int from, int to, int count)
    {
        var run = count * Shape.HeadDim;
        foreach (var tensor in _tensors)
        {
            var span = tensor.Span;
            for (var h = 0; h < Shape.Heads; h++)
            {
                span.Slice(Offset(from, h), run).CopyTo(span.Slice(Offset(to, h), run));
            }
        }
    }

    /// <summary>
    /// Slot first + i becomes a copy of slot first + parents[i] over positions [0, count), for every i (a beam
    /// step), through a pooled snapshot of the k slots: k reads and one write per changed slot, each
    /// layers × 2 × heads × count × head_dim floats (as the padded layout's reorder costs).
    /// </summary>
    public void Reorder(int first, ReadOnlySpan<int> parents, int count)
    {
        // Children that keep their own slot's content need nothing; the rest are written from a snapshot of the
        // parents taken before any write (a parent may feed several children).
        var k = parents.Length;
        var run = count * Shape.HeadDim;
        var perSlot = Shape.Heads * run;
        Span<bool> changes = stackalloc bool[k];
        var changed = 0;
        for (var i = 0; i < k; i++)
        {
            changes[i] = parents[i] != i;
            changed += changes[i] ? 1 : 0;
        }

        if (changed == 0)
        {
            return;
        }

        var snapshot = System.Buffers.ArrayPool<float>.Shared.Rent(k * perSlot);
        try
        {
            foreach (var tensor in _tensors)
            {
                var span = tensor.Span;
                for (var p = 0; p < k; p++)
                {
                    for (var h = 0; h < Shape.Heads; h++)
                    {
                        span.Slice(Offset(first + p, h), run).CopyTo(snapshot.AsSpan((p * perSlot) + (h * run), run));
                    }
                }

                for (var i = 0; i < k; i++)
                {
                    if (!changes[i])
                    {
                        continue;
                    }

                    for (var h = 0; h < Shape.Heads; h++)
                    {
                        snapshot.AsSpan((parents[i] * perSlot) + (h * run), run).CopyTo(span.Slice(Offset(first + i, h), run));
                    }
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(snapshot);
        }
    }

    private int Offset(int slot, int head) => ((slot * Shape.Heads) + head) * Capacity * Shape.HeadDim;
}
