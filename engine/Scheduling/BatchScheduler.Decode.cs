using System.Diagnostics;

namespace ChatCluster.Inference.Scheduling;

public sealed partial class BatchScheduler
{
    /// <summary>One model call for every row, then each sequence picks its next token.</summary>
    private void Decode()
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            _batch.Step();
            Interlocked.Add(ref _modelTicks, Stopwatch.GetTimestamp() - started);
        }
        catch (Exception error)
        {
            // The batch's call failed: every row in it is lost, and only those sequences end.
            foreach (var s in _batch.Sequences)
            {
                s.Fail(error);
            }

            return;
        }

        var row = 0;
        Span<int> parents = stackalloc int[Sampling.SamplingLimits.MaxBeamWidth];
        foreach (var s in _batch.Sequences)
        {
            try
            {
                if (s.Beam is { } beam)
                {
                    var k = beam.Width;
                    s.MaskBeams(_batch.BlockLogits(row, k), _model.VocabSize);
                    beam.Step(_batch.BlockLogits(row, k), parents[..k], s.NextTokens);
                    s.AcceptBeams(parents[..k], s.NextTokens);
                    _batch.ReorderBeams(row, parents[..k]);
                    if (beam.Done)
                    {
                        s.FinishBeam();
                    }
                }
                else if (!s.IsDone)
                {
                    s.Accept(s.PickNext(_batch.RowLogits(row)));
                }
            }
            catch (InvalidOperationException error) when (s.Constraints is not null)
            {
                // An output constraint that cannot go on ends only its own sequence, never the loop.
                s.Fail(error);
            }

            row += s.Rows;
        }
    }
}
