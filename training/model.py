"""Decoder-only transformers, small enough to read in one sitting: GPT-2 style (here) and Llama style
(llama_model.py), chosen by the model config's `arch` through build_model.

The forward pass takes and returns a key/value cache so that the same module serves
training (no cache, causal mask only), cached decoding in evaluation, and the ONNX
export in the Hugging Face Optimum "decoder with past" layout (see export.py).

Shapes: B batch, T new tokens, P cached (past) tokens, S = P + T, C = n_embd,
nh = n_head, hs = C // nh, V = vocab_size.
References: GPT-2 (Radford et al. 2019); nanoGPT's model.py for the shape of the code.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F

# Added to the scores of keys a query must not see. Finite, so that a row whose keys are all
# masked (a left-padding query) softmaxes to a uniform row instead of NaN; -1e9 is far below any
# real score yet far above float32's minimum, so adding it twice cannot overflow.
MASKED_SCORE = -1e9


@dataclass
class GPTConfig:
    arch: str = "gpt2"       # "gpt2" (GPT below) or "llama" (llama_model.Llama): build_model dispatches on it
    vocab_size: int = 4096   # byte-level BPE: 256 bytes + merges + 3 special tokens
    n_positions: int = 512   # longest sequence the learned position table covers
    n_embd: int = 256        # model width; params grow with its square
    n_layer: int = 6         # depth; latency on a CPU grows linearly with it
    n_head: int = 8          # head size n_embd // n_head; 32 keeps the matmuls CPU-friendly
    dropout: float = 0.0     # small models on little data train for < 1 epoch: no dropout needed

    def to_dict(self) -> dict:
        return asdict(self)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.n_head = config.n_head
        self.scale = 1.0 / math.sqrt(config.n_embd // config.n_head)  # a constant: keeps the trace free of shape math
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)  # q, k, v in one matmul
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x, allowed, past_key=None, past_value=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        if past_key is not None:
            k = torch.cat([past_key, k], dim=2)    # (B, nh, S, hs)
            v = torch.cat([past_value, v], dim=2)  # (B, nh, S, hs)
        scores = (q @ k.transpose(-2, -1)) * self.scale  # (B, nh, T, S)
        scores = scores.masked_fill(~allowed, MASKED_SCORE)  # allowed: (B or 1, 1, T, S)
        att = self.dropout(F.softmax(scores, dim=-1))
        y = (att @ v).transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.c_proj(y), k, v


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.gelu = nn.GELU(approximate="tanh")  # GPT-2's gelu_new
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x, allowed, past_key=None, past_value=None):
        a, k, v = self.attn(self.ln_1(x), allowed, past_key, past_value)
        x = x + a
        return x + self.mlp(self.ln_2(x)), k, v


class Decoder(nn.Module):
    """What every architecture here shares: forward(input_ids, attention_mask, position_ids, past_key_values)
    -> (logits, presents), the attention mask it derives, and cached generation."""

    config: GPTConfig

    def cache_heads(self) -> tuple[int, int]:
        """(heads, head size) of each layer's key/value cache: the export's past_key_values shape."""
        raise NotImplementedError

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @staticmethod
    def attention_allowed(input_ids, attention_mask, past_length):
        """(B or 1, 1, T, S) bool: new token t may see key j iff j <= P + t (causal) and the key is not padding.
        Lengths come from tensor shapes, not Python ints, so an ONNX trace keeps them dynamic."""
        T = input_ids.shape[1]
        S = attention_mask.shape[1] if attention_mask is not None else past_length + T
        key_index = torch.arange(S, device=input_ids.device)                    # (S,)
        query_index = torch.arange(T, device=input_ids.device) + (S - T)        # (T,) absolute positions
        allowed = (key_index.unsqueeze(0) <= query_index.unsqueeze(1))[None, None]  # (1, 1, T, S)
        if attention_mask is not None:
            allowed = allowed & (attention_mask[:, None, None, :] != 0)         # (B, 1, T, S)
        return allowed

    @torch.no_grad()
    def generate(self, input_ids, max_new_tokens, stop_ids=(), temperature=0.0, generator=None):
        """Cached decoding of one sequence (1, T): greedy when temperature is 0. Stops after a stop id
        (which is included in the result) or at the context limit. Returns the new ids as a list."""
        new_ids, past = [], None
        x = input_ids
        for _ in range(max_new_tokens):
            position = input_ids.shape[1] + len(new_ids) - x.shape[1]
            if position + x.shape[1] > self.config.n_positions:
                break
            position_ids = torch.arange(position, position + x.shape[1], device=x.device).unsqueeze(0)
            logits, past = self(x, position_ids=position_ids, past_key_values=past)
            logits = logits[0, -1]
            if temperature > 0:
                next_id = int(torch.multinomial(F.softmax(logits / temperature, -1), 1, generator=generator))
            else:
                next_id = int(logits.argmax())
            new_ids.append(next_id)
            if next_id in stop_ids:
                break
            x = torch.tensor([[next_id]], device=input_ids.device)
        return new_ids


class GPT(Decoder):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as in GPT-2: saves V * C parameters
        self.apply(self._init_weights)
        # GPT-2's scaled init of the residual projections keeps the residual stream's variance flat with depth.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def cache_heads(self) -> tuple[int, int]:
        return self.config.n_head, self.config.n_embd // self.config.n_head

    def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None):
        """input_ids (B, T); attention_mask (B, S) of 1/0 or None (all 1); position_ids (B, T) or None
        (P..S-1); past_key_values: list of n_layer (key, value) pairs, each (B, nh, P, hs), or None.
        Returns logits (B, T, V) and the presents: n_layer (key, value) pairs, each (B, nh, S, hs)."""
        B, T = input_ids.shape
        P = 0 if past_key_values is None else past_key_values[0][0].shape[2]
        if position_ids is None:
            position_ids = torch.arange(P, P + T, device=input_ids.device).unsqueeze(0)  # (1, T)
        allowed = self.attention_allowed(input_ids, attention_mask, P)
        x = self.drop(self.wte(input_ids) + self.wpe(position_ids))  # (B, T, C)
        presents = []
        for i, block in enumerate(self.h):
            past_key, past_value = (None, None) if past_key_values is None else past_key_values[i]
            x, k, v = block(x, allowed, past_key, past_value)
            presents.append((k, v))
        return self.lm_head(self.ln_f(x)), presents  # (B, T, V)


def build_model(model_cfg: dict) -> Decoder:
    """The model a config describes: arch "gpt2" (default) or "llama". Fields another arch defines are ignored,
    so a GPTConfig dict with arch switched to "llama" gets Llama's own fields at their defaults."""
    from llama_model import Llama, LlamaConfig  # llama_model imports this module
    arch = model_cfg.get("arch", "gpt2")
    if arch not in ("gpt2", "llama"):
        raise ValueError(f'unknown model arch "{arch}" (expected "gpt2" or "llama")')
    config_type, model_type = (GPTConfig, GPT) if arch == "gpt2" else (LlamaConfig, Llama)
    names = {f.name for f in dataclasses.fields(config_type)}
    return model_type(config_type(**{k: v for k, v in model_cfg.items() if k in names}))
