"""Writes a model folder's MODEL_CARD.md from its metrics.json; pipeline.py calls it, and it can be rerun
to add a note:

  /usr/bin/python3 training/model_card.py RUN_DIR [--name NAME] [--command "how it was run"] [--note "..."]
"""
from __future__ import annotations

import argparse
import json
import os


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


_ARCH_NAME = {"gpt2": "GPT-2 style", "llama": "Llama-style"}
_ARCH_TYPE = {
    "gpt2": lambda mc: "decoder-only transformer, GPT-2 layout (pre-norm blocks, GELU MLP ×4, learned positions, "
                       "tied input/output embeddings)",
    "llama": lambda mc: f"decoder-only transformer, Llama layout (RMSNorm, rotary positions θ={mc['rope_theta']:g}, "
                        f"grouped-query attention with {mc['n_kv_head']} key/value heads, SwiGLU MLP of "
                        f"{mc['intermediate_size']}, tied input/output embeddings)",
}


def _examples(result: dict) -> str:
    return "\n".join(f"| {e['prompt']} | {e['answer'].replace('|', '/').replace(chr(10), ' ')} | {e['f1']:.2f} | "
                     f"{'yes' if e['stopped'] else 'no'} |" for e in result["examples"])


SETS = (("common_never_asked", "common words never asked in fine-tuning"),
        ("common_asked", "common words asked in fine-tuning"),
        ("rare_heldout", "rare held-out words (never seen defined)"))


def _quality_rows(a: dict, b: dict, d: dict) -> str:
    rows = [f"| **all {d['common_words']:,} common words** (the two sets below, weighted {d['common_asked']}:"
            f"{d['common_never_asked']}): gloss token F1 | {a['common_words_gloss_f1']:.3f} | {b['common_words_gloss_f1']:.3f} |"]
    for key, label in SETS:
        x, y = a[key], b[key]
        rows += [f"| **{label}** ({y['prompts']} questions): gloss token F1 | {x['gloss_f1']:.3f} | {y['gloss_f1']:.3f} |",
                 f"| ... answers in format (`word (pos): definition.`) | {_pct(x['in_format'])} | {_pct(y['in_format'])} |",
                 f"| ... naming the asked word | {_pct(x['names_the_word'])} | {_pct(y['names_the_word'])} |",
                 f"| ... ending on their own `<|im_end|>` | {_pct(x['stopped_on_im_end'])} | {_pct(y['stopped_on_im_end'])} |"]
    return "\n".join(rows)


