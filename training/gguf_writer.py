"""A minimal writer of the GGUF v3 file format (llama.cpp's model file), numpy only.

Layout: "GGUF", version 3, tensor count, metadata count (little-endian); the metadata (typed key/value pairs);
one info record per tensor (name, dims with the fastest-varying first, ggml type, offset into the data); then
the tensor data, every tensor starting at a multiple of ALIGNMENT. A numpy array of shape (rows, cols) is
written with dims (cols, rows): ggml's ne[0] is the contiguous dimension.
"""
from __future__ import annotations

import struct

import numpy as np

ALIGNMENT = 32          # general.alignment's default: no need to write the key

# ggml tensor types
GGML_F32 = 0
GGML_Q8_0 = 8
Q8_0_BLOCK = 32         # values per Q8_0 block: one float16 scale, then 32 int8

# metadata value types
_UINT32, _INT32, _FLOAT32, _BOOL, _STRING, _ARRAY = 4, 5, 6, 7, 8, 9


def quantize_q8_0(x: np.ndarray) -> bytes:
    """ggml's reference Q8_0: per block of 32 along a row, scale = max|x| / 127 (float16), q = round(x / scale)."""
    rows, cols = x.shape
    if cols % Q8_0_BLOCK:
        raise ValueError(f"Q8_0 needs rows of a multiple of {Q8_0_BLOCK} values, not {cols}")
    blocks = x.astype(np.float32).reshape(-1, Q8_0_BLOCK)
    scale = np.abs(blocks).max(axis=1, keepdims=True) / 127.0
    inverse = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale != 0)
    # np.round rounds halves to even, ggml's roundf away from zero: do as ggml does.
    q = np.trunc(blocks * inverse + np.copysign(0.5, blocks)).astype(np.int8)
    record = np.dtype([("d", "<f2"), ("qs", "i1", Q8_0_BLOCK)])
    out = np.empty(len(blocks), dtype=record)
    out["d"] = scale[:, 0].astype(np.float16)
    out["qs"] = q
    return out.tobytes()


class GgufWriter:
    def __init__(self):
        self._metadata: list[bytes] = []
        self._tensors: list[tuple[str, tuple[int, ...], int, bytes]] = []

    def add_uint32(self, key: str, value: int):
        self._add(key, struct.pack("<I", _UINT32) + struct.pack("<I", value))

    def add_float32(self, key: str, value: float):
        self._add(key, struct.pack("<I", _FLOAT32) + struct.pack("<f", value))

    def add_bool(self, key: str, value: bool):
        self._add(key, struct.pack("<I", _BOOL) + struct.pack("<B", 1 if value else 0))

    def add_string(self, key: str, value: str):
        self._add(key, struct.pack("<I", _STRING) + _string(value))

    def add_strings(self, key: str, values: list[str]):
        self._add(key, struct.pack("<IIQ", _ARRAY, _STRING, len(values)) + b"".join(_string(v) for v in values))

    def add_int32s(self, key: str, values: list[int]):
        self._add(key, struct.pack("<IIQ", _ARRAY, _INT32, len(values)) + np.asarray(values, dtype="<i4").tobytes())

    def add_tensor(self, name: str, array: np.ndarray, q8_0: bool = False):
        """A float tensor, float32 or (2-D only) Q8_0 along its rows."""
        array = np.ascontiguousarray(array, dtype=np.float32)
        if q8_0:
            data, kind = quantize_q8_0(array), GGML_Q8_0
        else:
            data, kind = array.astype("<f4").tobytes(), GGML_F32
        self._tensors.append((name, tuple(reversed(array.shape)), kind, data))

    def write(self, path: str):
        infos, offset = [], 0
        for name, dims, kind, data in self._tensors:
            infos.append(_string(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
                         + struct.pack("<IQ", kind, offset))
            offset = _aligned(offset + len(data))
        with open(path, "wb") as f:
            f.write(b"GGUF" + struct.pack("<IQQ", 3, len(self._tensors), len(self._metadata)))
            f.write(b"".join(self._metadata))
            f.write(b"".join(infos))
            f.write(b"\0" * (_aligned(f.tell()) - f.tell()))
            for _, _, _, data in self._tensors:
                f.write(data)
                f.write(b"\0" * (_aligned(len(data)) - len(data)))

    def _add(self, key: str, typed_value: bytes):
        self._metadata.append(_string(key) + typed_value)


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


def _aligned(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
