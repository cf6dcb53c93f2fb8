namespace ChatCluster.Inference.Model;

/// <summary>
/// Keys and values of every layer for a block of rows, laid out as the model takes them: one buffer per
/// tensor (layer l's key is tensor 2l, its value 2l+1), each of shape (rows, heads, length, head_dim).
/// Used for a whole batch (the scheduler's rows, left-padded to a common length) and for one sequence alone
/// (a prompt being prefilled, or a conversation's cache kept between turns).
/// </summary>
internal sealed class KvCache
{
    private readonly PinnedBuffer<float>[] _tensors;

    public KvCache(KvShape shape, int rowCapacity = 1, int lengthCapacity = 16)
    {
        Shape = shape;
        _tensors = new PinnedBuffer<float>[shape.Layers * 2];
        for (var i = 0; i < _tensors.Length; i++)
        {
            _tensors[i] = new PinnedBuffer<float>(rowCapacity * shape.Heads * lengthCapacity * shape.HeadDim);
        }
    }

    public KvShape Shape { get; }

    public int Rows { get; private set; }

    /// <summary>Positions per row (including left padding, in a batch).</summary>
    public int Length { get; private set; }

    public int TensorCount => _tensors.Length;

    public long Bytes => (long)Rows * Length * Shape.Heads * Shape.HeadDim * sizeof(float) * _tensors.Length;

    /// <summary>Pinned memory the buffers hold, which may exceed <see cref="Bytes"/>: they grow and never shrink.</summary>
    public long CapacityBytes => _tensors.Sum(static t => (long)t.Capacity) * sizeof(float);

    public PinnedBuffer<float> Tensor(int index) => _tensors[index];

    /// <summary>Sets the shape; grows the buffers if needed. Contents are not kept.</summary>
    public void Resize(int rows, int length)
    {
        var elements = rows * Shape.Heads * length * Shape.HeadDim;
        foreach (var tensor in _tensors)
        {
            tensor.EnsureCapacity(elements);
        }

        Rows = rows;
        Length = length;
    }

    /// <summary>
    /// Sets the row count at the same length, keeping the rows below it in place (rows are the outermost
    /// dimension, so each row is one contiguous block per tensor). Grows the buffers if needed, copying once.
    /// </summary>
    public void ResizeRows(int rows)
    {
        var elements = rows * Shape.Heads * Length * Shape.HeadDim;
        var used = Rows * Shape.Heads * Length * Shape.HeadDim;
        foreach (var tensor in _tensors)
        {
            tensor.EnsureCapacity(elements, preserve: true, preserveCount: used);
        }

        Rows = rows;
    }

    /// <summary>Moves row <paramref name="from"/> of every tensor to row <paramref name="to"/> (lower; same length).</summary>
    public void MoveRow(int from, int to)
    {
        var block = Shape.Heads * Length * Shape.HeadDim;
        foreach (var tensor in _tensors)
        {
            tensor.Span.Slice(from * block, block).CopyTo(tensor.Span.Slice(to * block, block));
        }
    }

    /// <summary>
    /// Copies positions [<paramref name="sourceStart"/>, +<paramref name="count"/>) of one row of every tensor to
    /// <paramref name="target"/>'s row at <paramref name="targetStart"/>. Target must already have its shape.
    /// </summary>
    public void CopyRowTo(int sourceRow, int sourceStart, int count, KvCache target, int targetRow, int targetStart)
    {
        var d = Shape.HeadDim;
        var run = count * d;
        for (var t = 0; t < _tensors.Length; t++)
        {
            var source = _tensors[t].Span;
            var destination = target._tensors[t].Span;
            for (var h = 0; h < Shape.Heads; h++)
            {
                var from = (((sourceRow * Shape.Heads) + h) * Length + sourceStart) * d;
                var to = (((targetRow * Shape.Heads) + h) * target.Length + targetStart) * d;
                source.Slice(from, run).CopyTo(destination.Slice(to, run));
            }
        }
    }
}
