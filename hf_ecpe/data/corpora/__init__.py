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
}
CORPUS_NAMES = tuple(_MODULE_OF)
#: Corpora built from several source corpora (their ``data_dir`` is the corpora root): not in ``CORPUS_NAMES``, which
#: the statistics table and the dataset scripts cover, but reachable through :func:`get_corpus`.
_DERIVED_MODULE_OF = {"emotion_cause_mix": "mixture"}
DERIVED_CORPUS_NAMES = tuple(_DERIVED_MODULE_OF)


def get_corpus(name: str) -> CorpusSpec:
    """The :class:`CorpusSpec` of corpus ``name`` (one of ``CORPUS_NAMES`` or ``DERIVED_CORPUS_NAMES``)."""
    modules = {**_MODULE_OF, **_DERIVED_MODULE_OF}
    if name not in modules:
        raise ValueError(f"unknown corpus {name!r}; known corpora: {list(CORPUS_NAMES + DERIVED_CORPUS_NAMES)}")
    module = importlib.import_module(f"{__name__}.{modules[name]}")
    return module.SPECS[name]


__all__ = ["CORPUS_NAMES", "DERIVED_CORPUS_NAMES", "CorpusSpec", "RepairReport", "get_corpus"]
