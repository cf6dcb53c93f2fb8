"""Training curves as a PNG: pretraining and fine-tuning loss per step (raw and smoothed), with the
held-out text perplexity and the common-word F1 before and after fine-tuning in the title once known."""
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
    """Draws the phases present so far: the pipeline redraws it at every checkpoint while training runs."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (name, title) in zip(axes, [("pretrain", "pretraining"), ("sft", "fine-tuning (assistant tokens + text)")]):
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy (nats)")
        ax.grid(alpha=0.3)
        c = curves.get(name)
        if not c or not c["step"]:
            continue
        ax.plot(c["step"], c["loss"], alpha=0.3, label="loss per step")
        ax.plot(c["step"], _smooth(c["loss"]), label="smoothed")
        ax.legend()
    if "after_fine_tuning" in metrics:
        a, b = metrics["after_pretraining"], metrics["after_fine_tuning"]
        fig.suptitle(f"held-out text perplexity {a['heldout_text_perplexity']:.1f} → {b['heldout_text_perplexity']:.1f}; "
                     f"common-word gloss F1 (never asked) {a['common_never_asked']['gloss_f1']:.2f} → "
                     f"{b['common_never_asked']['gloss_f1']:.2f}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
