"""Span-level emotion–cause–category triplet scores for documents and conversations.

A triplet is (emotion span, cause span, category): each span is a ``[start, end)`` *character* span inside one unit
(clause or utterance) of the example, given as ``{"emotion_unit", "emotion_start", "emotion_end", "cause_unit",
"cause_start", "cause_end", "category"}`` with 0-based unit indices. No public reference scorer exists for this task
(Li et al. 2025 report "span-level" and "word-level" scores without code); the definitions below follow the task's
lineage and are ours:

- **strict** (span level): a predicted triplet is correct when a gold triplet of the same example has the same two
  units, the same two character spans and the same category. Set semantics: duplicates collapse on both sides.
  Micro P/R/F1 over the corpus.
- **proportional** (word level), in the style of the SemEval-2024 Task 3 proportional scorer
  (:mod:`hf_ecpe.evaluation.spans`): text is split into tokens — whitespace tokens for ``language="en"``, every
  non-space character for ``language="zh"`` — and a span stands for the tokens it touches. A predicted triplet is
  matched to the gold triplet of the same example with the same emotion unit, cause unit and category whose emotion
  span *and* cause span both share at least one token with the prediction's, choosing the largest
  ``(emotion overlap + cause overlap) / (gold emotion length + gold cause length)``, ties → larger overlap, then the
  earlier gold triplet. Correct = the matched overlap tokens; the precision denominator adds the predicted triplet's
  tokens (both spans); the recall denominator adds the matched gold triplet's tokens for *every* prediction matched
  to it (as the SemEval scorer does) and each unmatched gold triplet's tokens once. Micro P/R/F1.

All ratios are exact, with 0/0 defined as 0.0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ..data.spans import token_offsets
from ._validation import MetricInputError, check_category, check_index, check_same_length, check_span, input_error
from .pairs import prf

#: Keys of one triplet dict.
TRIPLET_KEYS: tuple[str, ...] = (
    "emotion_unit",
    "emotion_start",
    "emotion_end",
    "cause_unit",
    "cause_start",
    "cause_end",
    "category",
)
#: Supported ``language`` values and the token each uses for the proportional score.
TOKENIZATION = {"en": "whitespace tokens", "zh": "characters (whitespace excluded)"}


class Triplet(NamedTuple):
    """One emotion–cause–category triplet: unit indices and ``[start, end)`` character spans."""

    emotion_unit: int
    emotion_start: int
    emotion_end: int
    cause_unit: int
    cause_start: int
    cause_end: int
    category: str


def _token_extents(text: str, language: str) -> list[tuple[int, int]]:
    if language == "en":
        return token_offsets(text)
    return [(i, i + 1) for i, char in enumerate(text) if not char.isspace()]


def span_tokens(text: str, start: int, end: int, language: str = "en") -> frozenset[int]:
    """Indices of the tokens of ``text`` (see :data:`TOKENIZATION`) that the character span ``[start, end)`` touches."""
    return frozenset(k for k, (a, b) in enumerate(_token_extents(text, language)) if a < end and start < b)


def triplets_from_pairs(pairs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Canonical-row pairs (:mod:`hf_ecpe.data.schema`: ``emotion``, ``cause``, ``emotion_span``, ``cause_span``,
    ``category``) → triplet dicts. Raises ``ValueError`` for a pair without both spans (``[-1, -1]``)."""
    triplets = []
    for k, pair in enumerate(pairs):
        if list(pair["emotion_span"]) == [-1, -1] or list(pair["cause_span"]) == [-1, -1]:
            raise ValueError(f"pair {k} has no emotion span or no cause span ([-1, -1]); a triplet needs both")
        triplets.append(
            {
                "emotion_unit": int(pair["emotion"]),
                "emotion_start": int(pair["emotion_span"][0]),
                "emotion_end": int(pair["emotion_span"][1]),
                "cause_unit": int(pair["cause"]),
                "cause_start": int(pair["cause_span"][0]),
                "cause_end": int(pair["cause_span"][1]),
                "category": pair["category"],
            }
        )
    return triplets


