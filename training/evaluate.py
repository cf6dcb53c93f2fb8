"""Evaluation on held-out data: perplexity of held-out dictionary text and of held-out dialogues'
assistant turns, and, by generating answers to held-out prompts, how often the model answers in
format ('word (part of speech): definition.') and stops on its own <|im_end|>."""
from __future__ import annotations

import math
import re
from collections import Counter

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


IN_FORMAT = re.compile(r"^(?P<word>[^()\n]+) \((noun|verb|adjective|adverb)\): (?P<definition>\S.*)\.$", re.S)
_WORD = re.compile(r"[a-z0-9]+")


def question(word: str, i: int) -> str:
    """The two phrasings the quality goal names, alternating over the word list."""
    return f"What does {word} mean?" if i % 2 == 0 else f"Define {word}."


def token_f1(answer: str, reference: str) -> float:
    """SQuAD-style token F1: lower-cased words, counted with multiplicity."""
    a, r = _WORD.findall(answer.lower()), _WORD.findall(reference.lower())
    common = sum((Counter(a) & Counter(r)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(a), common / len(r)
    return 2 * precision * recall / (precision + recall)


@torch.no_grad()
def answer_quality(model, tokenizer: Tokenizer, words: list[str], glosses: dict[str, list[str]], max_new_tokens: int,
                   device, samples: int = 8) -> dict:
    """Greedy answers to "What does X mean?" / "Define X." (alternating): the share in the trained shape
    ('word (part of speech): definition.'), the share of those that also name the asked word, the share that
    end with <|im_end|>, and the mean token F1 of the definition (the whole answer when out of format) against
    the closest WordNet definition of the word."""
    model.eval()
    im_end, eot = tokenizer.vocab[IM_END], tokenizer.vocab[ENDOFTEXT]
    in_format = names_word = stopped = 0
    f1_total = 0.0
    examples = []
    for i, word in enumerate(tqdm(words, desc="questions", unit="prompt", leave=False)):
        asked = question(word, i)
        prompt = render_chat([{"role": "user", "content": asked}], add_generation_prompt=True)
        ids = torch.tensor([tokenizer.encode_with_specials(prompt)], device=device)
        new = model.generate(ids, max_new_tokens, stop_ids=(im_end, eot))
        ended = bool(new) and new[-1] == im_end
        text = tokenizer.decode(new[:-1] if ended else new)
        match = IN_FORMAT.match(text)
        in_format += bool(match)
        names_word += bool(match and match.group("word").lower() == word.lower())
        stopped += ended
        definition = match.group("definition") if match else text
        f1 = max((token_f1(definition, g) for g in glosses[word]), default=0.0)
        f1_total += f1
        if len(examples) < samples:
            examples.append({"prompt": asked, "answer": text, "stopped": ended, "f1": round(f1, 3)})
    n = max(1, len(words))
    return {"in_format": in_format / n, "names_the_word": names_word / n, "stopped_on_im_end": stopped / n,
            "gloss_f1": f1_total / n, "prompts": len(words), "examples": examples}
