"""Export a trained decoder (model.GPT or llama_model.Llama) to a Hugging Face / Optimum style model folder
the C# engine loads:

  model.onnx              decoder with past: inputs input_ids (B, T), attention_mask (B, P+T),
                          position_ids (B, T), past_key_values.{i}.key/value (B, nkv, P, hs);
                          outputs logits (B, T, V), present.{i}.key/value (B, nkv, P+T, hs)
                          (nkv: key/value heads, n_head for GPT-2, n_kv_head for Llama)
  tokenizer.json          byte-level BPE (tokenizer.py)
  config.json             Hugging Face schema of the architecture: gpt2 or llama
  generation_config.json  end tokens: <|im_end|> and <|endoftext|>
  tokenizer_config.json   special tokens and the ChatML chat template the fine-tuning used

B, T and P are dynamic: the graph is traced once with B=2, T=3, P=4 and the trace is checked against a
second one traced with other sizes, so that no size got baked into the graph as a constant.
"""
from __future__ import annotations

import json
import os
import tempfile

import onnx
import torch
import torch.nn as nn

from model import Decoder
from tokenizer import ENDOFTEXT, IM_END, IM_START, Tokenizer

OPSET = 17  # LayerNormalization is a single op from 17 on; ONNX Runtime 1.14+ runs it

# ChatML, exactly as chat_format.render_chat lays dialogues out for fine-tuning.
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


class OnnxDecoder(nn.Module):
    """Flattens the decoder's (key, value) list into the positional inputs and outputs ONNX needs."""

    def __init__(self, gpt: Decoder):
        super().__init__()
        self.gpt = gpt

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, presents = self.gpt(input_ids, attention_mask, position_ids, past)
        return (logits, *[t for kv in presents for t in kv])


def _names(n_layer: int):
    past = [f"past_key_values.{i}.{kind}" for i in range(n_layer) for kind in ("key", "value")]
    present = [f"present.{i}.{kind}" for i in range(n_layer) for kind in ("key", "value")]
    return ["input_ids", "attention_mask", "position_ids", *past], ["logits", *present]


def _dummy_inputs(gpt: Decoder, batch: int, seq: int, past: int):
    c = gpt.config
    heads, hs = gpt.cache_heads()
    ids = torch.randint(0, c.vocab_size, (batch, seq))
    mask = torch.ones(batch, past + seq, dtype=torch.int64)
    mask[0, 0] = 0  # a left-padded row, so the mask path is traced
    positions = torch.arange(past, past + seq).unsqueeze(0).repeat(batch, 1)
    kv = [torch.randn(batch, heads, past, hs) for _ in range(2 * c.n_layer)]
    return (ids, mask, positions, *kv)


def export_onnx(gpt: Decoder, path: str, batch: int = 2, seq: int = 3, past: int = 4) -> None:
    gpt = gpt.cpu().eval()
    inputs, outputs = _names(gpt.config.n_layer)
    total = "past_sequence_length + sequence_length"
    dynamic = {"input_ids": {0: "batch_size", 1: "sequence_length"},
               "attention_mask": {0: "batch_size", 1: total},
               "position_ids": {0: "batch_size", 1: "sequence_length"},
               "logits": {0: "batch_size", 1: "sequence_length"}}
    dynamic.update({n: {0: "batch_size", 2: "past_sequence_length"} for n in inputs[3:]})
    dynamic.update({n: {0: "batch_size", 2: total} for n in outputs[1:]})
    with torch.no_grad():
        torch.onnx.export(OnnxDecoder(gpt), _dummy_inputs(gpt, batch, seq, past), path, input_names=inputs,
                          output_names=outputs, dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True)
    model = onnx.load(path)
    onnx.checker.check_model(model)


def _graph_signature(path: str) -> list:
    """Op types and constant values of a graph, in order: equal for two traces iff no traced size was baked in."""
    graph = onnx.load(path).graph
    sig = [(n.op_type, [(a.name, onnx.helper.get_attribute_value(a).__repr__()) for a in n.attribute]) for n in graph.node]
    sig += [(i.name, list(i.dims), bytes(i.raw_data)) for i in graph.initializer if i.data_type == onnx.TensorProto.INT64]
    return sig


