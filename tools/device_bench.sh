#!/usr/bin/env bash
# Runs the decode benchmarks on a machine with a real GPU through Vulkan and writes the numbers,
# with the adapter name, to docs/PERFORMANCE.md (a section per run, appended).
#
#   tools/device_bench.sh [LAYERS]      # default 27: the V2-Lite-decode-work file of issue 9
#
# Needs cargo and a Vulkan loader and driver (libvulkan1). Builds in release, runs the GPU kernel
# tests first (a benchmark of wrong kernels is worthless), then:
#   wgpu-ds bench --shape v2-lite --layers LAYERS --experts 8 --type q4_k --profile
#       (per-matvec table, decode, roofline, dispatches, per-kernel GPU time)
#   the same with --precision exact                                         (f32 latent cache)
#   wgpu-ds bench --shape v3 --layers 4 --experts 8 --type q4_k            (V3 widths)
#   prefill at 64, 256 and 512 tokens with the weight bytes each chunk reads, as the adapter
#   defaults it (mul_mm, MoE grouped by expert), then with each of the two turned off
#   (WGPU_DS_MUL_MM=off, WGPU_DS_MOE_GROUPED=off), and on V2-Lite's own 64 experts (4 layers)
set -euo pipefail
cd "$(dirname "$0")/.."
layers="${1:-27}"
export WGPU_BACKEND=vulkan
out=docs/PERFORMANCE.md
log=$(mktemp)

cargo build --release 2>&1 | tail -1
cargo test --release --test gpu_matvec --test gpu_ops --test gpu_fused --test gpu_attention \
    --test gpu_moe_group --test gpu_mul_mm 2>&1 |
    grep -E "test result|panicked" || true

bin=target/release/wgpu-ds
adapter=$("$bin" devices 2>&1 | head -1)
{
    echo
    echo "## $(date -u +%Y-%m-%d) — ${adapter}"
    echo
    echo '```'
    echo "\$ wgpu-ds bench --shape v2-lite --layers $layers --experts 8 --type q4_k -p 16 -n 32 --profile"
    "$bin" bench --shape v2-lite --layers "$layers" --experts 8 --type q4_k -p 16 -n 32 --profile 2>&1
    echo
    echo "\$ wgpu-ds bench --shape v2-lite --layers $layers --experts 8 --type q4_k -p 16 -n 32 --precision exact"
    "$bin" bench --shape v2-lite --layers "$layers" --experts 8 --type q4_k -p 16 -n 32 --precision exact 2>&1 |
        grep -E "decode|roofline" || true
    echo
    pp="--shape v2-lite --layers $layers --experts 8 --type q4_k -p 1 -n 4 --reps 1"
    for env in "" "WGPU_DS_MUL_MM=off" "WGPU_DS_MOE_GROUPED=off"; do
        echo
        echo "\$ $env wgpu-ds bench $pp --pp 64,256,512"
        env $env "$bin" bench $pp --pp 64,256,512 2>&1 | grep -E "pp[0-9]|decode:" || true
    done
    for env in "" "WGPU_DS_MOE_GROUPED=off"; do
        echo
        echo "\$ $env wgpu-ds bench --shape v2-lite --layers 4 -p 1 -n 4 --reps 1 --pp 64,512"
        env $env "$bin" bench --shape v2-lite --layers 4 -p 1 -n 4 --reps 1 --pp 64,512 2>&1 |
            grep -E "pp[0-9]|decode:" || true
    done
    echo
    echo "\$ wgpu-ds bench --shape v3 --layers 4 --experts 8 --type q4_k -p 16 -n 16"
    "$bin" bench --shape v3 --layers 4 --experts 8 --type q4_k -p 16 -n 16 2>&1 ||
        echo "(the V3 bench stopped with the error above)"
    echo '```'
} | tee "$log"
cat "$log" >>"$out"
echo "appended to $out"
