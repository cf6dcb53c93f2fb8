"""Plots bench.json: tokens/s against concurrent sequences, engine and PyTorch peer side by side."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

data = json.load(open(sys.argv[1]))
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
for engine in sorted({level["engine"] for level in data["levels"]}):
    rows = [level for level in data["levels"] if level["engine"] == engine]
    xs = [r["concurrency"] for r in rows]
    left.plot(xs, [r["tokens_per_second"] for r in rows], marker="o", label=engine)
    right.plot(xs, [r["step_ms"] for r in rows], marker="o", label=engine)
for axis, label in ((left, "tokens / s"), (right, "ms per decode step")):
    axis.set_xscale("log", base=2)
    axis.set_xlabel("concurrent sequences")
    axis.set_ylabel(label)
    axis.grid(alpha=0.3)
    axis.legend()
fig.suptitle(f"{data['model']}: prompt {data['prompt_tokens']}, {data['generated_tokens']} tokens each ({data['machine']})", fontsize=9)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
