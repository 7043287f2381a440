#!/usr/bin/env bash
# The main job, end to end: set up .venv, run the embedded default model on example texts (pipeline("emotion-cause")
# with no model argument, offline), then build every corpus found under HF_ECPE_DATA and print its statistics.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
export HF_HUB_OFFLINE=1 HF_ECPE_DATA="${HF_ECPE_DATA:-$(cd .. && pwd)/shared/data}"
.venv/bin/python -m hf_ecpe.scripts.demo
if [ -d "$HF_ECPE_DATA" ]; then
  .venv/bin/python -m hf_ecpe.scripts.corpus_stats
else
  echo "no corpora at $HF_ECPE_DATA: corpus statistics skipped (set HF_ECPE_DATA)"
fi