def _parse_triplets(items: Any, *, what: str, example: int, exact_keys: bool = False) -> list[Triplet]:
    """Validate the structure of one example's triplets (input order, duplicates kept); unit bounds are checked by
    :func:`_check_against_units`. ``exact_keys`` rejects keys other than :data:`TRIPLET_KEYS`."""
    if items is None:
        raise input_error(what, example, "got None; use [] for an example without triplets")
    if isinstance(items, (str, bytes, Mapping)) or not hasattr(items, "__len__"):
        raise input_error(what, example, f"expected a list of triplet dicts, got {type(items).__name__}")
    out = []
    for k, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise input_error(
                what, example, f"triplet {k} is {item!r}; expected a dict with keys {list(TRIPLET_KEYS)}"
            )
        missing = [key for key in TRIPLET_KEYS if item.get(key) is None]
        if missing:
            raise input_error(what, example, f"triplet {k} lacks {missing}; every triplet needs {list(TRIPLET_KEYS)}")
        extra = sorted(set(item) - set(TRIPLET_KEYS))
        if exact_keys and extra:
            raise input_error(
                what,
                example,
                f"triplet {k} has unknown keys {extra}; the metric module stores only {list(TRIPLET_KEYS)} "
                "(drop the others, or call hf_ecpe.evaluation.triplet_scores, which ignores them)",
            )
        fields: list[Any] = []
        for side in ("emotion", "cause"):
            unit = check_index(item[f"{side}_unit"], what=what, example=example, name=f"triplet {k} {side}_unit")
            start, end = check_span(
                (item[f"{side}_start"], item[f"{side}_end"]),
                what=what,
                example=example,
                name=f"triplet {k} {side} span",
            )
            if start == end:
                raise input_error(what, example, f"triplet {k} {side} span [{start}, {end}) is empty")
            fields += [unit, start, end]
        out.append(Triplet(*fields, check_category(item["category"], what=what, example=example)))
    return out


def _check_against_units(triplets: list[Triplet], units: list[str], *, what: str, example: int, language: str) -> None:
    """Each span lies inside its unit and covers at least one token."""
    for k, t in enumerate(triplets):
        for side, unit, start, end in (
            ("emotion", t.emotion_unit, t.emotion_start, t.emotion_end),
            ("cause", t.cause_unit, t.cause_start, t.cause_end),
        ):
            if unit >= len(units):
                raise input_error(
                    what, example, f"triplet {k} {side}_unit {unit} is out of range for {len(units)} units"
                )
            if end > len(units[unit]):
                raise input_error(
                    what,
                    example,
                    f"triplet {k} {side} span [{start}, {end}) runs past the end of unit {unit} "
                    f"(length {len(units[unit])}); offsets are characters",
                )
            if not span_tokens(units[unit], start, end, language):
                raise input_error(
                    what,
                    example,
                    f"triplet {k} {side} span [{start}, {end}) = {units[unit][start:end]!r} of unit {unit} covers "
                    "only whitespace; spans must cover some text",
                )


def triplet_records(column: Any, *, what: str) -> Any:
    """Validate per-example triplets and return them as plain dicts (the form the ``triplet`` module stores).
    ``None`` is returned unchanged."""
    if column is None:
        return None
    if isinstance(column, (str, bytes, Mapping)) or not hasattr(column, "__len__"):
        raise input_error(what, None, f"expected one list of triplets per example, got {type(column).__name__}")
    return [
        [t._asdict() for t in _parse_triplets(items, what=what, example=i, exact_keys=True)]
        for i, items in enumerate(column)
    ]


def unit_texts(column: Any, *, what: str = "units") -> Any:
    """Check per-example unit texts (a list of ``str`` per example); ``None`` is returned unchanged."""
    if column is None:
        return None
    if isinstance(column, (str, bytes)) or not hasattr(column, "__len__"):
        raise input_error(what, None, f"expected one list of unit texts per example, got {type(column).__name__}")
    return [_check_units(units, i, what) for i, units in enumerate(column)]


def _check_units(units: Any, example: int, what: str = "units") -> list[str]:
    if units is None or isinstance(units, (str, bytes)) or not hasattr(units, "__len__"):
        raise input_error(what, example, f"expected the example's unit texts (a list of str), got {units!r:.80}")
    for j, text in enumerate(units):
        if not isinstance(text, str):
            raise input_error(what, example, f"unit {j} is {text!r}; expected a str")
    return list(units)


