"""The canonical emotion–cause row: one document or one conversation.

Every corpus builder in :mod:`hf_ecpe.data.corpora` produces rows of this shape, every collator
consumes it, and every metric adapter reads it. Columns (see ``FEATURES``):

- ``id`` (str), ``kind`` (``"document"`` | ``"conversation"``), ``language`` (``"en"`` | ``"zh"``)
- ``units``: clauses or utterances, in order; each has text (not empty or whitespace only)
- ``speakers``: one per unit in conversations, ``[]`` for documents
- ``emotions``: one label per unit, ``"neutral"`` where the unit expresses no emotion
- ``pairs``: ``{emotion, cause, cause_span, emotion_span, category}``; 0-based unit indices; spans are
  ``[start, end)`` character offsets into ``units[cause]`` / ``units[emotion]``, ``[-1, -1]`` when the
  corpus gives none. Exact duplicates are removed; an (emotion, cause) pair repeats only with other spans.

Corpus-specific information that has no place in these columns lives in optional columns declared
in ``EXTRA_FEATURES`` (a corpus either has the column for every row or not at all).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from datasets import Features, List, Value

NEUTRAL = "neutral"
NO_SPAN: list[int] = [-1, -1]
KINDS = ("document", "conversation")
LANGUAGES = ("en", "zh")

PAIR_FEATURE = {
    "emotion": Value("int32"),
    "cause": Value("int32"),
    "cause_span": List(Value("int32"), length=2),
    "emotion_span": List(Value("int32"), length=2),
    "category": Value("string"),
}

FEATURES = Features(
    {
        "id": Value("string"),
        "kind": Value("string"),
        "language": Value("string"),
        "units": List(Value("string")),
        "speakers": List(Value("string")),
        "emotions": List(Value("string")),
        "pairs": List(PAIR_FEATURE),
    }
)

EXTRA_FEATURES: dict[str, Any] = {
    # RECCON / MECAD evidence "b": per unit, True when that emotion unit also has a background cause
    # (a cause outside the conversation, which has no unit and no span, so it is never a pair).
    "background_cause": List(Value("bool")),
    # MECAD: the annotated cause type of each pair, aligned with ``pairs``.
    "cause_types": List(Value("string")),
    # EmpatheticDialogues (ED-cause): the conversation-level emotion (one of 32 labels).
    "conversation_emotion": Value("string"),
}

# One map for corpus label noise and inflected variants. Keys are lower-cased and stripped first.
# Genuine labels of a corpus (ECF's "joy", IEMOCAP's "excited", "frustrated") are kept as they are.
EMOTION_NORMALIZATION: dict[str, str] = {
    "happines": "happiness",
    "happy": "happiness",
    "sad": "sadness",
    "angry": "anger",
    "surprised": "surprise",
    "fearful": "fear",
    "disgusted": "disgust",
    "null": NEUTRAL,
    "none": NEUTRAL,
    "": NEUTRAL,
}


#: The one emotion vocabulary of models trained across corpora (the embedded default's category head): Ekman's six
#: basic emotions plus neutral, with GoEmotions' / ECF's / SemEval's spelling ``joy``.
BASIC_EMOTIONS: tuple[str, ...] = ("neutral", "anger", "disgust", "fear", "joy", "sadness", "surprise")
#: Corpus labels (after :func:`normalize_emotion`) → :data:`BASIC_EMOTIONS`. RECCON / ECPE write ``happiness``,
#: ECF / SemEval ``joy``; IEMOCAP's ``excited`` is a positive high-arousal state, counted as joy; ``frustrated`` as
#: anger. Labels outside the map and outside BASIC_EMOTIONS raise in :func:`basic_emotion`.
BASIC_EMOTION_MAP: dict[str, str] = {
    "happiness": "joy",
    "joyful": "joy",
    "excited": "joy",
    "frustrated": "anger",
    "frustration": "anger",
}


def basic_emotion(label: str | None) -> str:
    """A corpus emotion label in the :data:`BASIC_EMOTIONS` vocabulary (``"happy"`` / ``"happiness"`` → ``"joy"``);
    ``ValueError`` for a label with no basic counterpart."""
    normal = normalize_emotion(label)
    normal = BASIC_EMOTION_MAP.get(normal, normal)
    if normal not in BASIC_EMOTIONS:
        raise ValueError(
            f"emotion label {label!r} has no counterpart in BASIC_EMOTIONS {BASIC_EMOTIONS}; extend "
            "hf_ecpe.data.schema.BASIC_EMOTION_MAP"
        )
    return normal


def normalize_emotion(label: str | None) -> str:
    """Map a raw corpus emotion label to its canonical spelling (``EMOTION_NORMALIZATION``)."""
    key = (label or "").strip().lower()
    return EMOTION_NORMALIZATION.get(key, key)


class SchemaError(ValueError):
    """A row does not follow the canonical schema. The message names the row and the reason."""


def features_for(columns: Iterable[str]) -> Features:
    """``FEATURES`` plus the declared extra columns among ``columns`` (unknown extras raise)."""
    feats = dict(FEATURES)
    for column in columns:
        if column in feats:
            continue
        if column not in EXTRA_FEATURES:
            raise SchemaError(
                f"column {column!r} is neither canonical nor declared in hf_ecpe.data.schema.EXTRA_FEATURES "
                f"(declared extras: {sorted(EXTRA_FEATURES)})"
            )
        feats[column] = EXTRA_FEATURES[column]
    return Features(feats)


def make_pair(
    emotion: int,
    cause: int,
    *,
    cause_span: Sequence[int] = NO_SPAN,
    emotion_span: Sequence[int] = NO_SPAN,
    category: str = "",
) -> dict[str, Any]:
    """A canonical pair dict (0-based unit indices, character spans or ``[-1, -1]``)."""
    return {
        "emotion": int(emotion),
        "cause": int(cause),
        "cause_span": [int(cause_span[0]), int(cause_span[1])],
        "emotion_span": [int(emotion_span[0]), int(emotion_span[1])],
        "category": category,
    }


def _pair_key(pair: Mapping[str, Any]) -> tuple:
    return (
        pair["emotion"],
        pair["cause"],
        tuple(pair["cause_span"]),
        tuple(pair["emotion_span"]),
        pair["category"],
    )


def dedupe_pairs(pairs: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Remove exact duplicate pairs, keeping first occurrences in order. Returns (pairs, n_removed)."""
    pairs = list(pairs)
    seen: set[tuple] = set()
    kept: list[dict[str, Any]] = []
    for pair in pairs:
        key = _pair_key(pair)
        if key not in seen:
            seen.add(key)
            kept.append(dict(pair))
    return kept, len(pairs) - len(kept)


