"""Emotion–cause *span* pair scores of SemEval-2024 Task 3, subtask 1 (textual ECAC), as the official scorer computes them.

Reference: ``NUSTM/SemEval-2024_ECAC``, ``CodaLab/evaluation/evaluate.py`` (``evaluate_1_2``,
``cal_prf_span_pair_emocate``, ``get_match_scores``, ``cal_prf_span_pair_emocate_proportional``). Reproduced here:

- both sides are de-duplicated per conversation (a repeated ``(emotion, cause, start, end, category)`` counts once);
- **strict**: a predicted span pair is correct when a gold one has the same emotion utterance, cause utterance,
  category and token boundaries; every gold pair is used at most once;
- **proportional**: each predicted span is matched to the overlapping gold span of the same (emotion utterance, cause
  utterance, category) with the largest ``overlap / gold length`` (ties → larger overlap, then the earlier gold span);
  the overlap tokens count as correct, the predicted length goes to the precision denominator and the matched gold
  length to the recall denominator — once *for every predicted span matched to it* (the scorer's own comment:
  "Multiple predicted spans may match the same golden span") — and every unmatched gold span adds its length once;
- per category P/R/F1 with ``1e-8`` added to every denominator; the ``weighted_*`` scores average them with each
  category's share of gold span pairs as weight, so false positives of a category without gold pairs cost nothing
  and weighted F1 is not the harmonic mean of weighted P and R; micro scores pool the counts;
- the category ``"neutral"`` (the scorer's class 0) is allowed but never scored.

Spans are ``[start, end)`` offsets into the *whitespace tokens* (``text.split()``) of the cause utterance, 0-based like
the scorer's token offsets; utterance indices are 0-based (the official JSON is 1-based: subtract 1).
:func:`locate_gold_cause_span` turns a gold cause *text* into such a span exactly as the scorer does.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..data.spans import clean_span, locate_token_span
from ._validation import MetricInputError, check_category, check_index, check_same_length, check_span, input_error
from .pairs import ECF_CATEGORIES, NEUTRAL, REFERENCE_EPSILON, prf

#: The six scored categories of SemEval-2024 Task 3 / ECF, in the scorer's class order (``neutral`` is class 0).
SEMEVAL_CATEGORIES: tuple[str, ...] = tuple(c for c in ECF_CATEGORIES if c != NEUTRAL)
#: Keys of the span pair fields expected in each prediction / reference.
SPAN_PAIR_KEYS: tuple[str, ...] = ("emotion", "category", "cause", "start", "end")


class SpanPair(NamedTuple):
    """One emotion–cause span pair: 0-based utterance indices, ``[start, end)`` whitespace-token span, category."""

    emotion: int
    cause: int
    start: int
    end: int
    category: str


def locate_gold_cause_span(utterance: str, cause_text: str, *, not_found: str = "official") -> tuple[int, int]:
    """Whitespace-token ``[start, end)`` of a gold cause text in its utterance, as the official scorer finds it.

    The text is cleaned with :func:`~hf_ecpe.data.spans.clean_span` (ends stripped of whitespace and ASCII
    punctuation, repeatedly) and located at the first exact run of equal whitespace tokens. When it is not found, or
    cleaning leaves nothing, ``not_found="official"`` returns ``(0, 0)`` like the scorer (an empty gold span that no
    proportional match can reach, but that still counts in recall and in the category weights);
    ``not_found="raise"`` raises ``ValueError`` instead. (The scorer itself crashes on an all-punctuation text.)
    """
    if not_found not in ("official", "raise"):
        raise ValueError(f"not_found must be 'official' or 'raise', got {not_found!r}")
    span = locate_token_span(utterance, cause_text)
    if span is not None:
        return span
    if not_found == "raise":
        raise ValueError(
            f"cause text {cause_text!r} (cleaned: {clean_span(cause_text)!r}) is not a run of whitespace tokens of "
            f"utterance {utterance!r}"
        )
    return 0, 0


def _parse_span_pairs(
    pairs: Any, *, what: str, example: int, allowed: Collection[str] | None = None, exact_keys: bool = False
) -> list[SpanPair]:
    """Validate one conversation's span pairs (in input order, duplicates kept).

    ``allowed``: the accepted categories (``None``: any non-empty string). ``exact_keys``: reject keys other than
    :data:`SPAN_PAIR_KEYS` (the ``evaluate`` module can only store those); otherwise extra keys are ignored.
    """
    if pairs is None:
        raise input_error(what, example, "got None; use [] for a conversation without span pairs")
    if isinstance(pairs, (str, bytes, Mapping)) or not hasattr(pairs, "__len__"):
        raise input_error(what, example, f"expected a list of span pairs (dicts), got {type(pairs).__name__}")
    out = []
    for k, pair in enumerate(pairs):
        if not isinstance(pair, Mapping):
            raise input_error(
                what, example, f"span pair {k} is {pair!r}; expected a dict with keys {list(SPAN_PAIR_KEYS)}"
            )
        missing = [key for key in SPAN_PAIR_KEYS if pair.get(key) is None]
        if missing:
            raise input_error(what, example, f"span pair {k} lacks {missing}; every pair needs {list(SPAN_PAIR_KEYS)}")
        extra = sorted(set(pair) - set(SPAN_PAIR_KEYS))
        if exact_keys and extra:
            raise input_error(
                what,
                example,
                f"span pair {k} has unknown keys {extra}; the metric module stores only {list(SPAN_PAIR_KEYS)} "
                "(drop the others, or call hf_ecpe.evaluation.semeval_span_scores, which ignores them)",
            )
        emotion = check_index(pair["emotion"], what=what, example=example, name=f"span pair {k} emotion index")
        cause = check_index(pair["cause"], what=what, example=example, name=f"span pair {k} cause index")
        start, end = check_span(
            (pair["start"], pair["end"]), what=what, example=example, name=f"span pair {k} token span"
        )
        category = check_category(pair["category"], what=what, example=example, categories=allowed)
        out.append(SpanPair(emotion, cause, start, end, category))
    return out


def span_pair_records(column: Any, *, what: str) -> Any:
    """Validate per-conversation span pairs and return them as plain ``{key: int | str}`` dicts (ints as ``int``,
    categories stripped), the form the ``ecpe_span`` module stores. ``None`` is returned unchanged."""
    if column is None:
        return None
    if isinstance(column, (str, bytes, Mapping)) or not hasattr(column, "__len__"):
        raise input_error(what, None, f"expected one list of span pairs per conversation, got {type(column).__name__}")
    return [
        [p._asdict() for p in _parse_span_pairs(pairs, what=what, example=i, exact_keys=True)]
        for i, pairs in enumerate(column)
    ]


def _match_gold_span(pred: SpanPair, golds: Sequence[SpanPair]) -> tuple[int | None, int]:
    """The scorer's ``get_match_scores``: index of the best-matching gold span (or ``None``) and the overlap length.

    Candidates share ``pred``'s category and overlap it; best = largest overlap / gold length, ties → larger overlap,
    remaining ties → the earliest gold span. Empty gold spans are never matched.
    """
    best, best_overlap, best_score = None, 0, 0.0
    for j, gold in enumerate(golds):
        if gold.category != pred.category or pred.end <= gold.start or pred.start >= gold.end:
            continue
        if gold.end == gold.start:  # empty gold [x, x) strictly inside pred: the scorer would divide by zero
            continue
        overlap = min(pred.end, gold.end) - max(pred.start, gold.start)
        score = overlap / float(gold.end - gold.start)
        if score > best_score or (score == best_score and score > 0 and overlap > best_overlap):
            best, best_overlap, best_score = j, overlap, score
    return (best, best_overlap) if best_overlap > 0 else (None, 0)


def _weighted_and_micro(
    correct: np.ndarray, predicted: np.ndarray, gold: np.ndarray, weights_from: np.ndarray, epsilon: float
) -> tuple[list[float], list[float]]:
    """Per-category P/R/F1 averaged with ``weights_from`` shares, and micro P/R/F1 of the pooled counts."""
    per_category = np.array([prf(c, p, g, epsilon) for c, p, g in zip(correct, predicted, gold)]).reshape(-1, 3)
    total = weights_from.sum()
    if total > 0:
        weights = weights_from / total
        weighted = [float(np.sum(per_category[:, j] * weights)) for j in range(3)]
    else:  # no scored gold pair: the scorer divides 0 by 0 (nan); we report 0.0
        weighted = [0.0, 0.0, 0.0]
    micro = list(prf(correct.sum(), predicted.sum(), gold.sum(), epsilon))
    return weighted, micro


def semeval_span_scores(
    predictions: Sequence[Sequence[Mapping[str, Any]]],
    references: Sequence[Sequence[Mapping[str, Any]]],
    *,
    categories: Collection[str] | None = None,
    epsilon: float = REFERENCE_EPSILON,
) -> dict[str, float]:
    """SemEval-2024 Task 3 subtask-1 strict and proportional span-pair P/R/F1 (official scorer semantics).

    Args:
        predictions, references: per conversation a list of ``{"emotion": int, "category": str, "cause": int,
            "start": int, "end": int}`` — 0-based emotion and cause utterance indices and the ``[start, end)``
            whitespace-token span of the cause inside the cause utterance (``0 <= start <= end``; ``start == end``
            only arises from gold texts the scorer could not locate, see :func:`locate_gold_cause_span`). Other keys
            are ignored; duplicates within a conversation count once.
        categories: the scored categories, in class order (default :data:`SEMEVAL_CATEGORIES`, the official six).
            ``"neutral"`` is always accepted and never scored; any other label raises.
        epsilon: added to every P, R and F denominator (``1e-8`` in the scorer; ``0`` gives exact ratios, 0/0 = 0).

    Returns:
        ``weighted_strict_{precision,recall,f1}``, ``weighted_proportional_*``, ``strict_*``, ``proportional_*``
        (floats in [0, 1]; the main SemEval ranking metric is ``weighted_strict_f1``). Weighted scores are 0.0 when
        there is no scored gold pair (the scorer returns nan).
    """
    if isinstance(categories, str):
        raise MetricInputError("categories: expected a list of category names, got a string")
    scored = list(dict.fromkeys(SEMEVAL_CATEGORIES if categories is None else categories))
    scored = [c for c in scored if c != NEUTRAL]
    if not scored:
        raise MetricInputError("categories: no scored category left (neutral is never scored)")
    index = {c: k for k, c in enumerate(scored)}
    allowed = {*scored, NEUTRAL}
    check_same_length({"predictions": predictions, "references": references})
    preds, golds = (
        [
            list(dict.fromkeys(_parse_span_pairs(x, what=what, example=i, allowed=allowed)))
            for i, x in enumerate(column)
        ]
        for what, column in (("predictions", predictions), ("references", references))
    )

    n = len(scored)
    strict = {name: np.zeros(n) for name in ("correct", "predicted", "gold")}
    proportional = {name: np.zeros(n) for name in ("correct", "predicted", "gold", "gold_spans")}
    for pred_pairs, gold_pairs in zip(preds, golds):
        gold_by_units: dict[tuple[int, int], list[SpanPair]] = {}
        for gold in gold_pairs:
            gold_by_units.setdefault((gold.emotion, gold.cause), []).append(gold)
            if gold.category != NEUTRAL:
                strict["gold"][index[gold.category]] += 1
                proportional["gold_spans"][index[gold.category]] += 1
        gold_set = set(gold_pairs)
        matched_golds: set[SpanPair] = set()
        for pred in pred_pairs:
            candidates = gold_by_units.get((pred.emotion, pred.cause), [])
            best, overlap = _match_gold_span(pred, candidates)
            if best is not None:
                matched_golds.add(candidates[best])
            if pred.category == NEUTRAL:
                continue
            k = index[pred.category]
            strict["predicted"][k] += 1
            strict["correct"][k] += pred in gold_set  # both sides are de-duplicated: each gold used at most once
            proportional["predicted"][k] += pred.end - pred.start
            if best is not None:
                proportional["correct"][k] += overlap
                proportional["gold"][k] += candidates[best].end - candidates[best].start
        for gold in gold_pairs:
            if gold not in matched_golds and gold.category != NEUTRAL:
                proportional["gold"][index[gold.category]] += gold.end - gold.start

    scores = {
        name: _weighted_and_micro(counts["correct"], counts["predicted"], counts["gold"], weights_from, epsilon)
        for name, counts, weights_from in (
            ("strict", strict, strict["gold"]),
            ("proportional", proportional, proportional["gold_spans"]),
        )
    }
    results: dict[str, float] = {}
    for kind, position in (("weighted_", 0), ("", 1)):
        for name in ("strict", "proportional"):
            for metric, value in zip(("precision", "recall", "f1"), scores[name][position]):
                results[f"{kind}{name}_{metric}"] = value
    return results


__all__ = [
    "SEMEVAL_CATEGORIES",
    "SPAN_PAIR_KEYS",
    "SpanPair",
    "clean_span",
    "locate_gold_cause_span",
    "locate_token_span",
    "semeval_span_scores",
    "span_pair_records",
]
