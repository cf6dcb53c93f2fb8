"""Trains and exports a test-size model in minutes, apart from the pipeline's stages and evaluation: the
committed tests/data/tiny-llama (Llama style: RMSNorm, RoPE, grouped-query attention, SwiGLU), and the
quick end-to-end check of the Llama training/export path in tests/Training.

  /usr/bin/python3 training/make_test_model.py --out tests/data/tiny-llama

It reuses tests/data/tiny-model's tokenizer (so both test models share ids and the ChatML template), takes a
seeded sample of WordNet words, pretrains on their definitions ('word (noun): definition.') and fine-tunes on
dialogues about them (data.make_dialogue, chat_format), with train.train; then export.write_model_folder
writes the model folder (checking the graph for baked-in sizes and running onnx.checker).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data  # noqa: E402
import export  # noqa: E402
import fused_graph  # noqa: E402
from chat_format import batch_dialogues, encode_chat  # noqa: E402
from model import build_model  # noqa: E402
from tokenizer import ENDOFTEXT, Tokenizer  # noqa: E402
from train import TrainSettings, train  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER = os.path.join(ROOT, "tests", "data", "tiny-model", "tokenizer.json")
SEED = 1234
BATCH = 16
TINY_LLAMA = {"arch": "llama", "n_positions": 128, "n_embd": 64, "n_layer": 2, "n_head": 4, "n_kv_head": 2}


def make(out: str, model_cfg: dict, pretrain_steps: int, sft_steps: int, words: int) -> dict:
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    tokenizer = Tokenizer.load(TOKENIZER)
    eot = tokenizer.vocab[ENDOFTEXT]
    model = build_model({**model_cfg, "vocab_size": tokenizer.vocab_size})
    block = model.config.n_positions

    wordnet = data.read_wordnet()
    sample = rng.sample(sorted(w for w in wordnet if w.isalpha() and w.islower() and 3 <= len(w) <= 14), words)
    text = []  # every word's definitions, one document each, separated by <|endoftext|>
    for w in sample:
        text += tokenizer.encode("\n".join(data.answer_definition(s) for s in wordnet[w])) + [eot]
    text = torch.tensor(text)
    dialogues = [encode_chat(tokenizer, data.make_dialogue(rng, w, wordnet[w], sample, wordnet)) for w in sample]

    def text_batch(step):
        starts = torch.randint(0, len(text) - block - 1, (BATCH,), generator=torch.Generator().manual_seed(step))
        rows = torch.stack([text[i:i + block + 1] for i in starts.tolist()])  # (B, block + 1)
        return rows[:, :-1], rows[:, 1:]

    def dialogue_batch(step):
        return batch_dialogues(random.Random(step).sample(dialogues, BATCH), block, eot)

    pretrain = train(model, text_batch, TrainSettings(steps=pretrain_steps, batch_size=BATCH, lr=3e-3, warmup_steps=20),
                     "cpu", "pretrain")
    sft = train(model, dialogue_batch, TrainSettings(steps=sft_steps, batch_size=BATCH, lr=1e-3, warmup_steps=10),
                "cpu", "fine-tune")
    export.write_model_folder(model, tokenizer, out, max_new_tokens=48)
    fused_graph.build_folder(out)  # model.fused.onnx beside model.onnx, as the pipeline writes it
    summary = {"parameters": model.num_params(), "config": model.config.to_dict(),
               "pretrain_loss": [pretrain["loss"][0], pretrain["loss"][-1]], "sft_loss": [sft["loss"][0], sft["loss"][-1]]}
    print(json.dumps(summary), flush=True)
    return summary


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--pretrain-steps", type=int, default=800)
    p.add_argument("--sft-steps", type=int, default=500)
    p.add_argument("--words", type=int, default=3000, help="WordNet words to learn definitions and dialogues of")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    make(args.out, TINY_LLAMA, args.pretrain_steps, args.sft_steps, args.words)


if __name__ == "__main__":
    main()
