"""Reads a GPT-2 or Llama style decoder's weights back out of an Optimum "decoder with past" model.onnx, so that the
fused graph (fused_graph.py) can be built from the shipped file alone, without the PyTorch checkpoint.

Naming schemes read:
  - this project's torch.onnx export (export.py): norm and bias initializers keep their module names
    (gpt.h.{i}.ln_1.weight, gpt.layers.{i}.input_layernorm.weight, ...); the matmul weights are anonymous
    (onnx::MatMul_NNN), already (in, out), and appear in node order (GPT-2: qkv, attn proj, fc, mlp proj per
    layer; Llama: q, k, v, o, gate, up, down), then the lm_head;
  - Hugging Face / Optimum's GPT-2 export: transformer.h.{i}.attn.c_attn.weight etc. (Conv1D: (in, out)).
Every weight is returned (in, out) for x @ W.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper


@dataclass
class Gpt2Layer:
    ln_1: tuple[np.ndarray, np.ndarray]     # (C,), (C,)
    qkv: tuple[np.ndarray, np.ndarray]      # (C, 3C), (3C,)
    attn_proj: tuple[np.ndarray, np.ndarray]  # (C, C), (C,)
    ln_2: tuple[np.ndarray, np.ndarray]
    fc: tuple[np.ndarray, np.ndarray]       # (C, 4C), (4C,)
    mlp_proj: tuple[np.ndarray, np.ndarray]  # (4C, C), (C,)


@dataclass
class Gpt2Weights:
    wte: np.ndarray   # (V, C); also the lm_head when tied
    wpe: np.ndarray   # (n_positions, C)
    layers: list[Gpt2Layer]
    ln_f: tuple[np.ndarray, np.ndarray]
    lm_head: np.ndarray  # (C, V)
    tied: bool           # lm_head is wte transposed


def read_gpt2(path: str, n_layer: int) -> Gpt2Weights:
    model = onnx.load(path)
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for prefix in ("gpt.", "transformer."):
        if f"{prefix}wte.weight" in init:
            break
    else:
        raise ValueError(f"{path}: no gpt.wte.weight or transformer.wte.weight initializer: not a GPT-2 export")

    def named(name: str) -> np.ndarray:
        return init[prefix + name]

    if f"{prefix}h.0.attn.c_attn.weight" in init:
        matmuls = [named(f"h.{i}.{m}.weight") for i in range(n_layer)
                   for m in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")]
        matmuls.append(init["lm_head.weight"].T if "lm_head.weight" in init else named("wte.weight").T)
    else:
        matmuls = [init[n.input[1]] for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in init]
    if len(matmuls) != 4 * n_layer + 1:
        raise ValueError(f"{path}: {len(matmuls)} weight matmuls, expected {4 * n_layer + 1} for {n_layer} layers")

    wte = named("wte.weight")
    C = wte.shape[1]
    layers = []
    for i in range(n_layer):
        qkv, proj, fc, mlp_proj = matmuls[4 * i: 4 * i + 4]
        expected = [(C, 3 * C), (C, C), (C, fc.shape[1]), (fc.shape[1], C)]
        if [w.shape for w in (qkv, proj, fc, mlp_proj)] != expected:
            raise ValueError(f"{path}: layer {i} matmul shapes {[w.shape for w in (qkv, proj, fc, mlp_proj)]}, expected {expected}")
        layers.append(Gpt2Layer(
            ln_1=(named(f"h.{i}.ln_1.weight"), named(f"h.{i}.ln_1.bias")),
            qkv=(qkv, named(f"h.{i}.attn.c_attn.bias")),
            attn_proj=(proj, named(f"h.{i}.attn.c_proj.bias")),
            ln_2=(named(f"h.{i}.ln_2.weight"), named(f"h.{i}.ln_2.bias")),
            fc=(fc, named(f"h.{i}.mlp.c_fc.bias")),
            mlp_proj=(mlp_proj, named(f"h.{i}.mlp.c_proj.bias"))))
    lm_head = matmuls[-1]
    return Gpt2Weights(wte=wte, wpe=named("wpe.weight"), layers=layers,
                       ln_f=(named("ln_f.weight"), named("ln_f.bias")), lm_head=lm_head,
                       tied=lm_head.shape == wte.T.shape and np.array_equal(lm_head, wte.T))


@dataclass
class LlamaLayer:
    input_norm: np.ndarray  # (C,)
    q: np.ndarray           # (C, nh*hs)
    k: np.ndarray           # (C, nkv*hs)
    v: np.ndarray           # (C, nkv*hs)
    o: np.ndarray           # (nh*hs, C)
    post_norm: np.ndarray   # (C,)
    gate: np.ndarray        # (C, I)
    up: np.ndarray          # (C, I)
    down: np.ndarray        # (I, C)


@dataclass
class LlamaWeights:
    embed: np.ndarray   # (V, C)
    layers: list[LlamaLayer]
    norm: np.ndarray    # (C,)
    lm_head: np.ndarray  # (C, V)
    tied: bool


def read_llama(path: str, n_layer: int) -> LlamaWeights:
    """This project's Llama export (llama_model.py through export.py): RMSNorm weights keep their module names;
    the matmuls are anonymous and come in node order q, k, v, o, gate, up, down per layer, then the lm_head."""
    model = onnx.load(path)
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    if "gpt.embed_tokens.weight" not in init:
        raise ValueError(f"{path}: no gpt.embed_tokens.weight initializer: not this project's Llama export")
    matmuls = [init[n.input[1]] for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in init]
    if len(matmuls) != 7 * n_layer + 1:
        raise ValueError(f"{path}: {len(matmuls)} weight matmuls, expected {7 * n_layer + 1} for {n_layer} layers")
    embed = init["gpt.embed_tokens.weight"]
    layers = []
    for i in range(n_layer):
        q, k, v, o, gate, up, down = matmuls[7 * i: 7 * i + 7]
        if not (q.shape[0] == k.shape[0] == v.shape[0] == gate.shape[0] == up.shape[0] == o.shape[1] == down.shape[1]
                and k.shape == v.shape and gate.shape == up.shape and down.shape == gate.shape[::-1]):
            raise ValueError(f"{path}: layer {i} matmul shapes {[w.shape for w in (q, k, v, o, gate, up, down)]} are not q, k, v, o, gate, up, down")
        layers.append(LlamaLayer(init[f"gpt.layers.{i}.input_layernorm.weight"], q, k, v, o,
                                 init[f"gpt.layers.{i}.post_attention_layernorm.weight"], gate, up, down))
    lm_head = matmuls[-1]
    return LlamaWeights(embed=embed, layers=layers, norm=init["gpt.norm.weight"], lm_head=lm_head,
                        tied=lm_head.shape == embed.T.shape and np.array_equal(lm_head, embed.T))
