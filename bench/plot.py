"""Plots bench.json: per model, tokens/s against concurrent sequences for every engine (median, min-max bars),
and each engine variant's round-by-round ratio to the engines after it."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

data = json.load(open(sys.argv[1]))
models = data["models"]
fig, axes = plt.subplots(len(models), 2, figsize=(11, 4 * len(models)), squeeze=False)
for (left, right), model in zip(axes, models):
    for engine in dict.fromkeys(level["engine"] for level in model["levels"]):
        rows = [level for level in model["levels"] if level["engine"] == engine]
        xs = [r["concurrency"] for r in rows]
        ys = [r["tokens_per_second"] for r in rows]
        err = [[y - r["tokens_per_second_min"] for y, r in zip(ys, rows)], [r["tokens_per_second_max"] - y for y, r in zip(ys, rows)]]
        left.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=engine)
    for pair in dict.fromkeys((r["engine"], r["versus"]) for r in model["ratios"]):
        rows = [r for r in model["ratios"] if (r["engine"], r["versus"]) == pair]
        xs = [r["concurrency"] for r in rows]
        ys = [r["median"] for r in rows]
        err = [[y - r["min"] for y, r in zip(ys, rows)], [r["max"] - y for y, r in zip(ys, rows)]]
        right.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=" / ".join(pair))
    right.axhline(1.0, color="grey", linewidth=0.8)
    left.set_title(f"{model['model']} ({model['parameters']})", fontsize=9)
    right.set_title("ratio, round by round (median, min-max)", fontsize=9)
    for axis, label in ((left, "tokens / s"), (right, "tokens/s ratio")):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("concurrent sequences")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    left.set_yscale("log")
    right.set_yscale("log")
fig.suptitle(f"prompt {data['prompt_tokens']}, {data['generated_tokens']} greedy tokens each, {data['threads']} intra-op threads; "
             f"{data['machine']}; commit {data['commit']}", fontsize=8)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
