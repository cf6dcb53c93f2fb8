"""Training curves as a PNG: pretraining and fine-tuning loss per step (raw and smoothed), with the
held-out perplexities before and after fine-tuning in the title."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display on build machines
import matplotlib.pyplot as plt  # noqa: E402


def _smooth(xs, window=50):
    out, total = [], 0.0
    for i, x in enumerate(xs):
        total += x
        if i >= window:
            total -= xs[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_curves(curves: dict, metrics: dict, path: str) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (name, title) in zip(axes, [("pretrain", "pretraining"), ("sft", "fine-tuning (assistant tokens)")]):
        c = curves[name]
        ax.plot(c["step"], c["loss"], alpha=0.3, label="loss per step")
        ax.plot(c["step"], _smooth(c["loss"]), label="smoothed")
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy (nats)")
        ax.grid(alpha=0.3)
        ax.legend()
    a, b = metrics["after_pretraining"], metrics["after_fine_tuning"]
    fig.suptitle(f"held-out text perplexity {a['heldout_text_perplexity']:.1f} → {b['heldout_text_perplexity']:.1f}, "
                 f"held-out dialogue perplexity {a['heldout_dialogue_perplexity']:.1f} → "
                 f"{b['heldout_dialogue_perplexity']:.1f}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
