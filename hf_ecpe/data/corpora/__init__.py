"""Registry of corpus builders. Each module defines ``SPECS: dict[str, CorpusSpec]``; imported lazily."""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .base import CorpusSpec, RepairReport

if TYPE_CHECKING:
    from datasets import DatasetDict

logger = logging.getLogger("hf_ecpe.data")

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
#: Corpora generated in memory (``CorpusSpec.generated``: no data folder), e.g. the ``synthetic`` toy corpus of the
#: tiny recipes.
_GENERATED_MODULE_OF = {"synthetic": "synthetic"}
GENERATED_CORPUS_NAMES = tuple(_GENERATED_MODULE_OF)


def get_corpus(name: str) -> CorpusSpec:
    """The :class:`CorpusSpec` of corpus ``name`` (one of ``CORPUS_NAMES``, ``DERIVED_CORPUS_NAMES`` or
    ``GENERATED_CORPUS_NAMES``)."""
    modules = {**_MODULE_OF, **_DERIVED_MODULE_OF, **_GENERATED_MODULE_OF}
    if name not in modules:
        known = list(CORPUS_NAMES + DERIVED_CORPUS_NAMES + GENERATED_CORPUS_NAMES)
        raise ValueError(f"unknown corpus {name!r}; known corpora: {known}")
    module = importlib.import_module(f"{__name__}.{modules[name]}")
    return module.SPECS[name]


def load_corpus(
    name: str,
    config: str | None = None,
    data_dir: str | os.PathLike | None = None,
    *,
    lenient: bool = True,
    documents: int = 48,
    seed: int = 0,
) -> tuple[DatasetDict, CorpusSpec, str]:
    """Build corpus ``name`` (config ``config``, default its first) from the data root ``data_dir`` (default
    ``$HF_ECPE_DATA`` or ``../shared/data``); repairs are logged. A generated corpus (``spec.generated``) reads
    nothing: it is built with ``documents`` training documents from ``seed``. Returns (data, spec, config)."""
    spec = get_corpus(name)
    config = spec.check_config(config)
    if spec.generated:
        return spec.build(None, config, documents=documents, seed=seed), spec, config
    folder = spec.locate(Path(data_dir or os.environ.get("HF_ECPE_DATA", "../shared/data")))
    if not folder.is_dir():
        raise FileNotFoundError(
            f"corpus {spec.name!r} not found at {folder}; set --data_dir or HF_ECPE_DATA to the folder that "
            f"contains '{spec.folder}/'"
        )
    report = RepairReport()
    data = spec.build(folder, config, lenient=lenient, report=report)
    if report:
        logger.info("corpus repairs and normalisations of %s/%s:\n%s", spec.name, config, report.summary())
    return data, spec, config


__all__ = [
    "CORPUS_NAMES",
    "DERIVED_CORPUS_NAMES",
    "GENERATED_CORPUS_NAMES",
    "CorpusSpec",
    "RepairReport",
    "get_corpus",
    "load_corpus",
]
