# Shared by the Ops scripts: paths and small helpers. Sourced, not run.
set -euo pipefail

SCRIBE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIBE_HOME="${SCRIBE_HOME:-$HOME/.cache/scribe}"
SCRIBE_MODEL_DIR="$SCRIBE_HOME/models"
SCRIBE_REFERENCE_MODEL="$SCRIBE_MODEL_DIR/SmolLM2-135M-Instruct.Q4_1.gguf"
SCRIBE_GEMMA_MODEL="$SCRIBE_MODEL_DIR/gemma-3-270m-q4_k_m.gguf"

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
