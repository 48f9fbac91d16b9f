#!/usr/bin/env bash
# The serve load benchmark (tests/serve_load.rs): 16 clients x 25 requests against -np 4 and
# -np 1, answers checked, RSS before and after, aggregate tokens/s and their ratio.
#   tools/serve_load.sh                         # the GPU (WGPU_BACKEND picks the API)
#   SERVE_LOAD_BACKEND=cpu tools/serve_load.sh  # the CPU reference
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --release --test serve_load -- --ignored --nocapture
