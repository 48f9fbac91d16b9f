#!/usr/bin/env python3
"""Writes tests/fixtures/dequant_expected.json, the expected values of tests/quant.rs.

1. "dequant": every tensor of every tests/fixtures/oracle/models/*.gguf dequantized by gguf-py
   (`gguf.quants.dequantize`, bit-identical to llama.cpp's dequantize_row_*): the FNV-1a 64-bit hash
   of the little-endian f32 bytes of all its values (row after row) and its first 4 values.
2. "iquants": blocks of the i-quant types no oracle model uses (IQ4_NL, IQ4_XS and the grid types
   IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M), their bytes from
   a 64-bit LCG with each block's f16 scale set to a finite value (`iquant_blocks`, which
   tests/quant.rs rebuilds), dequantized by gguf-py: hash and first 4 values as above.
3. "quantize": a synthetic input (exactly representable, so Rust rebuilds it bit for bit) quantized
   by gguf-py's `gguf.quants.quantize` for every type gguf-py can quantize: the FNV-1a hash of the
   bytes. gguf-py's quantizers are ports of llama.cpp's quantize_row_*_ref.

Usage: python3 tools/gen_dequant_expected.py   (needs `pip install gguf numpy`; takes ~1 minute)
"""
import glob
import json
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODELS = os.path.join(ROOT, "tests/fixtures/oracle/models")
OUT = os.path.join(ROOT, "tests/fixtures/dequant_expected.json")

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK64 = (1 << 64) - 1


def fnv1a64(data: bytes) -> str:
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK64
    return f"{h:016x}"


def f32_text(v) -> str:
    """Shortest decimal that reads back as the same f32."""
    v = np.float32(v)
    assert np.isfinite(v), v
    if v == 0:
        return "-0.0" if np.signbit(v) else "0.0"  # llama.cpp writes -0.0 for 0·(negative d)
    pos = np.format_float_positional(v, unique=True, trim="-")
    sci = np.format_float_scientific(v, unique=True, trim="-")
    return min(pos, sci, key=len)


def quantize_input() -> np.ndarray:
    """QUANT_ROWS rows of QUANT_N: 24-bit signed integers from a 64-bit LCG times a power of two
    per row (exact in f32), plus blocks that exercise edge cases in row 0. tests/quant.rs
    `quantize_input` builds the same values."""
    rows, n = QUANT_ROWS, QUANT_N
    state = 0x853C49E6748FEA9B
    x = np.empty((rows, n), dtype=np.float32)
    for r in range(rows):
        scale = np.float32(2.0 ** QUANT_ROW_EXP[r])
        for i in range(n):
            state = (state * 6364136223846793005 + 1442695040888963407) & MASK64
            v = (state >> 40) - (1 << 23)  # top 24 bits, centred: |v| <= 2^23
            x[r, i] = np.float32(v) * scale
    x[0, 0:32] = 0.0  # an all-zero block
    x[0, 32:64] = 0.75  # a constant block
    x[0, 64:96] *= np.float32(1.0 / 64)
    x[0, 80] = np.float32(3.0)  # one outlier
    x[0, 96:128] = -np.abs(x[0, 96:128])  # all negative
    x[0, 256:512] = 0.0  # an all-zero super-block
    return x


IQUANT_TYPES = {
    T.IQ4_NL: (18, 32),
    T.IQ4_XS: (136, 256),
    T.IQ2_XXS: (66, 256),
    T.IQ2_XS: (74, 256),
    T.IQ2_S: (82, 256),
    T.IQ3_XXS: (98, 256),
    T.IQ3_S: (110, 256),
    T.IQ1_S: (50, 256),
    T.IQ1_M: (56, 256),
}
IQUANT_BLOCKS = 64


