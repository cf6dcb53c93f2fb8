"""Block-wise symmetric quantization of a matmul weight into ONNX Runtime's com.microsoft MatMulNBits layout.

MatMulNBits(A, B, scales[, zero_points, g_idx, bias]) computes A @ W with W (K, N) stored as
  B:      uint8 (N, K / block, block * bits / 8)  -- column n's K values, block by block
  scales: float (N * K / block,)                   -- one per column block
and no zero_points input, so the kernel's default zero point 2^(bits-1) applies: W = (q - 2^(bits-1)) * scale.
4-bit values are packed two per byte, the even index in the low nibble.
The scale maps each block's largest magnitude to 2^(bits-1) - 1 (7 or 127), so the code range is symmetric.
"""
from __future__ import annotations

import numpy as np


def quantize(w: np.ndarray, bits: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """w (K, N) float32 -> (B uint8 (N, K/block, block*bits/8), scales float32 (N*K/block,))."""
    K, N = w.shape
    if K % block:
        raise ValueError(f"K={K} is not a multiple of the block size {block}")
    blocks = w.T.reshape(N, K // block, block).astype(np.float32)            # (N, nb, block)
    top = (1 << (bits - 1)) - 1
    scales = np.abs(blocks).max(axis=2) / top                               # (N, nb)
    scales[scales == 0] = 1.0
    q = np.clip(np.rint(blocks / scales[..., None]), -top, top).astype(np.int32) + (1 << (bits - 1))
    q = q.astype(np.uint8)
    if bits == 4:
        q = q[..., 0::2] | (q[..., 1::2] << 4)                              # (N, nb, block/2)
    elif bits != 8:
        raise ValueError(f"bits must be 4 or 8, not {bits}")
    return np.ascontiguousarray(q), scales.reshape(-1).astype(np.float32)


def dequantize(packed: np.ndarray, scales: np.ndarray, bits: int, K: int) -> np.ndarray:
    """The inverse, (K, N) float32: what the kernel multiplies by (for checks)."""
    N, nb, _ = packed.shape
    if bits == 4:
        q = np.stack([packed & 0x0F, packed >> 4], axis=-1).reshape(N, nb, -1)
    else:
        q = packed
    w = (q.astype(np.float32) - (1 << (bits - 1))) * scales.reshape(N, nb, 1)
    return w.reshape(N, K).T
