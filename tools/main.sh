#!/usr/bin/env bash
# The main job, end to end: set up .venv, then run hf_ecpe on the embedded default (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
export HF_HUB_OFFLINE=1 HF_ECPE_DATA="${HF_ECPE_DATA:-$(cd .. && pwd)/shared/data}"
.venv/bin/python -m hf_ecpe.scripts.corpus_stats