def iquant_blocks(type_size: int, n_blocks: int, iq1m: bool = False) -> bytes:
    """n_blocks blocks of random bytes from the same LCG as quantize_input, each block's first two
    bytes (its f16 scale d) replaced by a finite half: sign and exponent 1..23 from the stream.
    IQ1_M keeps its scale in the top nibbles of its last four u16 words instead: bit 14 of the
    last word (the exponent's top bit) is cleared, so the scale is finite."""
    state = 0x2545F4914F6CDD1D
    out = bytearray()
    for _ in range(n_blocks):
        block = bytearray()
        for _ in range(type_size):
            state = (state * 6364136223846793005 + 1442695040888963407) & MASK64
            block.append(state >> 56)
        r = block[0] | (block[1] << 8)
        exp = 1 + (r >> 10) % 23
        half = (r & 0x8000) | (exp << 10) | (r & 0x3FF)
        block[0], block[1] = half & 0xFF, half >> 8
        if iq1m:
            block[type_size - 1] &= 0xBF
        out += block
    return bytes(out)


QUANT_ROWS = 8
QUANT_N = 512
# row r is v·2^e with |v| <= 2^23, so values up to 2^(23 + e): row 1 has fp16-subnormal block
# scales, row 7 values up to 4096
QUANT_ROW_EXP = [-23, -41, -27, -25, -23, -22, -20, -11]
QUANT_TYPES = [T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]
# gguf-py cannot quantize these: FNV-1a hashes of quantize_input as ggml quantizes it without an
# importance matrix (ggml_quantize_chunk, what llama-quantize calls; ggml 9a4acb37 built with
# CMake's Release defaults, measured on 2026-12-06).
GGML_QUANT_HASHES = {"IQ4_NL": "bbee40bf4b48524b", "IQ4_XS": "8cf456edca4965da"}


def main():
    files = {}
    for path in sorted(glob.glob(os.path.join(MODELS, "*.gguf"))):
        reader = gguf.GGUFReader(path)
        tensors = {}
        for t in reader.tensors:
            values = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(-1)
            assert values.size == int(t.n_elements), t.name
            first = values[:4]
            tensors[t.name] = [t.tensor_type.name, fnv1a64(values.astype("<f4").tobytes())] + [
                f32_text(v) for v in first
            ]
        files[os.path.basename(path)] = tensors
        print(os.path.basename(path), len(tensors), "tensors", flush=True)

    iquants = {}
    for qt, (type_size, blck) in IQUANT_TYPES.items():
        raw = np.frombuffer(iquant_blocks(type_size, IQUANT_BLOCKS, qt == T.IQ1_M), dtype=np.uint8)
        values = np.asarray(dequantize(raw, qt), dtype=np.float32).reshape(-1)
        assert values.size == IQUANT_BLOCKS * blck
        iquants[qt.name] = [fnv1a64(values.astype("<f4").tobytes())] + [f32_text(v) for v in values[:4]]

    x = quantize_input()
    quant = {}
    for qt in QUANT_TYPES:
        q = np.asarray(quantize(x, qt))
        quant[qt.name] = fnv1a64(q.view(np.uint8).tobytes())

    # Hand-written JSON: one tensor per line, floats as their shortest f32 text.
    out = ["{", f'  "gguf_py_version": "{gguf_version()}",', '  "hash": "FNV-1a 64 of the bytes",']
    out.append('  "quantize": {')
    out.append(f'    "rows": {QUANT_ROWS}, "n_per_row": {QUANT_N}, "row_exp": {QUANT_ROW_EXP},')
    out.append('    "hashes": ' + json.dumps(quant) + ",")
    out.append('    "ggml_hashes": ' + json.dumps(GGML_QUANT_HASHES))
    out.append("  },")
    out.append(f'  "iquants": {{"blocks": {IQUANT_BLOCKS}, "values": ' + json.dumps(iquants) + "},")
    out.append('  "dequant": {')
    for fi, (fname, tensors) in enumerate(files.items()):
        out.append(f'    "{fname}": {{')
        items = list(tensors.items())
        for ti, (name, (ty, h, *first)) in enumerate(items):
            comma = "," if ti + 1 < len(items) else ""
            out.append(f'      "{name}": ["{ty}", "{h}", {", ".join(first)}]{comma}')
        out.append("    }" + ("," if fi + 1 < len(files) else ""))
    out.append("  }")
    out.append("}")
    with open(OUT, "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote", OUT)


def gguf_version() -> str:
    try:
        from importlib.metadata import version

        return version("gguf")
    except Exception:
        return "unknown"


if __name__ == "__main__":
    main()
