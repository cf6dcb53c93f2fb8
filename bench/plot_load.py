"""Plots load-*.json: per silo, RSS (solid), GC heap (dashed), pinned heap (dash-dot) and KV cache (dotted) over
time; conversation activations per silo; and tokens/s."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

data = json.load(open(sys.argv[1]))
samples = data["samples"]
minutes = [s["seconds"] / 60 for s in samples]
fig, (memory, activations, throughput) = plt.subplots(3, 1, figsize=(9, 8), sharex=True, gridspec_kw={"height_ratios": [3, 1, 1]})


def series(i, key):
    """(minute, value) of silo i's key, leaving out samples where the silo did not answer."""
    return [(m, s["silos"][i][key]) for m, s in zip(minutes, samples) if s["silos"][i][key] is not None]


for i, silo in enumerate(samples[0]["silos"]):
    color = f"C{i}"
    name = silo["silo"]
    lines = (("rss_mb", "-", "RSS"), ("gc_heap_mb", "--", "GC heap"), ("pinned_heap_mb", "-.", "pinned heap"), ("kv_cache_mb", ":", "KV cache"))
    for key, style, label in lines:
        if points := series(i, key):
            memory.plot(*zip(*points), style, color=color, marker="o" if style == "-" else None, markersize=3, label=f"{name} {label}")
    if points := series(i, "conversation_activations"):
        activations.plot(*zip(*points), "-", color=color, marker="o", markersize=3, label=name)
redis = [(m, s["redis_rss_mb"]) for m, s in zip(minutes, samples) if s["redis_rss_mb"] is not None]
if redis:
    memory.plot(*zip(*redis), "-", color="grey", alpha=0.5, label="redis-server RSS")
memory.set_ylabel("MB")
memory.legend(fontsize=7, ncol=2)
activations.set_ylabel("conversation\nactivations")
activations.legend(fontsize=7)
# The first sample is the idle baseline: it has no interval of turns behind it.
throughput.plot(minutes[1:], [s["tokens_per_second"] for s in samples[1:]], marker="o", markersize=3, color="black")
throughput.set_ylabel("tokens / s")
throughput.set_xlabel("minutes since the clients started")
for axis in (memory, activations, throughput):
    axis.set_ylim(bottom=0)
    axis.grid(alpha=0.3)
env = " ".join(f"{k}={v}" for k, v in data["silo_environment"].items())
fig.suptitle(f"{data['model']}: {data['clients']} streaming clients on {len(samples[0]['silos'])} silo(s), a new conversation every "
             f"{data['turns_per_conversation']} turns of {data['tokens']} tokens{' (' + env + ')' if env else ''}\n({data['machine']})", fontsize=9)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
