#!/usr/bin/env python3
"""Writes block-exact dequantization fixtures for Scribe's Dequantizer tests.

For each format: raw block bytes and the float32 values the `gguf` Python package's
reference `gguf.quants.dequantize` gives for them. Where gguf.quants can quantize the
format, the raw bytes come from quantizing random-ish data with edge values; where it
can only dequantize (the k-quants), valid blocks are crafted from random bytes with sane
f16 scales. Deterministic: rerunning with the same numpy and gguf gives the same files.

    pip install gguf==0.17.1
    python3 Tests/Fixtures/quant/make_quant_fixtures.py
"""
import base64
import json
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240611)


def edge_rows(width):
    """Rows of `width` floats that stress scale computation: zeros, huge, tiny, one-signed."""
    rows = [
        np.zeros(width),
        rng.normal(0, 1, width),
        rng.normal(0, 1, width) * 1e4,            # large: f16 scales near their limit
        -np.abs(rng.normal(0, 1, width)) * 3e5,   # scale overflows f16 to infinity
        np.abs(rng.normal(0, 1, width)) * 1e-6,   # scale underflows to an f16 subnormal
        rng.normal(5, 0.1, width),                # all positive, narrow range: min matters
        -np.abs(rng.normal(0, 2, width)),         # all negative
        np.where(rng.random(width) < 0.5, 0.0, rng.normal(0, 50, width)),  # half zeros
        np.full(width, -7.25),                    # constant: d = 0 for the min/max types
        rng.integers(-8, 8, width).astype(np.float64),  # exactly representable levels
    ]
    return np.stack(rows).astype(np.float32)


def half_bits(values):
    return np.asarray(values, dtype=np.float16).view(np.uint16)


def sane_scales(count, low=-12, high=2):
    """Positive f16 scales spread over several decades, as bit patterns."""
    return half_bits(np.exp2(rng.uniform(low, high, count)))


def crafted_blocks(qtype, count, scale_fields):
    """Random block bytes with each f16 field at `scale_fields` offsets set to a sane scale."""
    _, type_size = gguf.GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, (count, type_size), dtype=np.uint8)
    for offset in scale_fields:
        blocks[:, offset:offset + 2] = sane_scales(count).view(np.uint8).reshape(count, 2)
    # Last block: extreme scales (largest finite f16, and negative), to check the arithmetic order.
    for index, offset in enumerate(scale_fields):
        value = [65504.0, -0.0078125][index % 2]
        blocks[-1, offset:offset + 2] = half_bits([value]).view(np.uint8)
    return blocks


def write(qtype, raw, note):
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    expected = dequantize(raw, qtype).astype("<f4", copy=False).reshape(-1)
    fixture = {
        "type": qtype.name,
        "elements": int(expected.size),
        "source": note,
        "raw": base64.b64encode(raw.tobytes()).decode(),
        "expected": base64.b64encode(expected.tobytes()).decode(),
    }
    path = os.path.join(HERE, f"{qtype.name}.json")
    with open(path, "w") as f:
        json.dump(fixture, f, indent=0)
        f.write("\n")
    print(f"{path}: {expected.size} elements, {raw.size} bytes, {np.isnan(expected).sum()} NaN")


def float_specials():
    return np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 65504.0, 65520.0, 1e-8,
                     -1e-8, 6.1e-5, 5.96e-8, 3.4e38, -3.4e38, 1e-40, -1e-45, 0.1, 1 / 3, -2.5],
                    dtype=np.float32)


def main():
    specials = float_specials()

    # F32: quantize is a cast and dequantize a view, so this pins the plain copy.
    values = np.concatenate([specials, rng.normal(0, 100, 236).astype(np.float32)])
    nan_bits = np.array([0x7fc00001, 0xffc00000, 0x7f800001, 0xff812345], dtype=np.uint32).view(np.float32)
    write(T.F32, quantize(np.concatenate([values, nan_bits]), T.F32).view(np.uint8), "quantize(F32)")

    # F16: every class of half (subnormals, infinities, quiet and signalling NaNs with payloads).
    half = np.concatenate([
        half_bits(specials),
        np.array([0x0001, 0x8001, 0x03ff, 0x83ff, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00,
                  0x7c01, 0xfc01, 0x7e00, 0xfe00, 0x7fff, 0x7d23, 0x3c00, 0x3555], dtype=np.uint16),
        rng.integers(0, 1 << 16, 475, dtype=np.uint16),
    ])
    write(T.F16, half.view(np.uint8), "half bit patterns")

    # BF16: quantized from floats (rounding to nearest even, NaNs quieted), then random bits.
    bf16 = quantize(np.concatenate([specials, rng.normal(0, 1e3, 236).astype(np.float32)]), T.BF16)
    write(T.BF16, np.concatenate([bf16.view(np.uint8), rng.integers(0, 256, 512, dtype=np.uint8)]),
          "quantize(BF16) then random bits")

    # Legacy 32-element formats: quantized edge rows (8 blocks each), then crafted blocks
    # that reach quant values quantization seldom produces.
    legacy = {T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0]}
    for qtype, scale_fields in legacy.items():
        quantized = quantize(edge_rows(32 * 8), qtype).reshape(-1, gguf.GGML_QUANT_SIZES[qtype][1])
        crafted = crafted_blocks(qtype, 16, scale_fields)
        write(qtype, np.concatenate([quantized, crafted]), f"quantize({qtype.name}) then crafted")

    # k-quants: gguf.quants only dequantizes them, so every block is crafted.
    kquants = {T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}
    for qtype, scale_fields in kquants.items():
        blocks = crafted_blocks(qtype, 6, scale_fields)
        blocks[0, :] = 0  # an all-zero block
        write(qtype, blocks, "crafted")


if __name__ == "__main__":
    # Overflowing scales (to f16 infinity) and inf * 0 are intended edge cases.
    with np.errstate(over="ignore", invalid="ignore"):
        main()
