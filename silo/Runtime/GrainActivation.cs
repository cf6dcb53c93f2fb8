using ChatCluster.Grains;
using Microsoft.Extensions.Logging;

namespace ChatCluster.Silo.Runtime;

/// <summary>
/// One activation of one grain: its instance, its mailbox and the message pump that runs it (as Orleans'
/// ActivationData). The pump is the activation's single owner: it activates the grain, runs the queued calls
/// one turn at a time in arrival order (or interleaved for a [Reentrant] grain), and deactivates it once asked
/// to and drained. Split by concern: .MessagePump, .Activation, .Deactivation, .Logging.
/// </summary>
internal sealed partial class GrainActivation
{
    private readonly GrainCatalog _catalog;
    private readonly GrainType _type;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    // Guards the mailbox and the counters below; held only for a few field reads and writes, never across a call.
    private readonly Lock _lock = new();
    private readonly Queue<GrainMessage> _pending = new();
    private ActivationStatus _status;
    private int _running;
    private long _idleSinceTimestamp;
    private DeactivationReason _deactivationReason;

    // Set by the pump during activation; read only by the pump and the turns it starts.
    private Grain? _grain;
    private IGrainStateBinding? _state;

    public GrainActivation(GrainCatalog catalog, GrainType type, GrainId id)
    {
        _catalog = catalog;
        _type = type;
        _logger = catalog.Logger;
        _time = catalog.Time;
        Id = id;
    }

    private enum ActivationStatus
    {
        /// <summary>In the activation table, no call received yet (a loser of a racing first call never leaves this state).</summary>
        Created,

        /// <summary>The pump is constructing the grain, reading its state and running OnActivateAsync; calls queue.</summary>
        Activating,

        /// <summary>Serving calls.</summary>
        Active,

        /// <summary>Accepts no new call; the pump runs the queued ones, then OnDeactivateAsync and the state write-back.</summary>
        Deactivating,

        /// <summary>Gone from the activation table; a call that found it here goes to a new activation.</summary>
        Deactivated,
    }

    public GrainId Id { get; }
}
