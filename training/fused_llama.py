"""The fused graph of a Llama-style decoder (llama_model.py's export), on fused_graph.GraphBuilder:

  h    = SimplifiedLayerNormalization(x, input_layernorm)            (RMSNorm)
  attn = GroupQueryAttention(h @ [Wq Wk Wv], past_k, past_v, seqlens_k, total, cos_cache, sin_cache)
         with do_rotary=1 (positions from seqlens_k: the row's length so far), rotary_interleaved=0 (Hugging
         Face's rotate_half), kv_num_heads < num_heads (query head h reads KV head h // (nh / nkv), as
         llama_model.py groups them)
  h, x = SkipSimplifiedLayerNormalization(attn @ Wo, x, post_attention_layernorm)
  m    = (silu(h @ Wgate) * (h @ Wup)) @ Wdown
  h, x = SkipSimplifiedLayerNormalization(m, x, next input_layernorm or norm)
then logits = h @ lm_head. No position_ids input: GroupQueryAttention rotates by the row's own length.
cos_cache / sin_cache cover max_position_embeddings + 1 positions: the engine's KV slots keep one spare
position past the context window for idle rows (engine/Model/KvSlots.cs), and rotary needs its angle too.
"""
from __future__ import annotations

import numpy as np

from optimum_weights import LlamaWeights

MS = "com.microsoft"


def rotary_caches(head_size: int, theta: float, positions: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions, head_size / 2) cos and sin of position * theta^(-2i/hs), in float32 as llama_model.rotary computes them."""
    inv_freq = (np.float32(theta) ** (-np.arange(0, head_size, 2, dtype=np.float32) / np.float32(head_size))).astype(np.float32)
    angles = np.arange(positions, dtype=np.float32)[:, None] * inv_freq[None, :]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def build(weights: LlamaWeights, config: dict, g):
    V, C = weights.embed.shape
    n_head, n_kv = config["num_attention_heads"], config["num_key_value_heads"]
    D = config.get("head_dim") or C // n_head
    eps = config.get("rms_norm_eps", 1e-5)
    n_layer = len(weights.layers)
    seqlens, total = g.sequence_lengths()
    cos, sin = rotary_caches(D, config.get("rope_theta", 10000.0), config["max_position_embeddings"] + 1)
    cos, sin = g.weight("cos_cache", cos), g.weight("sin_cache", sin)

    embed = g.weight("embed_tokens.weight", weights.embed)
    x = g.op("Gather", [embed, "input_ids"], ["x0"])[0]                                # (B, S, C)
    h = g.op("SimplifiedLayerNormalization", [x, g.weight("layers.0.input_layernorm.weight", weights.layers[0].input_norm)],
             ["h0"], axis=-1, epsilon=eps)[0]
    for i, layer in enumerate(weights.layers):
        p = f"layers.{i}"
        qkv = g.matmul(h, np.concatenate([layer.q, layer.k, layer.v], axis=1), f"{p}.attn.qkv")  # (B, S, (nh + 2 nkv) D)
        attn, _, _ = g.op("GroupQueryAttention",
                          [qkv, "", "", f"past_key_values.{i}.key", f"past_key_values.{i}.value", seqlens, total, cos, sin],
                          [f"{p}/attn", f"present.{i}.key", f"present.{i}.value"], domain=MS,
                          num_heads=n_head, kv_num_heads=n_kv, scale=1.0 / float(np.sqrt(D)), do_rotary=1, rotary_interleaved=0)
        o = g.matmul(attn, layer.o, f"{p}.attn.o")
        h, _, _, x = g.op("SkipSimplifiedLayerNormalization",
                          [o, x, g.weight(f"{p}.post_attention_layernorm.weight", layer.post_norm)],
                          [f"{p}/h_mlp", "", "", f"{p}/x_mlp"], domain=MS, epsilon=eps)
        gate = g.matmul(h, layer.gate, f"{p}.mlp.gate")
        up = g.matmul(h, layer.up, f"{p}.mlp.up")
        silu = g.op("Mul", [gate, g.op("Sigmoid", [gate], [f"{p}/gate_sigmoid"])[0]], [f"{p}/silu"])[0]
        down = g.matmul(g.op("Mul", [silu, up], [f"{p}/swiglu"])[0], layer.down, f"{p}.mlp.down")
        norm_name = f"layers.{i + 1}.input_layernorm" if i + 1 < n_layer else "norm"
        gamma = weights.layers[i + 1].input_norm if i + 1 < n_layer else weights.norm
        h, _, _, x = g.op("SkipSimplifiedLayerNormalization", [down, x, g.weight(f"{norm_name}.weight", gamma)],
                          [f"h{i + 1}", "", "", f"x{i + 1}"], domain=MS, epsilon=eps)

    g.lm_head(h, embed, weights.lm_head, weights.tied)
    return g.model("chatcluster-fused-llama", n_layer, n_kv, D, V, position_ids=False)
