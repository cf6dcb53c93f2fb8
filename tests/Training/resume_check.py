"""Trains a tiny model for 6 steps twice: once straight through, once stopped after step 3 and resumed from its
checkpoint in a fresh process state (new model, new optimizer). Prints the largest parameter difference and the
step the resumed run started at, for TrainingResumeTests to check."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "training"))

import torch  # noqa: E402

import train  # noqa: E402
from model import build_model  # noqa: E402
from pipeline import pretrain_batches  # noqa: E402

torch.set_num_threads(1)
train.CHECKPOINT_SECONDS = 0  # a checkpoint after every step
settings = train.TrainSettings(steps=6, batch_size=4, lr=3e-3, warmup_steps=2)
tokens = torch.randint(0, 64, (4000,), generator=torch.Generator().manual_seed(1))
batches = pretrain_batches(tokens, tokens[:500], 0.5, 16, settings.batch_size, seed=7)


def fresh():
    torch.manual_seed(0)
    return build_model({"vocab_size": 64, "n_positions": 16, "n_embd": 32, "n_layer": 1, "n_head": 2})


class Stop(Exception):
    pass


def stopping_at(step_to_stop):
    def next_batch(step):
        if step == step_to_stop:
            raise Stop()
        return batches(step)
    return next_batch


with tempfile.TemporaryDirectory() as tmp:
    straight = fresh()
    train.train(straight, batches, settings, "cpu", "straight")

    checkpoint = os.path.join(tmp, "phase.pt")
    try:
        train.train(fresh(), stopping_at(3), settings, "cpu", "stopped", checkpoint=checkpoint)
    except Stop:
        pass
    started_at = torch.load(checkpoint)["step"]
    resumed = fresh()
    history = train.train(resumed, batches, settings, "cpu", "resumed", checkpoint=checkpoint)
    difference = max((a - b).abs().max().item() for a, b in zip(straight.parameters(), resumed.parameters()))
    print(f"resumed_from_step={started_at} steps={len(history['step'])} max_difference={difference:.3e}")
