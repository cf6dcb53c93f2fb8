"""Plots the roles mode's results (bench/results/roles/): turn-2 TTFT (p50, mean, p99) with cache routing and with
random routing, on a quiet and on a loaded machine; and the front+inference split's tokens/s over the all silo's,
round by round, with the 0.9 goal.

    python3 bench/plot_roles.py [bench/results/roles]   # writes roles.png in that folder
"""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

folder = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results" / "roles")


def load(sub, name):
    return json.loads((folder / sub / name).read_text())


fig, (ttft, hop) = plt.subplots(1, 2, figsize=(13, 4.5))
bars, labels = [], []
for machine in ("quiet", "loaded"):
    cache = load(f"{machine}-8x512", "roles-cache.json")
    for target in cache["targets"]:
        bars.append([target["ttft_p50_ms"], target["ttft_mean_ms"], target["ttft_p99_ms"]])
        labels.append(f"{target['name']}\n{machine}")
width = 0.25
for i, stat in enumerate(("p50", "mean", "p99")):
    ttft.bar([x + (i - 1) * width for x in range(len(bars))], [b[i] for b in bars], width, label=stat)
ttft.set_xticks(range(len(bars)), labels)
ttft.set_ylabel("turn-2 TTFT (ms)")
ttft.set_title("Turn 2 after a ~460-token opening: an 8 x 512 model, 2 inference silos")
ttft.legend()

for machine, marker in (("quiet", "o"), ("loaded", "s")):
    rounds = load(machine, "roles-hop.json")["targets"]
    ratios = [s["tokens_per_second"] / a["tokens_per_second"] for a, s in zip(rounds[0]["rounds"], rounds[1]["rounds"])]
    hop.plot(range(1, len(ratios) + 1), ratios, marker=marker, label=f"{machine} machine")
hop.axhline(0.9, color="gray", linestyle="--", label="goal 0.9")
hop.set_xlabel("round")
hop.set_xticks(range(1, 6))
hop.set_ylabel("front+inference tokens/s / all tokens/s")
hop.set_title("The extra hop: 16 streams, bundled model, one process each")
hop.legend()
fig.tight_layout()
out = folder / "roles.png"
fig.savefig(out, dpi=110)
print(f"wrote {out}")
