"""The whole pipeline in one command:

  /usr/bin/python3 training/pipeline.py [--smoke] [--preset NAME] [--out DIR] [--device auto|cpu|cuda]
                                        [--set section.field=value ...] [--resume]

Stages, each with its own progress bar: prepare the corpus, train the tokenizer, pretrain, evaluate,
fine-tune on dialogues, evaluate again, export (model.onnx, the fused model.fused.onnx, and llama.cpp's
model.f32.gguf for GPT-2 runs),
plot. The output folder gets data/, model/ (the
folder the engine loads, with MODEL_CARD.md, metrics.json and training_curves.png), checkpoints/ and curves.json
(curves.json and training_curves.png are rewritten at every checkpoint while training runs).
--resume continues a run that was stopped: the prepared data, the tokenizer and each phase's checkpoint are
reused, and training goes on from the last checkpoint (at most CHECKPOINT_SECONDS of work is lost).
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

# Idle OpenMP threads sleep instead of spinning: on two cores shared with other work, a training step took
# 1.07 s with this and 3.09 s without (4 x 128 model, batch 8 x 256, load average ~12).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data  # noqa: E402
import evaluate  # noqa: E402
import export  # noqa: E402
import fused_graph  # noqa: E402
import gguf_export  # noqa: E402
from chat_format import batch_dialogues, encode_chat  # noqa: E402
from llama_model import LlamaConfig  # noqa: E402
from model import GPTConfig, build_model  # noqa: E402
from model_card import write_model_card  # noqa: E402
from plot import plot_curves  # noqa: E402
from tokenizer import ENDOFTEXT, Tokenizer, count_pretokens, train_bpe  # noqa: E402
from train import TrainSettings, train  # noqa: E402


@dataclass
class PipelineConfig:
    seed: int = 1234                  # one seed for data split, sampling and initialisation: reruns match
    heldout_words: int = 500          # WordNet words whose entries only evaluation sees
    max_entries: int | None = None    # per source; None = everything (smoke mode samples a few)
    dialogues_per_word: int = 1       # each training word gives this many dialogues (different phrasings)
    common_words: int = 1000          # the corpora's most frequent WordNet words (data.common_words): the quality goal
    common_heldout: int = 200         # of those, never asked in fine-tuning (their dictionary text stays in pretraining)
    common_dialogues_per_word: int = 4  # fine-tuning dialogues per asked common word
    focus_senses: int = 2             # leading WordNet senses of each common word in its pretraining "focus" document
    focus_share: float = 0.4          # share of pretraining rows drawn from the focus documents: repeated until memorised
    sft_text_share: float = 0.2       # share of fine-tuning rows that are plain pretraining text (loss on every token),
                                      # so that fine-tuning does not unlearn plain text
    sft_common_share: float = 0.6     # share of fine-tuning rows that are dialogues about asked common words
                                      # (otherwise 4% of the dialogues, each seen about once)
    sft_text_tokens: int = 96         # length of those rows: about a dialogue's, so batches stay short
    tokenizer_sample_chars: int = 20_000_000  # BPE merge statistics converge long before the whole corpus
    model: GPTConfig = field(default_factory=GPTConfig)
    pretrain: TrainSettings = field(default_factory=lambda: TrainSettings(steps=3000, batch_size=16, lr=1e-3))
    sft: TrainSettings = field(default_factory=lambda: TrainSettings(steps=800, batch_size=16, lr=3e-4,
                                                                     warmup_steps=50))
    eval_tokens: int = 100_000        # held-out tokens for perplexity
    eval_prompts: int = 200           # questions per evaluated word set (rare held-out, common asked, common never asked)
    max_new_tokens: int = 96          # an answer longer than this counts as not stopping
    threads: int = 2                  # CPU threads: the machines here have two cores


PRESETS = {
    # CI: minutes on two CPU cores; checks the stages run and learn, not quality.
    "smoke": PipelineConfig(
        heldout_words=40, max_entries=600, tokenizer_sample_chars=1_000_000, common_words=60, common_heldout=12,
        model=GPTConfig(vocab_size=400, n_positions=128, n_embd=64, n_layer=2, n_head=4),
        pretrain=TrainSettings(steps=150, batch_size=16, lr=3e-3, warmup_steps=20),
        sft=TrainSettings(steps=60, batch_size=16, lr=1e-3, warmup_steps=10),
        eval_tokens=8_000, eval_prompts=20, max_new_tokens=48),
    # The bundled model: what two shared CPU cores train in under an hour (time budgets, not step counts,
    # end each phase: the step rate on a machine shared with other work is unknown in advance).
    "cpu": PipelineConfig(
        # Sized for the compute: two shared cores train this 1.1M-parameter model at ~3,000 tokens/s; 4 x 192
        # (2.2M) ran at ~970 and 4 x 256 at ~490, too slow to see the common words' senses often enough.
        model=GPTConfig(vocab_size=2048, n_positions=256, n_embd=128, n_layer=4, n_head=4),
        pretrain=TrainSettings(steps=100_000, batch_size=8, lr=2e-3, warmup_steps=30, max_minutes=70),
        sft=TrainSettings(steps=100_000, batch_size=16, lr=5e-4, warmup_steps=20, max_minutes=15),
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
    """--set pretrain.steps=5000 --set model.n_layer=12: dotted field paths, values parsed as JSON.
    --set 'model.arch="llama"' switches to the Llama-style decoder (keeping the sizes set so far), whose own
    fields (model.n_kv_head, model.rope_theta, ...) can then be set too."""
    if any(item.replace(" ", "") in ('model.arch="llama"', "model.arch='llama'") for item in overrides):
        cfg.model = LlamaConfig(**{k: v for k, v in dataclasses.asdict(cfg.model).items() if k != "arch"})
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


def _step_seed(seed: int, step: int) -> int:
    return seed * 1_000_003 + step  # each step's batch depends only on the step: a resumed run sees the same data


def pretrain_batches(tokens: torch.Tensor, focus: torch.Tensor, focus_share: float, block: int, batch_size: int,
                     seed: int):
    """Windows of block + 1 tokens from the corpus, or with probability focus_share from the focus documents."""
    def next_batch(step):
        gen = torch.Generator().manual_seed(_step_seed(seed, step))
        rows = []
        for from_focus in (torch.rand(batch_size, generator=gen) < focus_share).tolist():
            stream = focus if from_focus else tokens
            start = int(torch.randint(0, len(stream) - block - 1, (1,), generator=gen))
            rows.append(stream[start:start + block + 1])
        rows = torch.stack(rows)  # (B, block + 1)
        return rows[:, :-1], rows[:, 1:]
    return next_batch


def sft_batches(encoded: list, common: list, text: torch.Tensor, text_share: float, common_share: float,
                text_tokens: int, block: int, batch_size: int, pad_id: int, seed: int):
    """Each row, by a draw: a window of plain text (probability text_share, loss on every token), or a dialogue
    (loss on the assistant's tokens): one about an asked common word (common_share) or any."""
    def next_batch(step):
        rng = random.Random(_step_seed(seed, step))
        rows = []
        for _ in range(batch_size):
            draw = rng.random()
            if draw < text_share:
                start = rng.randrange(len(text) - text_tokens - 1)
                ids = text[start:start + text_tokens + 1].tolist()
                rows.append((ids, [True] * len(ids)))
            else:
                rows.append(rng.choice(common if draw < text_share + common_share else encoded))
        return batch_dialogues(rows, block, pad_id)
    return next_batch


def tokenize_docs(tokenizer, docs: list[str], desc: str) -> torch.Tensor:
    """One stream: each document followed by <|endoftext|>, as GPT-2 separates documents."""
    eot = tokenizer.vocab[ENDOFTEXT]
    ids: list[int] = []
    for d in tqdm(docs, desc=desc, unit="doc", dynamic_ncols=True):
        ids.extend(tokenizer.encode(d))
        ids.append(eot)
    return torch.from_numpy(np.array(ids, dtype=np.int64))


def run(cfg: PipelineConfig, out: str, device: str, command: str, resume: bool = False) -> dict:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    timings, metrics = {}, {"config": dataclasses.asdict(cfg), "device": device}
    data_dir, ckpt_dir = os.path.join(out, "data"), os.path.join(out, "checkpoints")
    summary_path, tokenizer_path = os.path.join(data_dir, "summary.json"), os.path.join(out, "tokenizer.json")
    if not resume and os.path.exists(summary_path):
        raise SystemExit(f"{out} holds a run already: pass --resume to continue it, or choose another --out")
    os.makedirs(ckpt_dir, exist_ok=True)
    # Each stage's time is kept on disk, so that a resumed run reports what the recipe takes without stops:
    # a stage it reuses keeps the time first measured, a training phase counts its time over all resumes.
    timings_path = os.path.join(out, "timings.json")
    earlier = {}
    if resume and os.path.exists(timings_path):
        with open(timings_path) as f:
            earlier = json.load(f)

    def record(stage: str, seconds: float, reused: bool = False):
        timings[stage] = earlier.get(stage, seconds) if reused else seconds
        with open(timings_path, "w") as f:
            json.dump({**earlier, **timings}, f)

    t = time.time()
    reused_data = resume and os.path.exists(summary_path)
    if reused_data:
        with open(summary_path) as f:
            metrics["data"] = json.load(f)
    else:
        with tqdm(desc="1/7 prepare corpus", unit="entry", dynamic_ncols=True) as bar:
            metrics["data"] = data.prepare(data_dir, cfg.seed, cfg.heldout_words, cfg.max_entries,
                                           cfg.dialogues_per_word, cfg.common_words, cfg.common_heldout,
                                           cfg.common_dialogues_per_word, cfg.focus_senses, bar)
    train_docs = data.read_docs(os.path.join(data_dir, "pretrain_train.txt"))
    heldout_docs = data.read_docs(os.path.join(data_dir, "pretrain_heldout.txt"))
    focus_docs = data.read_docs(os.path.join(data_dir, "pretrain_focus.txt"))
    record("prepare", time.time() - t, reused_data)

    t = time.time()
    reused_tokenizer = resume and os.path.exists(tokenizer_path)
    if reused_tokenizer:
        tokenizer = Tokenizer.load(tokenizer_path)
    else:
        sample, size = [], 0
        for d in train_docs:  # already shuffled: the first documents are a fair sample
            if size >= cfg.tokenizer_sample_chars:
                break
            sample.append(d)
            size += len(d)
        counts = count_pretokens(sample)
        with tqdm(desc="2/7 train tokenizer", total=cfg.model.vocab_size - 259, unit="merge", dynamic_ncols=True) as bar:
            tokenizer = train_bpe(counts, cfg.model.vocab_size, bar)
        tokenizer.save(tokenizer_path)
    cfg.model.vocab_size = tokenizer.vocab_size  # fewer merges if the sample ran out of repeated pairs
    train_tokens = tokenize_docs(tokenizer, train_docs, "   tokenize corpus")
    heldout_tokens = tokenize_docs(tokenizer, heldout_docs, "   tokenize held-out")
    focus_tokens = tokenize_docs(tokenizer, focus_docs, "   tokenize focus")
    metrics["data"].update(pretrain_train_tokens=len(train_tokens), pretrain_heldout_tokens=len(heldout_tokens),
                           focus_tokens=len(focus_tokens))
    with open(summary_path, "w") as f:
        json.dump(metrics["data"], f)
    record("tokenizer", time.time() - t, reused_tokenizer)

    model = build_model(dataclasses.asdict(cfg.model)).to(device)
    metrics["parameters"] = model.num_params()
    block = cfg.model.n_positions
    sft_train = data.read_jsonl(os.path.join(data_dir, "sft_train.jsonl"))
    sft_heldout = data.read_jsonl(os.path.join(data_dir, "sft_heldout.jsonl"))
    with open(os.path.join(data_dir, "glosses.json"), encoding="utf-8") as f:
        glosses = json.load(f)
    # Three word sets: rare held-out words (never seen defined), common words asked in fine-tuning (a seeded
    # sample) and common words never asked (all of them).
    word_sets = {"rare_heldout": _words(data_dir, "heldout_words.txt")[:cfg.eval_prompts],
                 "common_asked": sorted(random.Random(cfg.seed).sample(
                     _words(data_dir, "common_asked.txt"), min(cfg.eval_prompts, metrics["data"]["common_asked"]))),
                 "common_never_asked": _words(data_dir, "common_heldout.txt")[:cfg.eval_prompts]}
    curves = {}

    def write_curves(phase):
        def write(history):
            curves[phase] = history
            with open(os.path.join(out, "curves.json"), "w") as f:
                json.dump(curves, f)
            plot_curves(curves, metrics, os.path.join(out, "training_curves.png"))
        return write

    def held_out_text_ppl(desc):
        return evaluate.perplexity(model, heldout_tokens, block, cfg.eval_tokens, device, desc)

    def evaluate_all(stage):
        result = {"heldout_text_perplexity": held_out_text_ppl(f"   {stage}: text perplexity"),
                  # how well the common words' senses are memorised, and whether fine-tuning keeps them
                  "focus_perplexity": evaluate.perplexity(model, focus_tokens, block, len(focus_tokens), device,
                                                          f"   {stage}: focus perplexity"),
                  "heldout_dialogue_perplexity": evaluate.dialogue_perplexity(model, tokenizer, sft_heldout, block, device)}
        for name, words in word_sets.items():
            result[name] = evaluate.answer_quality(model, tokenizer, words, glosses, cfg.max_new_tokens, device)
        # The whole common-word set: each part's F1 weighted by how many of the words it holds.
        n_asked, n_never = metrics["data"]["common_asked"], metrics["data"]["common_never_asked"]
        result["common_words_gloss_f1"] = (n_asked * result["common_asked"]["gloss_f1"] +
                                           n_never * result["common_never_asked"]["gloss_f1"]) / (n_asked + n_never)
        print(f"   {stage}: " + ", ".join(f"{name} F1 {r['gloss_f1']:.3f} in format {r['in_format']:.0%} "
                                        f"stops {r['stopped_on_im_end']:.0%}"
                                        for name, r in result.items() if isinstance(r, dict)), flush=True)
        return result

    curves["pretrain"] = train(model, pretrain_batches(train_tokens, focus_tokens, cfg.focus_share, block,
                                                       cfg.pretrain.batch_size, cfg.seed),
                               cfg.pretrain, device, "3/7 pretrain", lambda: held_out_text_ppl("   eval"),
                               os.path.join(ckpt_dir, "pretrain.pt"), write_curves("pretrain"))
    record("pretrain", curves["pretrain"]["seconds"])

    t = time.time()
    print("4/7 evaluate after pretraining", flush=True)
    metrics["after_pretraining"] = evaluate_all("pretrained")
    record("evaluate_pretrained", time.time() - t)

    encoded = [encode_chat(tokenizer, d) for d in tqdm(sft_train, desc="   encode dialogues", unit="dialogue")]
    asked_words = set(_words(data_dir, "common_asked.txt"))
    common = [e for e, d in zip(encoded, sft_train) if data.dialogue_word(d) in asked_words] or encoded
    curves["sft"] = train(model, sft_batches(encoded, common, train_tokens, cfg.sft_text_share, cfg.sft_common_share,
                                             cfg.sft_text_tokens, block,
                                             cfg.sft.batch_size, tokenizer.vocab[ENDOFTEXT], cfg.seed),
                          cfg.sft, device, "5/7 fine-tune", checkpoint=os.path.join(ckpt_dir, "sft.pt"),
                          on_checkpoint=write_curves("sft"))
    record("sft", curves["sft"]["seconds"])

    t = time.time()
    print("6/7 evaluate after fine-tuning", flush=True)
    metrics["after_fine_tuning"] = evaluate_all("fine-tuned")
    record("evaluate_fine_tuned", time.time() - t)

    t = time.time()
    with tqdm(total=1, desc="7/7 export ONNX", dynamic_ncols=True) as bar:
        export.write_model_folder(model.cpu(), tokenizer, os.path.join(out, "model"), cfg.max_new_tokens)
        # The fused graph beside it, read back from model.onnx (fused_graph.py): the engine and GenAI run either.
        fused_graph.build_folder(os.path.join(out, "model"))
        # And llama.cpp's f32 GGUF of a GPT-2 run (gguf_export.py writes GPT-2 only), for the bench's llama.cpp peer.
        if cfg.model.arch == "gpt2":
            gguf_export.export(os.path.join(out, "model"), "f32", os.path.join(out, "model", "model.f32.gguf"))
        bar.update(1)
    record("export", time.time() - t)

    for phase, settings in (("pretrain", cfg.pretrain), ("sft", cfg.sft)):
        steps = len(curves[phase]["step"])
        metrics[f"{phase}_steps"] = steps
        metrics[f"{phase}_sequences"] = steps * settings.batch_size
    metrics["pretrain_tokens_seen"] = metrics["pretrain_steps"] * cfg.pretrain.batch_size * block
    metrics["focus_repeats"] = metrics["pretrain_tokens_seen"] * cfg.focus_share / metrics["data"]["focus_tokens"]
    metrics["pretrain_loss"] = {"first": _mean(curves["pretrain"]["loss"][:20]), "last": _mean(curves["pretrain"]["loss"][-20:])}
    metrics["sft_loss"] = {"first": _mean(curves["sft"]["loss"][:20]), "last": _mean(curves["sft"]["loss"][-20:])}
    timings["total"] = sum(timings.values())
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


def _words(data_dir: str, name: str) -> list[str]:
    with open(os.path.join(data_dir, name), encoding="utf-8") as f:
        return f.read().split()


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
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoints")
    args = p.parse_args(argv)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    preset = "smoke" if args.smoke else args.preset or ("gpu" if device == "cuda" else "cpu")
    cfg = dataclasses.replace(PRESETS[preset])
    cfg.model, cfg.pretrain, cfg.sft = (dataclasses.replace(x) for x in (cfg.model, cfg.pretrain, cfg.sft))
    cfg = apply_overrides(cfg, args.overrides)  # on copies: the presets stay as written
    print(f"preset {preset} on {device}; output in {args.out}", flush=True)
    command = "/usr/bin/python3 training/pipeline.py " + " ".join(a for a in (argv or sys.argv[1:]) if a != "--resume")
    metrics = run(cfg, args.out, device, command, args.resume)
    a, b = metrics["after_pretraining"], metrics["after_fine_tuning"]
    print(f"pretrain loss {metrics['pretrain_loss']['first']:.3f} -> {metrics['pretrain_loss']['last']:.3f}; "
          f"held-out text ppl {a['heldout_text_perplexity']:.1f} -> {b['heldout_text_perplexity']:.1f}; "
          f"dialogue ppl {a['heldout_dialogue_perplexity']:.1f} -> {b['heldout_dialogue_perplexity']:.1f}; "
          f"common words: F1 {b['common_words_gloss_f1']:.3f} all, {b['common_asked']['gloss_f1']:.3f} asked, "
          f"{b['common_never_asked']['gloss_f1']:.3f} never asked, "
          f"in format {b['common_never_asked']['in_format']:.0%}, stops {b['common_never_asked']['stopped_on_im_end']:.0%}; "
          f"{metrics['seconds']['total']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
