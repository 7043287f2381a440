"""Registry of corpus builders. Each module defines ``SPECS: dict[str, CorpusSpec]``; imported lazily."""

from __future__ import annotations

import importlib

from .base import CorpusSpec, RepairReport

_MODULE_OF = {
    "ecpe_zh": "ecpe",
    "ecpe_en": "ecpe",
    "ntcir_eca": "ntcir",
    "reccon": "reccon",
    "mecad": "reccon",
    "ed_cause": "ed_cause",
    "ecf": "ecf",
    "semeval2024_ecac": "ecf",
    "emotion_cause_mix": "mixture",
}
CORPUS_NAMES = tuple(_MODULE_OF)


def get_corpus(name: str) -> CorpusSpec:
    """The :class:`CorpusSpec` of corpus ``name`` (one of ``CORPUS_NAMES``)."""
    if name not in _MODULE_OF:
        raise ValueError(f"unknown corpus {name!r}; known corpora: {list(CORPUS_NAMES)}")
    module = importlib.import_module(f"{__name__}.{_MODULE_OF[name]}")
    return module.SPECS[name]


__all__ = ["CORPUS_NAMES", "CorpusSpec", "RepairReport", "get_corpus"]
