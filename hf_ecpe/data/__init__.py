"""Data: the canonical schema, corpus builders, the clause splitter, collators."""

import importlib
import importlib.util
from typing import Any

# Imported on first use (``import hf_ecpe`` imports hf_ecpe.data.inputs for the pipeline; the schema needs
# ``datasets``, which that does not).
_LAZY = {
    "detect_language": ".clauses",
    "split_clauses": ".clauses",
    "CorpusFormatError": ".errors",
    "MissingSplitError": ".errors",
    "NoSplitFilesError": ".errors",
    **{
        name: ".schema"
        for name in (
            "EMOTION_NORMALIZATION",
            "EXTRA_FEATURES",
            "FEATURES",
            "NEUTRAL",
            "NO_SPAN",
            "SchemaError",
            "dedupe_pairs",
            "features_for",
            "from_one_based",
            "make_pair",
            "normalize_emotion",
            "to_one_based",
            "validate_row",
            "validate_rows",
        )
    },
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    # Submodules (`hf_ecpe.data.corpora`, `hf_ecpe.data.collators`, ...) are imported on first attribute access.
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "EMOTION_NORMALIZATION",
    "EXTRA_FEATURES",
    "FEATURES",
    "NEUTRAL",
    "NO_SPAN",
    "CorpusFormatError",
    "MissingSplitError",
    "NoSplitFilesError",
    "SchemaError",
    "dedupe_pairs",
    "detect_language",
    "features_for",
    "from_one_based",
    "make_pair",
    "normalize_emotion",
    "split_clauses",
    "to_one_based",
    "validate_row",
    "validate_rows",
]
