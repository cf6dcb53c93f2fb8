"""Draws 400 fine-tuning batches from pipeline.sft_batches over a made-up pool and prints how the rows split
between plain text, dialogues about asked common words and other dialogues, for
SftMixTests to check against the configured shares; also checks data.dialogue_word on make_dialogue's output."""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "training"))

import torch  # noqa: E402

import data  # noqa: E402
from pipeline import sft_batches  # noqa: E402

# Each source is told apart by its tokens: text rows hold ids 100-199, a common word's dialogue starts with
# id 1, any other dialogue with id 2.
text = torch.arange(100, 200).repeat(20)
common = [([1] + [5] * 9, [False] + [True] * 9)]
encoded = [([2] + [5] * 9, [False] + [True] * 9)] * 50
batches = sft_batches(encoded, common, text, text_share=0.2, common_share=0.4,
                      text_tokens=16, block=32, batch_size=16, pad_id=0, seed=3)
counts = {"text": 0, "common": 0, "other": 0}
for step in range(400):
    x, _ = batches(step)
    for row in x.tolist():
        first = row[0]
        counts["text" if 100 <= first < 200 else "common" if first == 1 else "other"] += 1
    assert torch.equal(batches(step)[0], x), "a step's batch must not depend on what was drawn before"
total = sum(counts.values())
print(" ".join(f"{k}={v / total:.4f}" for k, v in counts.items()))

river = data.Sense("river", "noun", "a large natural stream of water", [], [])
lake = data.Sense("lake", "noun", "a body of water surrounded by land", [], [])
dialogue = data.make_dialogue(random.Random(1), "river", [river], ["lake"], {"lake": [lake]})
print(f"dialogue_word={data.dialogue_word(dialogue)}")
