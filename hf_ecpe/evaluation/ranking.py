"""Ranking metrics for scored candidate pairs: pooled average precision (AUPRC) and threshold-based F1.

:func:`average_precision` is scikit-learn's ``average_precision_score`` (1.9) re-implemented in numpy with the same
operations — the step-function sum ``AP = sum_n (R_n - R_{n-1}) P_n`` over distinct score thresholds (tied scores form
one threshold, no interpolation) — so the numbers agree with scikit-learn to the last bit on binary input.
:func:`pair_auprc_scores` pools the candidate pairs of every example (micro), optionally counts gold pairs that are not
among the candidates ("unreachable") in the recall, finds the F1-optimal threshold, and scores a fixed threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validation import (
    MetricInputError,
    check_binary_labels,
    check_same_length,
    check_scores,
    input_error,
)


def _checked_examples(predictions: Any, references: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per example the checked scores and 0/1 labels, with equal lengths."""
    all_scores, all_labels = [], []
    for i, (scores, labels) in enumerate(zip(predictions, references)):
        scores = check_scores(scores, what="predictions", example=i)
        labels = check_binary_labels(labels, what="references", example=i)
        if scores.size != labels.size:
            raise input_error(
                "predictions", i, f"has {scores.size} scores but references[{i}] has {labels.size} labels"
            )
        all_scores.append(scores)
        all_labels.append(labels)
    return all_scores, all_labels


def pair_auprc_module_columns(predictions: Any, references: Any) -> tuple[Any, Any]:
    """What the ``pair_auprc`` module stores for one batch: scores and labels checked as :func:`pair_auprc_scores`
    checks them, as floats and ints (its int features would otherwise truncate a label 1.99 into 1)."""
    if predictions is None or references is None:  # evaluate reports the missing input itself
        return predictions, references
    check_same_length({"predictions": predictions, "references": references})
    scores, labels = _checked_examples(predictions, references)
    return [s.tolist() for s in scores], [lab.tolist() for lab in labels]


