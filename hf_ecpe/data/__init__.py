"""Data: the canonical schema, corpus builders, the clause splitter, collators."""

from .clauses import detect_language, split_clauses
from .errors import CorpusFormatError, MissingSplitError, NoSplitFilesError
from .schema import (
    EMOTION_NORMALIZATION,
    EXTRA_FEATURES,
    FEATURES,
    NEUTRAL,
    NO_SPAN,
    SchemaError,
    dedupe_pairs,
    features_for,
    from_one_based,
    make_pair,
    normalize_emotion,
    to_one_based,
    validate_row,
    validate_rows,
)

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
