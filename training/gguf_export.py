"""A GPT-2 style model folder (config.json, tokenizer.json, Optimum model.onnx) as a GGUF file llama.cpp runs.

  /usr/bin/python3 training/gguf_export.py MODEL_DIR [--type f32|q8_0] [--out FILE]
      (default FILE: MODEL_DIR/model.f32.gguf or model.q8_0.gguf; git-ignored, rebuilt on demand)

llama.cpp's "gpt2" architecture: token_embd, position_embd, per block attn_norm, attn_qkv (q, k, v packed as our
c_attn), attn_output, ffn_norm, ffn_up, ffn_down (all with biases), output_norm, and output when the lm_head is
not tied to the embedding (llama.cpp reuses token_embd otherwise). Weights are stored (out, in), the transpose of
x @ W. With --type q8_0 the matrices llama.cpp multiplies by (the blocks', token_embd, output) are Q8_0, as
llama-quantize makes them; position_embd, norms and biases stay float32.
The tokenizer is written as llama.cpp's BPE ("gpt2" model, "gpt-2" pre-tokenizer regex): the byte-level
vocabulary by id, the merges in rank order, and the added special tokens marked as control tokens.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gguf_writer import GgufWriter  # noqa: E402
from optimum_weights import read_gpt2  # noqa: E402

FILE_TYPE = {"f32": 0, "q8_0": 7}   # general.file_type: LLAMA_FTYPE_ALL_F32, LLAMA_FTYPE_MOSTLY_Q8_0
TOKEN_NORMAL, TOKEN_CONTROL = 1, 3


def export(model_dir: str, kind: str, out: str) -> str:
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    if config.get("model_type") != "gpt2":
        raise ValueError(f"{model_dir}: model_type {config.get('model_type')!r}; this exporter writes GPT-2 only")
    weights = read_gpt2(os.path.join(model_dir, "model.onnx"), config["n_layer"])
    n_embd, n_ctx = weights.wte.shape[1], weights.wpe.shape[0]
    q8 = kind == "q8_0"

    w = GgufWriter()
    w.add_string("general.architecture", "gpt2")
    w.add_string("general.name", os.path.basename(os.path.normpath(model_dir)))
    w.add_uint32("general.file_type", FILE_TYPE[kind])
    w.add_uint32("gpt2.context_length", n_ctx)
    w.add_uint32("gpt2.embedding_length", n_embd)
    w.add_uint32("gpt2.feed_forward_length", weights.layers[0].fc[0].shape[1])
    w.add_uint32("gpt2.block_count", len(weights.layers))
    w.add_uint32("gpt2.attention.head_count", config["n_head"])
    w.add_float32("gpt2.attention.layer_norm_epsilon", config.get("layer_norm_epsilon", 1e-5))
    add_tokenizer(w, model_dir, config)

    w.add_tensor("token_embd.weight", weights.wte, q8)
    w.add_tensor("position_embd.weight", weights.wpe)
    for i, layer in enumerate(weights.layers):
        for name, (norm_weight, norm_bias) in (("attn_norm", layer.ln_1), ("ffn_norm", layer.ln_2)):
            w.add_tensor(f"blk.{i}.{name}.weight", norm_weight)
            w.add_tensor(f"blk.{i}.{name}.bias", norm_bias)
        for name, (matrix, bias) in (("attn_qkv", layer.qkv), ("attn_output", layer.attn_proj),
                                     ("ffn_up", layer.fc), ("ffn_down", layer.mlp_proj)):
            w.add_tensor(f"blk.{i}.{name}.weight", matrix.T, q8)
            w.add_tensor(f"blk.{i}.{name}.bias", bias)
    w.add_tensor("output_norm.weight", weights.ln_f[0])
    w.add_tensor("output_norm.bias", weights.ln_f[1])
    if not weights.tied:
        w.add_tensor("output.weight", weights.lm_head.T, q8)
    w.write(out)
    return out


def add_tokenizer(w: GgufWriter, model_dir: str, config: dict):
    with open(os.path.join(model_dir, "tokenizer.json"), encoding="utf-8") as f:
        tokenizer = json.load(f)
    vocab = dict(tokenizer["model"]["vocab"])
    for added in tokenizer.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise ValueError(f"{model_dir}: token ids are not 0..{len(by_id) - 1}")
    special = {a["id"] for a in tokenizer.get("added_tokens", []) if a.get("special")}
    # tokenizers writes merges as "a b" strings or, since 0.20, as [a, b] pairs; llama.cpp wants "a b".
    merges = [m if isinstance(m, str) else " ".join(m) for m in tokenizer["model"]["merges"]]

    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "gpt-2")
    w.add_strings("tokenizer.ggml.tokens", [t for t, _ in by_id])
    w.add_int32s("tokenizer.ggml.token_type", [TOKEN_CONTROL if i in special else TOKEN_NORMAL for _, i in by_id])
    w.add_strings("tokenizer.ggml.merges", merges)
    w.add_uint32("tokenizer.ggml.bos_token_id", config["bos_token_id"])
    w.add_uint32("tokenizer.ggml.eos_token_id", config["eos_token_id"])
    if config.get("pad_token_id") is not None:
        w.add_uint32("tokenizer.ggml.padding_token_id", config["pad_token_id"])
    w.add_bool("tokenizer.ggml.add_bos_token", False)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir")
    p.add_argument("--type", choices=sorted(FILE_TYPE), default="f32")
    p.add_argument("--out", help="default: MODEL_DIR/model.TYPE.gguf")
    a = p.parse_args(argv)
    out = export(a.model_dir, a.type, a.out or os.path.join(a.model_dir, f"model.{a.type}.gguf"))
    print(f"wrote {out} ({os.path.getsize(out) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
