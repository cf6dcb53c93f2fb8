"""One training loop for both pretraining and fine-tuning: AdamW, linear warm-up then cosine decay,
gradient clipping, a tqdm bar, and a loss history for the curves."""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from tqdm import tqdm

IGNORE = -100  # target id whose position the loss skips (prompt tokens, padding)


@dataclass
class TrainSettings:
    steps: int
    batch_size: int
    lr: float = 1e-3            # small models tolerate (and need) a high peak rate
    min_lr_ratio: float = 0.1   # cosine decays to this fraction of lr
    warmup_steps: int = 100     # Adam's moment estimates are noisy for the first steps
    weight_decay: float = 0.1   # on matrices only, as in GPT-2 / nanoGPT
    grad_clip: float = 1.0      # guards against the odd exploding batch
    eval_every: int = 0         # 0: evaluate only at the end
    max_minutes: float | None = None  # wall-clock budget: on a shared CPU the step rate is unknown in advance,
                                      # so the schedule decays by whichever of steps or time runs out first


def progress_at(step: int, elapsed: float, s: TrainSettings) -> float:
    """Fraction of the run done: by steps, or by time when a time budget is set and tighter."""
    by_steps = step / s.steps
    return max(by_steps, elapsed / (60 * s.max_minutes)) if s.max_minutes else by_steps


def lr_at(step: int, progress: float, s: TrainSettings) -> float:
    if step < s.warmup_steps:
        return s.lr * (step + 1) / s.warmup_steps
    return s.lr * (s.min_lr_ratio + (1 - s.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def make_optimizer(model, s: TrainSettings):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": s.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=s.lr, betas=(0.9, 0.95))


def lm_loss(model, x, y):
    logits, _ = model(x)  # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE)


CHECKPOINT_SECONDS = 300  # a killed run loses at most this much work


def train(model, next_batch: Callable[[int], tuple], s: TrainSettings, device, desc: str,
          evaluate: Callable[[], float] | None = None, checkpoint: str | None = None,
          on_checkpoint: Callable[[dict], None] | None = None) -> dict:
    """next_batch(step) -> (x, y) on the CPU, the same batch for the same step (so a resumed run sees what an
    uninterrupted one would). Returns {"step": [...], "loss": [...], "eval": [(step, value)], "seconds"}.
    Time spent in evaluate() counts against max_minutes too.

    checkpoint: a file holding the model, optimizer, history and elapsed time, written every CHECKPOINT_SECONDS
    and at the end (then marked done); if it exists, training resumes from it (a done phase just loads it).
    on_checkpoint(history) runs after each write, e.g. to redraw the curves."""
    model.train()
    opt = make_optimizer(model, s)
    history = {"step": [], "loss": [], "eval": [], "seconds": 0.0}
    first, spent = 0, 0.0
    if checkpoint and os.path.exists(checkpoint):
        state = torch.load(checkpoint, map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        history, first, spent = state["history"], state["step"], state["elapsed"]
        if state["done"]:
            model.eval()
            return history
        print(f"{desc}: resuming at step {first} ({spent / 60:.1f} min done)", flush=True)

    def save(step: int, done: bool):
        if checkpoint:
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "history": history,
                        "step": step, "elapsed": time.time() - start, "done": done}, checkpoint + ".tmp")
            os.replace(checkpoint + ".tmp", checkpoint)  # a kill mid-write keeps the previous checkpoint
            if on_checkpoint is not None:
                on_checkpoint(history)

    start = time.time() - spent
    saved = time.time()
    bar = tqdm(range(first, s.steps), initial=first, total=s.steps, desc=desc, unit="step", dynamic_ncols=True)
    for step in bar:
        progress = progress_at(step, time.time() - start, s)
        if progress >= 1.0:
            break  # time budget spent; the learning rate has already decayed to its floor
        lr = lr_at(step, progress, s)
        for group in opt.param_groups:
            group["lr"] = lr
        x, y = (t.to(device, non_blocking=True) for t in next_batch(step))
        loss = lm_loss(model, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
        opt.step()
        value = loss.item()  # a device sync each step; cheap next to the step itself at these sizes
        history["step"].append(step)
        history["loss"].append(value)
        bar.set_postfix(loss=f"{value:.3f}", lr=f"{lr:.1e}")
        if evaluate is not None and s.eval_every and (step + 1) % s.eval_every == 0 and step + 1 < s.steps:
            history["eval"].append((step + 1, evaluate()))
            model.train()
        if time.time() - saved >= CHECKPOINT_SECONDS:
            history["seconds"] = time.time() - start
            save(step + 1, done=False)
            saved = time.time()
    bar.close()
    if evaluate is not None:
        history["eval"].append((len(history["step"]), evaluate()))
    model.eval()
    history["seconds"] = time.time() - start
    save(len(history["step"]), done=True)
    return history
