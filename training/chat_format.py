"""The ChatML layout of a dialogue, identical to the chat template written to tokenizer_config.json:

  <|im_start|>{role}\\n{content}<|im_end|>\\n      for each message
  <|im_start|>assistant\\n                          the generation prompt

Fine-tuning learns only the assistant's tokens: each reply's content and its closing <|im_end|>,
so that the model learns to stop on its own.
"""
from __future__ import annotations

import torch

from tokenizer import IM_END, IM_START, Tokenizer
from train import IGNORE


def render_chat(messages: list[dict], add_generation_prompt: bool = False) -> str:
    text = "".join(f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n" for m in messages)
    return text + (f"{IM_START}assistant\n" if add_generation_prompt else "")


def encode_chat(tokenizer: Tokenizer, messages: list[dict]) -> tuple[list[int], list[bool]]:
    """Token ids of the rendered dialogue and, per id, whether the loss applies to it.

    The pieces are encoded one by one (each message's header, its content, the separator). Special tokens
    cut the text into independent segments, and the pre-tokenizer splits at the newline after the role as long
    as the content does not itself start with whitespace ("\n\nHi" would merge with that newline): then this
    gives the ids the engine's ChatTemplate gives, which encodes each stretch between control tokens as one
    string, as Hugging Face does. No dialogue the pipeline makes starts with whitespace."""
    ids, learn = [], []

    def add(piece_ids, trained):
        ids.extend(piece_ids)
        learn.extend([trained] * len(piece_ids))

    im_start, im_end = tokenizer.special_ids[IM_START], tokenizer.special_ids[IM_END]
    for m in messages:
        is_reply = m["role"] == "assistant"
        add([im_start] + tokenizer.encode(m["role"] + "\n"), False)
        add(tokenizer.encode(m["content"]) + [im_end], is_reply)
        add(tokenizer.encode("\n"), False)
    return ids, learn


def batch_dialogues(encoded: list[tuple[list[int], list[bool]]], block: int, pad_id: int):
    """Right-padded (x, y): y is the next token where the loss applies (assistant tokens), else IGNORE."""
    rows = [(ids[:block + 1], learn[:block + 1]) for ids, learn in encoded]
    width = max(len(ids) for ids, _ in rows) - 1
    x = torch.full((len(rows), width), pad_id, dtype=torch.long)
    y = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    for r, (ids, learn) in enumerate(rows):
        t = torch.tensor(ids)
        x[r, :len(ids) - 1] = t[:-1]
        y[r, :len(ids) - 1] = torch.where(torch.tensor(learn[1:]), t[1:], torch.tensor(IGNORE))
    return x, y
