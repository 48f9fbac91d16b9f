"""Writes src/quant/iq_grids/: the lookup tables of ggml's grid i-quants (IQ1_S, IQ1_M, IQ2_XXS,
IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S) copied from ggml's ggml-common.h, under ggml's names.

Usage: python3 tools/gen_iq_grids.py path/to/ggml/src/ggml-common.h
(the committed file came from ggml d99724f2b141fed9e1a9f402213506c081433465)
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "src/quant/iq_grids")
# Tables small enough to sit in mod.rs; every grid gets a file of its own (one table per file,
# four or eight entries per line, kept so by #[rustfmt::skip]: each file stays under 600 lines).
SMALL = {"kmask_iq2xs", "ksigns_iq2xs"}

# (C name, Rust type, entries per line, doc)
TABLES = [
    ("kmask_iq2xs", "u8", 8, "bit j of a sign byte"),
    ("ksigns_iq2xs", "u8", 16, "7 stored sign bits → 8 (the eighth makes the count of minus signs even)"),
    ("iq2xxs_grid", "u64", 4, "IQ2_XXS: 8 magnitudes (bytes 0x08, 0x19, 0x2b) per 8-bit index"),
    ("iq2xs_grid", "u64", 4, "IQ2_XS: 8 magnitudes per 9-bit index"),
    ("iq2s_grid", "u64", 4, "IQ2_S: 8 magnitudes per 10-bit index"),
    ("iq3xxs_grid", "u32", 8, "IQ3_XXS: 4 magnitudes (bytes 0x04 ..= 0x3e) per 8-bit index"),
    ("iq3s_grid", "u32", 8, "IQ3_S: 4 magnitudes (odd bytes 1 ..= 15) per 9-bit index"),
    ("iq1s_grid", "u64", 4, "IQ1_S and IQ1_M: 8 signed values (bytes -1, 0, 1) per 11-bit index"),
]


def table(src: str, name: str) -> list[int]:
    m = re.search(r"GGML_TABLE_BEGIN\(\w+, " + name + r", (\w+)\)(.*?)GGML_TABLE_END\(\)", src, re.S)
    if m is None:
        sys.exit(f"{name} not found")
    return [int(v, 0) for v in re.findall(r"0x[0-9a-fA-F]+|\d+", m.group(2))]


def const(src: str, name: str, ty: str, per_line: int, doc: str) -> list[str]:
    values = table(src, name)
    width = {"u8": 0, "u32": 8, "u64": 16}[ty]
    fmt = (lambda v: str(v)) if width == 0 else (lambda v: f"0x{v:0{width}x}")
    out = [f"/// {name}: {doc}."]
    if name not in SMALL:
        out.append("#[rustfmt::skip]")
    out.append(f"pub const {name.upper()}: [{ty}; {len(values)}] = [")
    for i in range(0, len(values), per_line):
        out.append("    " + ", ".join(fmt(v) for v in values[i : i + per_line]) + ",")
    out.append("];")
    return out


def main():
    src = open(sys.argv[1]).read()
    os.makedirs(OUT, exist_ok=True)
    head = [
        "//! Lookup tables of ggml's grid i-quants, as ggml-common.h has them (written by",
        "//! tools/gen_iq_grids.py; do not edit). Grid entries pack their values one per byte, lowest",
        "//! byte first. The sign tables are here, each grid in a file of its own.",
        "",
    ]
    grids = [t for t in TABLES if t[0] not in SMALL]
    head += [f"mod {name};" for name, *_ in grids]
    head.append("")
    head += [f"pub use {name}::{name.upper()};" for name, *_ in grids]
    for name, ty, per_line, doc in TABLES:
        if name in SMALL:
            head.append("")
            head += const(src, name, ty, per_line, doc)
        else:
            body = [f"//! ggml's {name} (written by tools/gen_iq_grids.py; do not edit).", ""]
            body += const(src, name, ty, per_line, doc)
            open(os.path.join(OUT, f"{name}.rs"), "w").write("\n".join(body) + "\n")
    open(os.path.join(OUT, "mod.rs"), "w").write("\n".join(head) + "\n")
    print(OUT, len(grids), "grid files")


if __name__ == "__main__":
    main()
