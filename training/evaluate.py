"""Evaluation on held-out data: perplexity of held-out dictionary text and of held-out dialogues'
assistant turns, and, by generating answers to held-out prompts, how often the model answers in
format ('word (part of speech): definition.') and stops on its own <|im_end|>."""
from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F
from tqdm import tqdm

from chat_format import batch_dialogues, encode_chat, render_chat
from tokenizer import ENDOFTEXT, IM_END, Tokenizer
from train import IGNORE


@torch.no_grad()
def perplexity(model, tokens: torch.Tensor, block: int, max_tokens: int, device, desc: str) -> float:
    """exp(mean next-token loss) over consecutive windows of the held-out token stream."""
    model.eval()
    n = min(len(tokens) - 1, max_tokens)
    total, count = 0.0, 0
    for start in tqdm(range(0, n - 1, block), desc=desc, unit="window", leave=False):
        chunk = tokens[start:min(start + block + 1, n + 1)].to(device)
        logits, _ = model(chunk[None, :-1])
        total += F.cross_entropy(logits[0], chunk[1:], reduction="sum").item()
        count += len(chunk) - 1
    return math.exp(total / max(1, count))


@torch.no_grad()
def dialogue_perplexity(model, tokenizer: Tokenizer, dialogues: list, block: int, device, batch: int = 16) -> float:
    model.eval()
    encoded = [encode_chat(tokenizer, d) for d in dialogues]
    total, count = 0.0, 0
    for i in tqdm(range(0, len(encoded), batch), desc="dialogue perplexity", unit="batch", leave=False):
        x, y = (t.to(device) for t in batch_dialogues(encoded[i:i + batch], block, tokenizer.vocab[ENDOFTEXT]))
        logits, _ = model(x)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE,
                                 reduction="sum").item()
        count += int((y != IGNORE).sum())
    return math.exp(total / max(1, count))


IN_FORMAT = re.compile(r"^(?P<word>[^()\n]+) \((noun|verb|adjective|adverb)\): \S.*\.$", re.S)


@torch.no_grad()
def answer_quality(model, tokenizer: Tokenizer, words: list[str], max_new_tokens: int, device, samples: int = 8) -> dict:
    """Greedy answers to 'What does X mean?' for held-out words: the share in the trained shape, the share
    of those that also name the asked word (copying an unseen word through its BPE pieces is the hard part
    for a small model), and the share that end with <|im_end|>."""
    model.eval()
    im_end, eot = tokenizer.vocab[IM_END], tokenizer.vocab[ENDOFTEXT]
    in_format = names_word = stopped = 0
    examples = []
    for word in tqdm(words, desc="held-out prompts", unit="prompt", leave=False):
        prompt = render_chat([{"role": "user", "content": f"What does {word} mean?"}], add_generation_prompt=True)
        ids = torch.tensor([tokenizer.encode_with_specials(prompt)], device=device)
        new = model.generate(ids, max_new_tokens, stop_ids=(im_end, eot))
        ended = bool(new) and new[-1] == im_end
        text = tokenizer.decode(new[:-1] if ended else new)
        match = IN_FORMAT.match(text)
        in_format += bool(match)
        names_word += bool(match and match.group("word").lower() == word.lower())
        stopped += ended
        if len(examples) < samples:
            examples.append({"prompt": f"What does {word} mean?", "answer": text, "stopped": ended})
    n = max(1, len(words))
    return {"in_format": in_format / n, "names_the_word": names_word / n, "stopped_on_im_end": stopped / n,
            "prompts": len(words), "examples": examples}