def check_sizes_not_baked(gpt: Decoder, path: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        other = os.path.join(tmp, "other.onnx")
        export_onnx(gpt, other, batch=3, seq=5, past=7)
        if _graph_signature(path) != _graph_signature(other):
            raise RuntimeError("the ONNX graph depends on the traced sizes: a dimension was baked in as a constant")


def write_model_folder(gpt: Decoder, tokenizer: Tokenizer, out_dir: str, max_new_tokens: int = 256) -> None:
    os.makedirs(out_dir, exist_ok=True)
    c = gpt.config
    path = os.path.join(out_dir, "model.onnx")
    export_onnx(gpt, path)
    check_sizes_not_baked(gpt, path)
    tokenizer.save(os.path.join(out_dir, "tokenizer.json"))
    eot, im_end = tokenizer.vocab[ENDOFTEXT], tokenizer.vocab[IM_END]
    _write_json(out_dir, "config.json", _hf_config(c, eot, im_end))
    _write_json(out_dir, "generation_config.json", {
        "bos_token_id": eot, "eos_token_id": [im_end, eot], "pad_token_id": eot,
        "max_length": c.n_positions, "max_new_tokens": max_new_tokens,
        "do_sample": True, "temperature": 0.7, "top_k": 40, "top_p": 0.95, "repetition_penalty": 1.1,
    })
    _write_json(out_dir, "tokenizer_config.json", {
        "tokenizer_class": "GPT2Tokenizer", "model_max_length": c.n_positions,
        "bos_token": ENDOFTEXT, "eos_token": IM_END, "pad_token": ENDOFTEXT, "unk_token": None,
        "add_bos_token": False, "add_prefix_space": False, "clean_up_tokenization_spaces": False,
        "additional_special_tokens": [IM_START, IM_END],
        "added_tokens_decoder": {str(tokenizer.vocab[t]): {"content": t, "special": True, "lstrip": False,
                                                           "rstrip": False, "normalized": False, "single_word": False}
                                 for t in (ENDOFTEXT, IM_START, IM_END)},
        "chat_template": CHAT_TEMPLATE,
    })


def _hf_config(c, eot: int, im_end: int) -> dict:
    """config.json in the schema of Hugging Face's class for the architecture (GPT2LMHeadModel, LlamaForCausalLM)."""
    if c.arch == "llama":
        return {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "vocab_size": c.vocab_size, "max_position_embeddings": c.n_positions,
            "hidden_size": c.n_embd, "intermediate_size": c.intermediate_size,
            "num_hidden_layers": c.n_layer, "num_attention_heads": c.n_head, "num_key_value_heads": c.n_kv_head,
            "head_dim": c.n_embd // c.n_head, "hidden_act": "silu", "rms_norm_eps": c.rms_norm_eps,
            "rope_theta": c.rope_theta, "rope_scaling": None, "attention_bias": False, "mlp_bias": False,
            "attention_dropout": c.dropout, "initializer_range": 0.02,
            "bos_token_id": eot, "eos_token_id": im_end, "pad_token_id": eot,
            "tie_word_embeddings": True, "use_cache": True, "torch_dtype": "float32",
        }
    return {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
        "vocab_size": c.vocab_size, "n_positions": c.n_positions, "n_ctx": c.n_positions,
        "n_embd": c.n_embd, "n_layer": c.n_layer, "n_head": c.n_head, "n_inner": 4 * c.n_embd,
        "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "initializer_range": 0.02,
        "resid_pdrop": c.dropout, "embd_pdrop": c.dropout, "attn_pdrop": c.dropout,
        "bos_token_id": eot, "eos_token_id": im_end, "pad_token_id": eot,
        "tie_word_embeddings": True, "use_cache": True, "torch_dtype": "float32",
    }


def _write_json(out_dir: str, name: str, value: dict) -> None:
    with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=2)
        f.write("\n")
