namespace ChatCluster.Inference.Scheduling;

/// <summary>Where a sequence is in its life; only the scheduler loop changes it.</summary>
internal enum SequenceState
{
    /// <summary>In the bounded queue; holds no cache yet.</summary>
    Queued,

    /// <summary>Its prompt is being run through the model a chunk per step, in its own cache.</summary>
    Prefilling,

    /// <summary>Prompt done and first token picked; joins the batch's rows at the next rebuild.</summary>
    Joining,

    /// <summary>Has rows in the batch: one token per step.</summary>
    Running,

    /// <summary>Ended by an end token, a stop string, its token limit or the context window.</summary>
    Finished,

    /// <summary>The caller went away or cancelled; its rows are freed at the start of the next step.</summary>
    Cancelled,
}
