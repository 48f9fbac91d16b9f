#!/usr/bin/env bash
# Builds the browser demo into web/dist/ (a static site: open it from any static host, e.g.
# `python3 -m http.server -d web/dist`). On a fresh Debian machine it installs what it needs:
#   - Debian's Rust with its library source (rustc-web, cargo-web, rust-web-src) and wasm-ld
#     (lld-22): rustup here has no wasm32 target, so std is built from source (-Zbuild-std);
#   - wasm-bindgen-cli at exactly the version of the wasm-bindgen crate web/Cargo.toml pins.
# Then: the tiny model in F16, Q8_0, Q4_K and Q4_0 converted from its checkpoint by the native
# `wgpu-ds convert`, the library and web/ built for wasm32-unknown-unknown, the bindings generated.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN=0.2.130 # = the `wasm-bindgen = "=..."` pin in web/Cargo.toml
DIST=web/dist
TARGET_DIR=target/wasm
QUANTS="f16 q8_0 q4_k q4_0"

missing=()
for p in rustc-web cargo-web rust-web-src lld-22; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN" ]; then
    echo "installing wasm-bindgen-cli $WASM_BINDGEN"
    cargo install -q wasm-bindgen-cli --version "=$WASM_BINDGEN"
fi
bindgen="$(command -v wasm-bindgen)"

rm -rf "$DIST"
mkdir -p "$DIST/models" "$DIST/pkg"

# The models, converted by the native tool (the dev profile `cargo test` shares).
cargo build -q --bin wgpu-ds
echo "[" > "$DIST/models/index.json"
sep=""
for q in $QUANTS; do
    Q="$(echo "$q" | tr a-z A-Z)"
    file="wgpu-ds-tiny-$Q.gguf"
    target/debug/wgpu-ds convert models/wgpu-ds-tiny/checkpoint -o "$DIST/models/$file" \
        --type "$q" --name wgpu-ds-tiny >/dev/null
    bytes=$(stat -c %s "$DIST/models/$file")
    printf '%s  {"file": "%s", "label": "%s", "bytes": %s}' "$sep" "$file" "$Q" "$bytes" >> "$DIST/models/index.json"
    sep=$',\n'
done
printf '\n]\n' >> "$DIST/models/index.json"

# The library and the page's engine for wasm32, with Debian's compiler and std source.
PATH="/usr/bin:$PATH" RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22 CARGO_TARGET_DIR="$TARGET_DIR" \
    cargo build -q --release --manifest-path web/Cargo.toml \
    -Zbuild-std=std,panic_abort --target wasm32-unknown-unknown
"$bindgen" --target web --no-typescript --out-dir "$DIST/pkg" \
    "$TARGET_DIR/wasm32-unknown-unknown/release/wgpu_ds_web.wasm"
cp web/static/index.html web/static/app.js web/static/style.css "$DIST/"
echo "web/dist: $(du -sh "$DIST" | cut -f1) ($(stat -c %s "$DIST/pkg/wgpu_ds_web_bg.wasm") bytes of wasm)"
