"""A Llama-style decoder: the architecture most open chat models share (Llama 2/3, Mistral, Qwen 2, Gemma
with small changes), in the same forward/cache contract as model.GPT so that training, evaluation and the
ONNX export treat both alike.

Differences from GPT-2: RMSNorm instead of LayerNorm; no position table, rotary position embeddings (RoPE)
applied to queries and keys from explicit position ids; grouped-query attention, where n_head query heads
share n_kv_head key/value heads (the cache is n_head / n_kv_head times smaller); a SwiGLU MLP; no biases.
The output projection is tied to the token embedding (as Llama 3.2 1B/3B and Gemma do): at test sizes the
V x C matrix would otherwise be most of the parameters.

Shapes: B batch, T new tokens, P cached tokens, S = P + T, C = n_embd, nh = n_head, nkv = n_kv_head,
g = nh // nkv (query heads per key/value head), hs = C // nh.
Weights follow Hugging Face's LlamaForCausalLM layout and conventions (rotate_half RoPE, query head h reads
key/value head h // g), so the exported config.json describes this computation.
References: Touvron et al. 2023 (Llama); Su et al. 2021 (RoFormer); Ainslie et al. 2023 (GQA);
Shazeer 2020 (GLU variants); transformers' modeling_llama.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from model import MASKED_SCORE, Decoder, GPTConfig


@dataclass
class LlamaConfig(GPTConfig):
    arch: str = "llama"
    n_kv_head: int = 2                 # key/value heads; must divide n_head. Fewer: a smaller cache, a little less quality
    intermediate_size: int | None = None  # SwiGLU width; None: 8/3 * n_embd rounded up to 32, the parameters of a 4x MLP
    rope_theta: float = 10000.0        # RoPE base: the longest wavelength; Llama 3 raises it to 500000 for long contexts
    rms_norm_eps: float = 1e-5

    def __post_init__(self):
        if self.n_head % self.n_kv_head:
            raise ValueError(f"n_kv_head ({self.n_kv_head}) must divide n_head ({self.n_head})")
        if self.intermediate_size is None:
            self.intermediate_size = 32 * math.ceil(8 * self.n_embd / 3 / 32)


class RMSNorm(nn.Module):
    """x / rms(x) * weight: LayerNorm without centring or bias."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    """(x1, x2) -> (-x2, x1) on the two halves of the last dimension: Hugging Face's RoPE pairing."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


class GroupedQueryAttention(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.n_kv_head = config.n_kv_head
        self.group = config.n_head // config.n_kv_head
        self.head_size = config.n_embd // config.n_head
        self.scale = 1.0 / math.sqrt(self.head_size)  # a constant: keeps the trace free of shape math
        self.q_proj = nn.Linear(config.n_embd, config.n_embd, bias=False)
        self.k_proj = nn.Linear(config.n_embd, config.n_kv_head * self.head_size, bias=False)
        self.v_proj = nn.Linear(config.n_embd, config.n_kv_head * self.head_size, bias=False)
        self.o_proj = nn.Linear(config.n_embd, config.n_embd, bias=False)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x, cos, sin, allowed, past_key=None, past_value=None):
        B, T, C = x.shape
        nkv, g, hs = self.n_kv_head, self.group, self.head_size
        # Queries grouped by the key/value head they share: broadcasting over g replaces repeating the keys.
        q = self.q_proj(x).view(B, T, nkv, g, hs).permute(0, 2, 3, 1, 4)  # (B, nkv, g, T, hs)
        k = self.k_proj(x).view(B, T, nkv, hs).transpose(1, 2)            # (B, nkv, T, hs)
        v = self.v_proj(x).view(B, T, nkv, hs).transpose(1, 2)            # (B, nkv, T, hs)
        q = q * cos.unsqueeze(2) + rotate_half(q) * sin.unsqueeze(2)      # cos, sin: (B, 1, T, hs)
        k = k * cos + rotate_half(k) * sin                                # cached rotated, as Hugging Face does
        if past_key is not None:
            k = torch.cat([past_key, k], dim=2)    # (B, nkv, S, hs)
            v = torch.cat([past_value, v], dim=2)  # (B, nkv, S, hs)
        scores = (q @ k.unsqueeze(2).transpose(-2, -1)) * self.scale        # (B, nkv, g, T, S)
        scores = scores.masked_fill(~allowed.unsqueeze(1), MASKED_SCORE)  # allowed: (B or 1, 1, 1, T, S)
        att = self.dropout(F.softmax(scores, dim=-1))
        y = (att @ v.unsqueeze(2)).permute(0, 3, 1, 2, 4).reshape(B, T, C)  # (B, T, nkv, g, hs) -> (B, T, C)
        return self.o_proj(y), k, v


class SwiGLU(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(config.n_embd, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.n_embd, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.n_embd, bias=False)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x)))


class LlamaBlock(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(config.n_embd, config.rms_norm_eps)
        self.self_attn = GroupedQueryAttention(config)
        self.post_attention_layernorm = RMSNorm(config.n_embd, config.rms_norm_eps)
        self.mlp = SwiGLU(config)

    def forward(self, x, cos, sin, allowed, past_key=None, past_value=None):
        a, k, v = self.self_attn(self.input_layernorm(x), cos, sin, allowed, past_key, past_value)
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x)), k, v


class Llama(Decoder):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        hs = config.n_embd // config.n_head
        # RoPE frequencies theta^(-2i/hs): a constant of the graph, not a parameter.
        self.register_buffer("inv_freq", config.rope_theta ** (-torch.arange(0, hs, 2).float() / hs), persistent=False)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(LlamaBlock(config) for _ in range(config.n_layer))
        self.norm = RMSNorm(config.n_embd, config.rms_norm_eps)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.embed_tokens.weight  # tied (see the module docstring)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                # As for GPT-2: the residual projections scaled down with depth keep the residual stream's variance flat.
                residual = name.endswith(("o_proj.weight", "down_proj.weight"))
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer) if residual else 0.02)

    def cache_heads(self) -> tuple[int, int]:
        return self.config.n_kv_head, self.config.n_embd // self.config.n_head

    def rotary(self, position_ids):
        """cos and sin of each position's rotation angles, (B or 1, 1, T, hs), halves repeated as rotate_half pairs them."""
        angles = position_ids[:, :, None].float() * self.inv_freq  # (B, T, hs/2)
        angles = torch.cat([angles, angles], dim=-1)[:, None]      # (B, 1, T, hs)
        return angles.cos(), angles.sin()

    def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None):
        """As GPT.forward; past and present caches have n_kv_head heads: (B, nkv, P or S, hs).
        Padding tokens may have any position id (the engine gives them 0): their keys are masked."""
        B, T = input_ids.shape
        P = 0 if past_key_values is None else past_key_values[0][0].shape[2]
        if position_ids is None:
            position_ids = torch.arange(P, P + T, device=input_ids.device).unsqueeze(0)  # (1, T)
        allowed = self.attention_allowed(input_ids, attention_mask, P)
        cos, sin = self.rotary(position_ids)
        x = self.drop(self.embed_tokens(input_ids))  # (B, T, C)
        presents = []
        for i, layer in enumerate(self.layers):
            past_key, past_value = (None, None) if past_key_values is None else past_key_values[i]
            x, k, v = layer(x, cos, sin, allowed, past_key, past_value)
            presents.append((k, v))
        return self.lm_head(self.norm(x)), presents  # (B, T, V)