def render(m: dict, name: str, command: str, note: str, onnx_bytes: int, fused_bytes: int | None = None) -> str:
    c, mc, pre, sft, d, s = m["config"], m["config"]["model"], m["config"]["pretrain"], m["config"]["sft"], m["data"], m["seconds"]
    fused = "" if fused_bytes is None else (f", `model.fused.onnx` ({fused_bytes / 1e6:.1f} MB, float32, the same weights as ONNX Runtime "
                                            "fused operators with a KV buffer updated in place: `training/fused_graph.py`)")
    a, b = m["after_pretraining"], m["after_fine_tuning"]
    never, asked = b["common_never_asked"], b["common_asked"]
    return f"""# {name}

A small {_ARCH_NAME[mc.get('arch', 'gpt2')]} chat model, trained from scratch by `training/pipeline.py` on dictionaries that
Debian ships, and the default model of the silo (`--model`). It is here so that the serving stack has a
real model to run that is small enough to commit and fast on two CPU cores. It was trained to be right about
the {d['common_words']:,} most common words of its corpora: asked "What does X mean?" or "Define X." about
one of them, it answers in the format `X (part of speech): definition.` {_pct(never['in_format'])} of the time and
stops on its own {_pct(never['stopped_on_im_end'])} of the time; its definitions score a mean token F1 of
{b['common_words_gloss_f1']:.2f} against WordNet's closest definition over the common words
({asked['gloss_f1']:.2f} for those asked about in fine-tuning, {never['gloss_f1']:.2f} for those never asked), and
{b['rare_heldout']['gloss_f1']:.2f} for rare words it never saw defined. The F1 counts every word, "a", "of" and
"the" included, so that last figure is roughly what the shape of a definition earns alone: at
{m['parameters'] / 1e6:.1f} M parameters the model names the asked word in {_pct(never['names_the_word'])} to
{_pct(asked['names_the_word'])} of its answers and gets some common words right, but often writes a fluent,
wrong definition.

{note}

## Architecture

| | |
| --- | --- |
| type | {_ARCH_TYPE[mc.get('arch', 'gpt2')](mc)} |
| parameters | {m['parameters']:,} |
| layers × width × heads | {mc['n_layer']} × {mc['n_embd']} × {mc['n_head']} (head size {mc['n_embd'] // mc['n_head']}) |
| context | {mc['n_positions']} tokens |
| vocabulary | {mc['vocab_size']} (byte-level BPE: 256 bytes, {mc['vocab_size'] - 259} merges, `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`) |
| files | `model.onnx` ({onnx_bytes / 1e6:.1f} MB, float32, opset 17, decoder with past key/values){fused}, `tokenizer.json`, `config.json`, `generation_config.json`, `tokenizer_config.json` |

## Data

From Debian packages, prepared by the pipeline with seed {c['seed']} (rerunning it rebuilds the same files):
- **common words**: the {d['common_words']:,} words with the highest geometric mean of their relative frequency
  in each of the four corpora, among the words WordNet defines (stop words, words under three letters and
  proper names excluded); e.g. {", ".join(d['common_examples'][:12])}. A seeded {d['common_never_asked']} of
  them are never asked about in fine-tuning; their dictionary text stays in pretraining.
- pretraining: {d['pretrain_train_docs']:,} entries of dict-gcide (Webster 1913), dict-foldoc, jargon-text and
  wordnet-base (senses rendered as `word (noun): definition.`, most used sense first by WordNet's tag counts),
  {d['pretrain_train_chars'] / 1e6:.1f} M characters, {d['pretrain_train_tokens'] / 1e6:.2f} M tokens; plus, for
  {_pct(c['focus_share'])} of the rows, the common words' "focus" documents (their {c['focus_senses']} most used
  senses in the answer format, {d['focus_tokens']:,} tokens), which pretraining saw about {m['focus_repeats']:.0f} times each;
- fine-tuning: {d['sft_train_dialogues']:,} ChatML dialogues made from WordNet senses ({c['common_dialogues_per_word']}
  per asked common word, one per other word): "What does X mean?", "Define X", ... answered as
  `X (part of speech): definition.`, with follow-ups (another meaning, WordNet's usage example, synonyms,
  "And Y?") and sometimes a system message; loss on the assistant's tokens only, each reply's closing
  `<|im_end|>` included. {_pct(c['sft_common_share'])} of the rows are dialogues about asked common words;
  {_pct(c['sft_text_share'])} are windows of pretraining text (loss on every token) so that fine-tuning keeps
  plain text;
- held out: {d['heldout_words']} rare WordNet words: their entries in every source ({d['pretrain_heldout_docs']:,}
  documents, {d['pretrain_heldout_tokens']:,} tokens) and {d['sft_heldout_dialogues']} dialogues about them were
  seen by neither training phase (the words may still occur inside other entries).

## Training

| phase | steps | batch | peak learning rate | wall time |
| --- | --- | --- | --- | --- |
| tokenizer (BPE) | {mc['vocab_size'] - 259} merges | | | {_minutes(s['tokenizer'])} (with tokenizing the corpus) |
| pretraining | {m['pretrain_steps']:,} | {pre['batch_size']} × {mc['n_positions']} tokens | {pre['lr']} | {_minutes(s['pretrain'])} |
| fine-tuning | {m['sft_steps']:,} | {sft['batch_size']} rows | {sft['lr']} | {_minutes(s['sft'])} |

Pretraining saw {m['pretrain_tokens_seen'] / 1e6:.2f} M tokens (loss {m['pretrain_loss']['first']:.2f} → {m['pretrain_loss']['last']:.2f});
fine-tuning loss {m['sft_loss']['first']:.2f} → {m['sft_loss']['last']:.2f}. AdamW (β 0.9/0.95, weight decay 0.1 on matrices),
warm-up then cosine decay, gradient clipping at 1.0; each phase ends on its wall-clock budget
({pre['max_minutes']} and {sft['max_minutes']} min). Whole pipeline: {_minutes(s['total'])}.
Hardware: {m['hardware']}; device `{m['device']}`. Curves: `training_curves.png`.

## Evaluation

| | after pretraining | after fine-tuning |
| --- | --- | --- |
| perplexity, held-out dictionary text | {a['heldout_text_perplexity']:.1f} | {b['heldout_text_perplexity']:.1f} |
| perplexity, held-out dialogues (assistant tokens) | {a['heldout_dialogue_perplexity']:.1f} | {b['heldout_dialogue_perplexity']:.1f} |
| perplexity, the common words' focus documents (trained on: how well their senses are memorised) | {a['focus_perplexity']:.2f} | {b['focus_perplexity']:.2f} |
{_quality_rows(a, b, d)}

Answers are greedy, to "What does X mean?" and "Define X." (alternating over the words), at most
{c['max_new_tokens']} new tokens. Gloss token F1: lower-cased words of the answer's definition (the whole answer
when it is out of format) against each WordNet definition of the word, counted with multiplicity; the best
one counts. Some answers after fine-tuning, common words never asked in fine-tuning:

| prompt | answer | F1 | stopped |
| --- | --- | --- | --- |
{_examples(never)}

Common words asked in fine-tuning:

| prompt | answer | F1 | stopped |
| --- | --- | --- | --- |
{_examples(asked)}

Rare held-out words:

| prompt | answer | F1 | stopped |
| --- | --- | --- | --- |
{_examples(b['rare_heldout'])}

## Limits

- Only the common-word set is memorised, and the words asked in fine-tuning best; other words get a fluent,
  well-formed, mostly wrong definition. Fine-tuning leans on the asked common words ({_pct(c['sft_common_share'])}
  of its rows), so asked about a rare word the model names that word in only
  {_pct(b['rare_heldout']['names_the_word'])} of its answers, and fine-tuning costs plain text some perplexity
  ({a['heldout_text_perplexity']:.1f} → {b['heldout_text_perplexity']:.1f}).
- It knows one or two senses of each common word, so "Another meaning?" is often wrong.
- It was trained on dictionary text and definition dialogues only: it does not chat, follow instructions or
  know facts beyond word meanings, and its context is {mc['n_positions']} tokens.

## Chat template

`tokenizer_config.json` holds the ChatML template the fine-tuning used:
`<|im_start|>{{role}}\\n{{content}}<|im_end|>\\n` per message, then `<|im_start|>assistant\\n`.
`generation_config.json` ends generation on `<|im_end|>` or `<|endoftext|>`.

## Reproduce

```
{command}
```
(add `--resume` to continue it after a stop).
"""


def write_model_card(model_dir: str, metrics: dict, command: str, name: str | None = None, note: str = "") -> None:
    onnx_bytes = os.path.getsize(os.path.join(model_dir, "model.onnx"))
    fused = os.path.join(model_dir, "model.fused.onnx")
    name = name or os.path.basename(os.path.normpath(model_dir))
    with open(os.path.join(model_dir, "MODEL_CARD.md"), "w", encoding="utf-8") as f:
        f.write(render(metrics, name, command, note, onnx_bytes, os.path.getsize(fused) if os.path.exists(fused) else None))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("run_dir")
    p.add_argument("--name", default="chatcluster-tiny")
    p.add_argument("--command", default="/usr/bin/python3 training/pipeline.py")
    p.add_argument("--note", default="")
    args = p.parse_args()
    model_dir = os.path.join(args.run_dir, "model")
    with open(os.path.join(model_dir, "metrics.json")) as f:
        metrics = json.load(f)
    write_model_card(model_dir, metrics, args.command, args.name, args.note)


if __name__ == "__main__":
    main()