def _threshold_counts(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True/false positives at every distinct score threshold, highest first (scikit-learn ``_binary_clf_curve``).

    Returns ``(tps, fps, thresholds)``; at ``thresholds[k]`` the candidates with ``score >= thresholds[k]`` are positive.
    """
    order = np.argsort(scores, kind="mergesort")[::-1]
    scores, labels = scores[order], labels[order]
    distinct = np.where(np.diff(scores))[0]
    threshold_idxs = np.r_[distinct, labels.size - 1]
    tps = np.cumsum(labels, dtype=np.float64)[threshold_idxs]
    fps = 1 + threshold_idxs - tps
    return tps, fps, scores[threshold_idxs]


def _check_unreachable(num_unreachable: Any) -> int:
    if isinstance(num_unreachable, bool) or not isinstance(num_unreachable, (int, np.integer)) or num_unreachable < 0:
        raise MetricInputError(f"num_unreachable must be a non-negative integer, got {num_unreachable!r}")
    return int(num_unreachable)


def average_precision(labels: Any, scores: Any, *, num_unreachable: int = 0) -> float:
    """Average precision of one ranked list: ``labels`` 0/1 and ``scores`` (higher = more likely positive), 1-D.

    Equals ``sklearn.metrics.average_precision_score(labels, scores)``. ``num_unreachable`` gold positives that are
    not among the candidates enlarge the recall denominator and are never retrieved (they contribute precision 0),
    so the result is ``AP * P / (P + num_unreachable)`` for ``P`` positives among the candidates. No positives at
    all (or no candidates) → 0.0, as scikit-learn 1.9 returns for all-negative input.
    """
    labels = check_binary_labels(labels, what="labels")
    scores = check_scores(scores, what="scores")
    if labels.shape != scores.shape:
        raise MetricInputError(f"labels ({labels.size}) and scores ({scores.size}) must have the same length")
    unreachable = _check_unreachable(num_unreachable)
    if labels.size == 0:
        return 0.0
    tps, fps, _ = _threshold_counts(labels, scores)
    positives = tps[-1] + unreachable
    if positives == 0:  # all-negative: scikit-learn 1.9 warns and returns 0.0
        return 0.0
    precision = np.where(tps + fps != 0, np.divide(tps, tps + fps), 0.0)
    recall = tps / positives
    precision = np.concatenate((precision[::-1], [1.0]))
    recall = np.concatenate((recall[::-1], [0.0]))
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def _f1(correct: float, predicted: float, gold: float) -> tuple[float, float, float]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * correct / (predicted + gold) if predicted + gold else 0.0
    return float(precision), float(recall), float(f1)


def pair_auprc_scores(
    predictions: Sequence[Sequence[float]],
    references: Sequence[Sequence[int]],
    *,
    threshold: float | None = None,
    inclusive: bool = True,
    num_unreachable: int | Sequence[int] = 0,
    average: str = "pooled",
) -> dict[str, float]:
    """AUPRC and threshold F1 of scored candidate pairs.

    Args:
        predictions: per example, the score of every candidate pair (any real numbers, higher = more confident).
        references: per example, the 0/1 gold label of the same candidates, in the same order.
        threshold: a fixed decision threshold (chosen on validation data); adds ``precision/recall/f1_at_threshold``.
        inclusive: a candidate is predicted positive when ``score >= threshold`` (default, the convention of
            ``best_threshold``); ``False`` uses ``score > threshold`` (the ECPE references' ``sigmoid(logit) > 0.5``).
        num_unreachable: gold pairs that are not among the candidates (outside the window, filtered out) — a total,
            or one count per example. They are added to every recall denominator and are never retrieved
            (ECPE-2D's ``pair_left_cnt``). Default 0: recall is relative to the reachable gold pairs only.
        average: ``"pooled"`` (default) computes one AP over the concatenation of all examples' candidates;
            ``"per_example"`` averages the AP of each example that has at least one gold pair (reachable or not).

    Returns:
        ``auprc``; ``best_f1`` and ``best_threshold`` (the highest threshold reaching the best pooled F1; ``inf``, i.e.
        predict nothing, when no threshold retrieves a gold pair); with ``threshold``: ``precision_at_threshold``,
        ``recall_at_threshold``, ``f1_at_threshold``. Ties in scores form one threshold. Ratios with a zero
        denominator are 0.0 (no epsilon).
    """
    n = check_same_length({"predictions": predictions, "references": references})
    if average not in ("pooled", "per_example"):
        raise MetricInputError(f"average must be 'pooled' or 'per_example', got {average!r}")
    if isinstance(num_unreachable, (int, np.integer)) and not isinstance(num_unreachable, bool):
        per_example_unreachable = None
        total_unreachable = _check_unreachable(num_unreachable)
    else:
        if len(num_unreachable) != n:
            raise input_error(
                "num_unreachable", None, f"has {len(num_unreachable)} entries for {n} examples; give one per example"
            )
        per_example_unreachable = [_check_unreachable(u) for u in num_unreachable]
        total_unreachable = sum(per_example_unreachable)

    if average == "per_example" and per_example_unreachable is None and total_unreachable:
        raise MetricInputError("average='per_example' needs num_unreachable per example, not a total")

    all_scores, all_labels = _checked_examples(predictions, references)

    scores = np.concatenate(all_scores) if all_scores else np.zeros(0)
    labels = np.concatenate(all_labels) if all_labels else np.zeros(0, dtype=np.int64)
    if average == "pooled":
        auprc = average_precision(labels, scores, num_unreachable=total_unreachable)
    else:
        per_example = []
        for i, (example_scores, example_labels) in enumerate(zip(all_scores, all_labels)):
            unreachable = per_example_unreachable[i] if per_example_unreachable is not None else 0
            if example_labels.sum() + unreachable > 0:
                per_example.append(average_precision(example_labels, example_scores, num_unreachable=unreachable))
        auprc = float(np.mean(per_example)) if per_example else 0.0

    gold = float(labels.sum() + total_unreachable)
    best_f1, best_threshold = 0.0, float("inf")
    if labels.size:
        tps, fps, thresholds = _threshold_counts(labels, scores)
        f1 = np.where(tps + fps + gold > 0, 2 * tps / np.maximum(tps + fps + gold, 1), 0.0)
        best = int(np.argmax(f1))  # first maximum = highest threshold
        if f1[best] > 0:
            best_f1, best_threshold = float(f1[best]), float(thresholds[best])
    results = {"auprc": auprc, "best_f1": best_f1, "best_threshold": best_threshold}

    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)):
            raise MetricInputError(f"threshold must be a number, got {threshold!r}")
        chosen = scores >= threshold if inclusive else scores > threshold
        p, r, f = _f1(float(labels[chosen].sum()), float(chosen.sum()), gold)
        results.update({"precision_at_threshold": p, "recall_at_threshold": r, "f1_at_threshold": f})
    return results
