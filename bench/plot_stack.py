"""Plots stack-vs-engine.json (the bench's stack mode): tokens/s per target against concurrent streams (median,
bars from min to max over rounds); the ratio to the engine taken round by round (median, min-max) with the 0.9
goal, and (dashed) the same for tokens per CPU-second of the serving processes; tokens per CPU-second against
GenAI's bare loop (dotted, goal 1.0) where the run had the GenAI target; and TTFT p50 / inter-token p99 per target.

    python3 bench/plot_stack.py [bench/results/stack-vs-engine.json]   # writes the .png beside the .json
"""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results" / "stack-vs-engine.json")
data = json.loads(path.read_text())
levels = data["levels"]
streams = [level["streams"] for level in levels]
names = [t["name"] for t in levels[0]["targets"]]


def figure(name, key):
    """(streams, target[key]) over the levels for target name."""
    return [next(t for t in level["targets"] if t["name"] == name)[key] for level in levels]


fig, (speed, ratio, latency) = plt.subplots(1, 3, figsize=(15, 6))
for i, name in enumerate(names):
    tps = figure(name, "tokens_per_second")
    medians = [s["median"] for s in tps]
    bars = [[m - s["min"] for m, s in zip(medians, tps)], [s["max"] - m for m, s in zip(medians, tps)]]
    speed.errorbar(streams, medians, yerr=bars, marker="o", capsize=4, color=f"C{i}", label=name)
    ratios = figure(name, "ratio_to_engine")
    if all(r is not None for r in ratios):
        medians = [r["median"] for r in ratios]
        bars = [[m - r["min"] for m, r in zip(medians, ratios)], [r["max"] - m for m, r in zip(medians, ratios)]]
        ratio.errorbar(streams, medians, yerr=bars, marker="o", capsize=4, color=f"C{i}", label=f"{name} / engine, tokens/s")
        per_cpu = figure(name, "cpu_efficiency_to_engine")
        ratio.plot(streams, [r["median"] for r in per_cpu], "--", marker="^", color=f"C{i}", label=f"{name} / engine, tokens per CPU-s")
    to_genai = figure(name, "cpu_efficiency_to_gen_ai") if name != "genai" else [None]
    if all(r is not None for r in to_genai):
        ratio.plot(streams, [r["median"] for r in to_genai], ":", marker="s", color=f"C{i}", label=f"{name} / GenAI, tokens per CPU-s")
    # p99, not p50: tokens read in a burst (the reader woke after several steps) have gaps near 0, so p50 says little.
    latency.plot(streams, figure(name, "ttft_p50_ms"), "-o", color=f"C{i}", label=f"{name} TTFT p50")
    latency.plot(streams, figure(name, "itl_p99_ms"), "--s", color=f"C{i}", label=f"{name} inter-token p99")

ratio.axhline(0.9, color="grey", linestyle=":", label="goal 0.9 at 16 streams")
if "genai" in names:
    ratio.axhline(1.0, color="black", linestyle=":", linewidth=0.8, label="goal 1.0 of GenAI, tokens per CPU-s")
for ax, title, unit in ((speed, "tokens/s (median, min-max over rounds)", "tokens/s"),
                        (ratio, "x engine, round by round (median, min-max)", "ratio"),
                        (latency, "TTFT p50 and inter-token p99 over all turns", "ms")):
    ax.set_xscale("log", base=2)
    ax.set_xticks(streams, [str(s) for s in streams])
    ax.set_xlabel("concurrent streams")
    ax.set_ylabel(unit)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
# The ratio panel has the most lines: its legend goes below it, not over the data.
ratio.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
latency.set_yscale("log")
fig.suptitle(f"whole stack vs engine, {data['model']} at {data['commit']}; {data['machine']}", fontsize=10)
fig.tight_layout()
out = path.with_suffix(".png")
fig.savefig(out, dpi=110)
print(f"wrote {out}")
