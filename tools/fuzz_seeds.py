#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/seeds/<target>/) from the test fixtures:
oracle GGUF files cut at offsets inside their headers, the oracle tokenization texts, chat templates read from the fixture GGUFs with a short
conversation, the Hugging Face config.json / tokenizer.json files, and small safetensors files of
every dtype the converter reads. `cargo test` replays every seed (tests/fuzz_regressions.rs).
Run from the repository root: python3 tools/fuzz_seeds.py"""

import hashlib
import json
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests/fixtures/oracle"
OUT = ROOT / "fuzz/seeds"


def put(target, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def gguf_string_kv(path, key):
    """The string value of `key` in a GGUF file's metadata (v2/v3), or None."""
    b = path.read_bytes()
    if b[:4] != b"GGUF":
        return None
    off = 8
    n_tensors, n_kv = struct.unpack_from("<QQ", b, off)
    off += 16

    def s(o):
        n = struct.unpack_from("<Q", b, o)[0]
        return b[o + 8:o + 8 + n], o + 8 + n

    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def skip(t, o):
        if t == 8:
            return s(o)[1]
        if t == 9:
            et, n = struct.unpack_from("<IQ", b, o)
            o += 12
            for _ in range(n):
                o = skip(et, o)
            return o
        return o + sizes[t]

    for _ in range(n_kv):
        k, off = s(off)
        t = struct.unpack_from("<I", b, off)[0]
        off += 4
        if k.decode() == key and t == 8:
            return s(off)[0]
        off = skip(t, off)
    return None


def main():
    # Real GGUF files cut at offsets inside their header, metadata and tensor infos.
    for g in [FIX / "models/tiny-v2lite-s-Q4_K_M.gguf", FIX / "models/tiny-v3-s-Q8_0.gguf"]:
        b = g.read_bytes()
        for cut in (24, 64, 512, 4096, 8000):
            put("gguf_parse", b[:cut])

    cases = json.loads((FIX / "tokenization/tokenization_cases.json").read_text())["cases"]
    for c in cases:
        put("tokenizer", c["text"].encode())

    conversation = b"\0You are helpful.\0hi\0Hello! How can I help?\0what is 2+2?"
    ggufs = [FIX / "vocab/vocab-deepseek-v3.gguf", ROOT / "models/wgpu-ds-tiny/wgpu-ds-tiny-Q8_0.gguf"]
    ggufs += sorted((FIX / "models").glob("tiny-*-F32.gguf"))
    for g in ggufs:
        tmpl = gguf_string_kv(g, "tokenizer.chat_template")
        if tmpl:
            put("chat_template", tmpl + conversation)
    put("chat_template", b"{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        + conversation)

    hf = sorted((FIX / "models/hf").iterdir()) + [ROOT / "models/wgpu-ds-tiny/checkpoint"]
    for d in hf:
        put("hf_config", (d / "config.json").read_bytes())
        tc = d / "tokenizer_config.json"
        put("tokenizer_json", (d / "tokenizer.json").read_bytes() + b"\0"
            + (tc.read_bytes() if tc.exists() else b""))

    def safetensors(tensors, metadata=None):
        header, data = {}, b""
        for name, dtype, shape, raw in tensors:
            header[name] = {"dtype": dtype, "shape": shape,
                            "data_offsets": [len(data), len(data) + len(raw)]}
            data += raw
        if metadata:
            header["__metadata__"] = metadata
        h = json.dumps(header).encode()
        h += b" " * (-len(h) % 8)
        return struct.pack("<Q", len(h)) + h + data

    f32 = struct.pack("<6f", 1, -2, 3.5, 0, 1e-3, -7)
    put("safetensors", safetensors([("a.weight", "F32", [2, 3], f32)], {"format": "pt"}))
    put("safetensors", safetensors([
        ("b", "BF16", [4], bytes([0x80, 0x3f, 0, 0xc0, 0x49, 0x40, 0, 0])),
        ("c", "F16", [2, 2], struct.pack("<4e", 1, -1, 0.5, 65504)),
        ("d", "F8_E4M3", [2, 2], bytes([0x38, 0xb8, 0x7e, 0x01])),
    ]))
    put("safetensors", safetensors([]))


if __name__ == "__main__":
    main()