def to_one_based(pairs: Iterable[Mapping[str, Any]]) -> list[tuple[int, int]]:
    """Canonical pairs → the corpora's 1-based ``(emotion, cause)`` tuples (``[(3, 1), ...]``)."""
    return [(int(p["emotion"]) + 1, int(p["cause"]) + 1) for p in pairs]


def from_one_based(
    pairs: Iterable[Sequence[int]], n_units: int | None = None, *, where: str = "input"
) -> list[tuple[int, int]]:
    """1-based ``(emotion, cause)`` tuples → 0-based, checking ``1 <= index <= n_units`` when given."""
    out = []
    for pair in pairs:
        if len(pair) != 2:
            raise SchemaError(f"{where}: expected a 1-based (emotion, cause) pair, got {pair!r}")
        emotion, cause = int(pair[0]), int(pair[1])
        for name, value in (("emotion", emotion), ("cause", cause)):
            if value < 1 or (n_units is not None and value > n_units):
                bound = f"1..{n_units}" if n_units is not None else ">= 1"
                raise SchemaError(f"{where}: 1-based {name} index {value} out of range {bound} in pair {pair!r}")
        out.append((emotion - 1, cause - 1))
    return out


def _check_span(span: Sequence[int], text: str, what: str) -> str | None:
    if len(span) != 2:
        return f"{what} must have 2 entries, got {list(span)!r}"
    start, end = int(span[0]), int(span[1])
    if (start, end) == (-1, -1):
        return None
    if not 0 <= start < end <= len(text):
        return f"{what} {[start, end]} is outside its unit of length {len(text)} (need 0 <= start < end <= len)"
    return None


def row_problem(row: Mapping[str, Any]) -> str | None:
    """The first thing wrong with ``row`` as a canonical row, or ``None`` when it is valid."""
    for column in FEATURES:
        if column not in row:
            return f"missing column {column!r}"
    if row["kind"] not in KINDS:
        return f"kind {row['kind']!r} is not one of {KINDS}"
    if row["language"] not in LANGUAGES:
        return f"language {row['language']!r} is not one of {LANGUAGES}"
    units = row["units"]
    n = len(units)
    if not all(isinstance(u, str) for u in units):
        return "units must all be strings"
    for k, unit in enumerate(units):
        if not unit.strip():
            return (
                f"unit {k} is empty or whitespace only (the pipeline refuses empty units; drop the unit and shift "
                "the pair indices, or drop the row)"
            )
    if len(row["emotions"]) != n:
        return f"length mismatch: {len(row['emotions'])} emotions for {n} units"
    if row["kind"] == "conversation" and len(row["speakers"]) != n:
        return f"length mismatch: {len(row['speakers'])} speakers for {n} utterances"
    if row["kind"] == "document" and len(row["speakers"]) not in (0, n):
        return f"length mismatch: {len(row['speakers'])} speakers for {n} clauses (documents have none)"
    seen: set[tuple] = set()
    for k, pair in enumerate(row["pairs"]):
        for name in ("emotion", "cause"):
            if not 0 <= int(pair[name]) < n:
                return f"pair {k}: {name} index {pair[name]} out of range 0..{n - 1}"
        problem = _check_span(pair["cause_span"], units[pair["cause"]], f"pair {k}: cause_span")
        problem = problem or _check_span(pair["emotion_span"], units[pair["emotion"]], f"pair {k}: emotion_span")
        if problem:
            return problem
        key = _pair_key(pair)
        if key in seen:
            return f"pair {k}: exact duplicate of an earlier pair {key}"
        seen.add(key)
    if "background_cause" in row and len(row["background_cause"]) != n:
        return f"length mismatch: {len(row['background_cause'])} background_cause flags for {n} units"
    if "cause_types" in row and len(row["cause_types"]) != len(row["pairs"]):
        return f"length mismatch: {len(row['cause_types'])} cause_types for {len(row['pairs'])} pairs"
    return None


def validate_row(row: Mapping[str, Any], index: int | None = None) -> None:
    """Raise :class:`SchemaError` naming the row (index and id) and the problem when ``row`` is invalid."""
    problem = row_problem(row)
    if problem:
        where = f"row {index}" if index is not None else "row"
        raise SchemaError(f"{where} (id={row.get('id')!r}): {problem}")


def validate_rows(rows: Iterable[Mapping[str, Any]]) -> int:
    """Validate every row; raise on the first bad one (see :func:`validate_row`). Returns the row count."""
    count = 0
    for index, row in enumerate(rows):
        validate_row(row, index)
        count += 1
    return count