def _triplet_tokens(t: Triplet, texts: list[str], language: str) -> tuple[frozenset[int], frozenset[int]]:
    return (
        span_tokens(texts[t.emotion_unit], t.emotion_start, t.emotion_end, language),
        span_tokens(texts[t.cause_unit], t.cause_start, t.cause_end, language),
    )


def _proportional_counts(
    preds: list[Triplet], golds: list[Triplet], texts: list[str], language: str
) -> tuple[int, int, int]:
    """One example's (overlap tokens, predicted tokens, gold tokens) of the proportional score (module docstring)."""
    gold_tokens = [_triplet_tokens(g, texts, language) for g in golds]
    correct = predicted = gold_total = 0
    matched: set[int] = set()
    for pred in preds:
        pred_emotion, pred_cause = _triplet_tokens(pred, texts, language)
        predicted += len(pred_emotion) + len(pred_cause)
        best, best_overlap, best_score = None, 0, 0.0
        for j, gold in enumerate(golds):
            if (gold.emotion_unit, gold.cause_unit, gold.category) != (
                pred.emotion_unit,
                pred.cause_unit,
                pred.category,
            ):
                continue
            gold_emotion, gold_cause = gold_tokens[j]
            emotion_overlap, cause_overlap = len(pred_emotion & gold_emotion), len(pred_cause & gold_cause)
            if not emotion_overlap or not cause_overlap:
                continue
            overlap = emotion_overlap + cause_overlap
            score = overlap / (len(gold_emotion) + len(gold_cause))
            if score > best_score or (score == best_score and overlap > best_overlap):
                best, best_overlap, best_score = j, overlap, score
        if best is not None:
            matched.add(best)
            correct += best_overlap
            gold_total += len(gold_tokens[best][0]) + len(gold_tokens[best][1])
    gold_total += sum(len(e) + len(c) for j, (e, c) in enumerate(gold_tokens) if j not in matched)
    return correct, predicted, gold_total


def triplet_scores(
    predictions: Sequence[Sequence[Mapping[str, Any]]],
    references: Sequence[Sequence[Mapping[str, Any]]],
    units: Sequence[Sequence[str]],
    *,
    language: str = "en",
) -> dict[str, float]:
    """Strict and proportional micro P/R/F1 of emotion–cause–category triplets (definitions in the module docstring).

    Args:
        predictions, references: per example a list of triplet dicts (:data:`TRIPLET_KEYS`); character offsets,
            ``0 <= start < end <= len(unit text)``, each span covering some non-space text. Other keys are ignored;
            duplicates within an example count once.
        units: per example the unit texts (clauses or utterances) the offsets point into.
        language: ``"en"`` (whitespace tokens) or ``"zh"`` (characters as tokens) for the proportional score.

    Returns:
        ``strict_{precision,recall,f1}`` and ``proportional_{precision,recall,f1}`` in [0, 1].
    """
    if language not in TOKENIZATION:
        raise MetricInputError(f"language: expected one of {sorted(TOKENIZATION)}, got {language!r}")
    check_same_length({"predictions": predictions, "references": references, "units": units})
    strict = [0, 0, 0]  # correct, predicted, gold
    proportional = [0, 0, 0]
    for i, (pred_items, gold_items, example_units) in enumerate(zip(predictions, references, units)):
        texts = _check_units(example_units, i)
        preds, golds = (
            list(dict.fromkeys(_parse_triplets(items, what=what, example=i)))
            for what, items in (("predictions", pred_items), ("references", gold_items))
        )
        _check_against_units(preds, texts, what="predictions", example=i, language=language)
        _check_against_units(golds, texts, what="references", example=i, language=language)
        gold_set = set(golds)
        strict[0] += sum(p in gold_set for p in preds)
        strict[1] += len(preds)
        strict[2] += len(golds)

        counts = _proportional_counts(preds, golds, texts, language)
        proportional = [total + count for total, count in zip(proportional, counts)]

    results: dict[str, float] = {}
    for name, (correct, predicted, gold) in (("strict", strict), ("proportional", proportional)):
        p, r, f = prf(correct, predicted, gold, epsilon=0.0)
        results.update({f"{name}_precision": p, f"{name}_recall": r, f"{name}_f1": f})
    return results


__all__ = [
    "TOKENIZATION",
    "TRIPLET_KEYS",
    "Triplet",
    "span_tokens",
    "triplet_records",
    "triplet_scores",
    "triplets_from_pairs",
    "unit_texts",
]
