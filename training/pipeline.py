"""The whole pipeline in one command:

  /usr/bin/python3 training/pipeline.py [--smoke] [--preset NAME] [--out DIR] [--device auto|cpu|cuda]
                                        [--set section.field=value ...]

Stages, each with its own progress bar: prepare the corpus, train the tokenizer, pretrain, evaluate,
fine-tune on dialogues, evaluate again, export, plot. The output folder gets data/, model/ (the
folder the engine loads, with MODEL_CARD.md, metrics.json and training_curves.png), checkpoints/ and curves.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data  # noqa: E402
import evaluate  # noqa: E402
import export  # noqa: E402
from chat_format import batch_dialogues, encode_chat  # noqa: E402
from model import GPT, GPTConfig  # noqa: E402
from model_card import write_model_card  # noqa: E402
from plot import plot_curves  # noqa: E402
from tokenizer import ENDOFTEXT, count_pretokens, train_bpe  # noqa: E402
from train import TrainSettings, train  # noqa: E402


@dataclass
class PipelineConfig:
    seed: int = 1234                  # one seed for data split, sampling and initialisation: reruns match
    heldout_words: int = 500          # WordNet words whose entries only evaluation sees
    max_entries: int | None = None    # per source; None = everything (smoke mode samples a few)
    dialogues_per_word: int = 1       # each training word gives this many dialogues (different phrasings)
    tokenizer_sample_chars: int = 20_000_000  # BPE merge statistics converge long before the whole corpus
    model: GPTConfig = field(default_factory=GPTConfig)
    pretrain: TrainSettings = field(default_factory=lambda: TrainSettings(steps=3000, batch_size=16, lr=1e-3))
    sft: TrainSettings = field(default_factory=lambda: TrainSettings(steps=800, batch_size=16, lr=3e-4,
                                                                     warmup_steps=50))
    eval_tokens: int = 100_000        # held-out tokens for perplexity
    eval_prompts: int = 200           # held-out 'What does X mean?' prompts to generate answers for
    max_new_tokens: int = 96          # an answer longer than this counts as not stopping
    threads: int = 2                  # CPU threads: the machines here have two cores


PRESETS = {
    # CI: minutes on two CPU cores; checks the stages run and learn, not quality.
    "smoke": PipelineConfig(
        heldout_words=40, max_entries=600, tokenizer_sample_chars=1_000_000,
        model=GPTConfig(vocab_size=400, n_positions=128, n_embd=64, n_layer=2, n_head=4),
        pretrain=TrainSettings(steps=150, batch_size=16, lr=3e-3, warmup_steps=20),
        sft=TrainSettings(steps=60, batch_size=16, lr=1e-3, warmup_steps=10),
        eval_tokens=8_000, eval_prompts=20, max_new_tokens=48),
    # The bundled model: what two shared CPU cores train in under an hour (time budgets, not step counts,
    # end each phase: the step rate on a machine shared with other work is unknown in advance).
    "cpu": PipelineConfig(
        # Sized for the compute: a machine shared with other builds gave ~20 GFLOP/s, ~30 TFLOP in 24 minutes,
        # for which a ~1M-parameter model is already past the compute-optimal size.
        model=GPTConfig(vocab_size=2048, n_positions=256, n_embd=128, n_layer=4, n_head=4),
        pretrain=TrainSettings(steps=100_000, batch_size=8, lr=2e-3, warmup_steps=30, max_minutes=24),
        sft=TrainSettings(steps=100_000, batch_size=16, lr=1e-3, warmup_steps=20, max_minutes=7),
        eval_tokens=40_000, eval_prompts=200, max_new_tokens=64),
    # A CUDA GPU: a larger model on all of the data; the code path is the same.
    "gpu": PipelineConfig(
        dialogues_per_word=3,
        model=GPTConfig(vocab_size=8192, n_positions=512, n_embd=512, n_layer=8, n_head=8),
        pretrain=TrainSettings(steps=20000, batch_size=64, lr=6e-4, warmup_steps=500, eval_every=2000),
        sft=TrainSettings(steps=3000, batch_size=64, lr=1e-4, warmup_steps=100),
        eval_tokens=500_000, eval_prompts=500, threads=8),
}


def apply_overrides(cfg: PipelineConfig, overrides: list[str]) -> PipelineConfig:
    """--set pretrain.steps=5000 --set model.n_layer=12: dotted field paths, values parsed as JSON."""
    for item in overrides:
        path, _, raw = item.partition("=")
        *parents, leaf = path.split(".")
        target = cfg
        for p in parents:
            target = getattr(target, p)
        if not hasattr(target, leaf):
            raise SystemExit(f"unknown setting: {path}")
        setattr(target, leaf, json.loads(raw) if raw not in ("None", "null") else None)
    return cfg


def pretrain_batches(tokens: torch.Tensor, block: int, batch_size: int, seed: int):
    gen = torch.Generator().manual_seed(seed)

    def next_batch(_step):
        starts = torch.randint(0, len(tokens) - block - 1, (batch_size,), generator=gen)
        rows = torch.stack([tokens[s:s + block + 1] for s in starts.tolist()])  # (B, block + 1)
        return rows[:, :-1], rows[:, 1:]
    return next_batch


def sft_batches(encoded: list, block: int, batch_size: int, pad_id: int, seed: int):
    rng = random.Random(seed)
    return lambda _step: batch_dialogues(rng.sample(encoded, batch_size), block, pad_id)


def tokenize_docs(tokenizer, docs: list[str], desc: str) -> torch.Tensor:
    """One stream: each document followed by <|endoftext|>, as GPT-2 separates documents."""
    eot = tokenizer.vocab[ENDOFTEXT]
    ids: list[int] = []
    for d in tqdm(docs, desc=desc, unit="doc", dynamic_ncols=True):
        ids.extend(tokenizer.encode(d))
        ids.append(eot)
    return torch.from_numpy(np.array(ids, dtype=np.int64))


def run(cfg: PipelineConfig, out: str, device: str, command: str) -> dict:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    started = time.time()
    timings, metrics = {}, {"config": dataclasses.asdict(cfg), "device": device}
    data_dir, ckpt_dir = os.path.join(out, "data"), os.path.join(out, "checkpoints")
    os.makedirs(ckpt_dir, exist_ok=True)

    t = time.time()
    with tqdm(desc="1/7 prepare corpus", unit="entry", dynamic_ncols=True) as bar:
        metrics["data"] = data.prepare(data_dir, cfg.seed, cfg.heldout_words, cfg.max_entries,
                                       cfg.dialogues_per_word, bar)
    train_docs = data.read_docs(os.path.join(data_dir, "pretrain_train.txt"))
    heldout_docs = data.read_docs(os.path.join(data_dir, "pretrain_heldout.txt"))
    timings["prepare"] = time.time() - t

    t = time.time()
    sample, size = [], 0
    for d in train_docs:  # already shuffled: the first documents are a fair sample
        if size >= cfg.tokenizer_sample_chars:
            break
        sample.append(d)
        size += len(d)
    counts = count_pretokens(sample)
    with tqdm(desc="2/7 train tokenizer", total=cfg.model.vocab_size - 259, unit="merge", dynamic_ncols=True) as bar:
        tokenizer = train_bpe(counts, cfg.model.vocab_size, bar)
    cfg.model.vocab_size = tokenizer.vocab_size  # fewer merges if the sample ran out of repeated pairs
    train_tokens = tokenize_docs(tokenizer, train_docs, "   tokenize corpus")
    heldout_tokens = tokenize_docs(tokenizer, heldout_docs, "   tokenize held-out")
    metrics["data"].update(pretrain_train_tokens=len(train_tokens), pretrain_heldout_tokens=len(heldout_tokens))
    timings["tokenizer"] = time.time() - t

    model = GPT(cfg.model).to(device)
    metrics["parameters"] = model.num_params()
    block = cfg.model.n_positions
    sft_train = data.read_jsonl(os.path.join(data_dir, "sft_train.jsonl"))
    sft_heldout = data.read_jsonl(os.path.join(data_dir, "sft_heldout.jsonl"))
    with open(os.path.join(data_dir, "heldout_words.txt"), encoding="utf-8") as f:
        prompts = f.read().split()[:cfg.eval_prompts]

    def held_out_text_ppl(desc):
        return evaluate.perplexity(model, heldout_tokens, block, cfg.eval_tokens, device, desc)

    def evaluate_all(stage):
        return {"heldout_text_perplexity": held_out_text_ppl(f"   {stage}: text perplexity"),
                "heldout_dialogue_perplexity": evaluate.dialogue_perplexity(model, tokenizer, sft_heldout, block, device),
                **evaluate.answer_quality(model, tokenizer, prompts, cfg.max_new_tokens, device)}

    t = time.time()
    curves = {"pretrain": train(model, pretrain_batches(train_tokens, block, cfg.pretrain.batch_size, cfg.seed),
                                cfg.pretrain, device, "3/7 pretrain",
                                lambda: held_out_text_ppl("   eval"))}
    timings["pretrain"] = time.time() - t
    torch.save({"config": cfg.model.to_dict(), "state": model.state_dict()}, os.path.join(ckpt_dir, "pretrained.pt"))

    t = time.time()
    print("4/7 evaluate after pretraining", flush=True)
    metrics["after_pretraining"] = evaluate_all("pretrained")
    timings["evaluate_pretrained"] = time.time() - t

    t = time.time()
    encoded = [encode_chat(tokenizer, d) for d in tqdm(sft_train, desc="   encode dialogues", unit="dialogue")]
    curves["sft"] = train(model, sft_batches(encoded, block, cfg.sft.batch_size, tokenizer.vocab[ENDOFTEXT], cfg.seed),
                          cfg.sft, device, "5/7 fine-tune")
    timings["sft"] = time.time() - t
    torch.save({"config": cfg.model.to_dict(), "state": model.state_dict()}, os.path.join(ckpt_dir, "sft.pt"))

    t = time.time()
    print("6/7 evaluate after fine-tuning", flush=True)
    metrics["after_fine_tuning"] = evaluate_all("fine-tuned")
    timings["evaluate_fine_tuned"] = time.time() - t

    t = time.time()
    with tqdm(total=1, desc="7/7 export ONNX", dynamic_ncols=True) as bar:
        export.write_model_folder(model.cpu(), tokenizer, os.path.join(out, "model"), cfg.max_new_tokens)
        bar.update(1)
    timings["export"] = time.time() - t

    for phase, settings in (("pretrain", cfg.pretrain), ("sft", cfg.sft)):
        steps = len(curves[phase]["step"])
        metrics[f"{phase}_steps"] = steps
        metrics[f"{phase}_sequences"] = steps * settings.batch_size
    metrics["pretrain_tokens_seen"] = metrics["pretrain_steps"] * cfg.pretrain.batch_size * block
    metrics["pretrain_loss"] = {"first": _mean(curves["pretrain"]["loss"][:20]), "last": _mean(curves["pretrain"]["loss"][-20:])}
    metrics["sft_loss"] = {"first": _mean(curves["sft"]["loss"][:20]), "last": _mean(curves["sft"]["loss"][-20:])}
    timings["total"] = time.time() - started
    metrics["seconds"] = timings
    metrics["hardware"] = _hardware(device)
    # The model folder is complete on its own: copy it to models/NAME to bundle it.
    model_dir = os.path.join(out, "model")
    plot_curves(curves, metrics, os.path.join(model_dir, "training_curves.png"))
    with open(os.path.join(out, "curves.json"), "w") as f:
        json.dump(curves, f)
    with open(os.path.join(model_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    write_model_card(model_dir, metrics, command)
    return metrics


def _mean(xs):
    return sum(xs) / max(1, len(xs))


def _hardware(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(0)
    return f"CPU, {torch.get_num_threads()} threads of {os.cpu_count()} cores"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="the few-minute CPU run that CI does (= --preset smoke)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="default: gpu on a CUDA device, else cpu")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs", "latest"))
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a setting, e.g. --set pretrain.steps=5000 --set model.n_layer=12")
    args = p.parse_args(argv)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    preset = "smoke" if args.smoke else args.preset or ("gpu" if device == "cuda" else "cpu")
    cfg = apply_overrides(dataclasses.replace(PRESETS[preset]), args.overrides)
    cfg.model, cfg.pretrain, cfg.sft = (dataclasses.replace(x) for x in (cfg.model, cfg.pretrain, cfg.sft))
    print(f"preset {preset} on {device}; output in {args.out}", flush=True)
    metrics = run(cfg, args.out, device, "/usr/bin/python3 training/pipeline.py " + " ".join(argv or sys.argv[1:]))
    a, b = metrics["after_pretraining"], metrics["after_fine_tuning"]
    print(f"pretrain loss {metrics['pretrain_loss']['first']:.3f} -> {metrics['pretrain_loss']['last']:.3f}; "
          f"held-out text ppl {a['heldout_text_perplexity']:.1f} -> {b['heldout_text_perplexity']:.1f}; "
          f"dialogue ppl {a['heldout_dialogue_perplexity']:.1f} -> {b['heldout_dialogue_perplexity']:.1f}; "
          f"in format {b['in_format']:.0%}, stops {b['stopped_on_im_end']:.0%}; "
          f"{metrics['seconds']['total']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
