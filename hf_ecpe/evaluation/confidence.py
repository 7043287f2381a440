"""Pair-confidence diagnostics of RPCL (Pan et al. 2026, §4.5): how far gold pairs stand from their row's negatives.

Per document, ``probabilities`` is the ``(n, n)`` matrix of P(pair) (row i = emotion unit, column j = cause unit),
``candidates`` the ``(n, n)`` bool candidate mask and ``gold`` the set of gold ``(i, j)``. Only *reachable* gold pairs
(candidates) of rows that also have a non-gold candidate enter; the paper gives no formula, so these are the natural
readings of its text, stated here:

- :func:`confidence_gaps`: per gold pair ``(i, j+)``, ``p_ij+ - max_{j- in N_i} p_ij-`` (the gold pair against the
  hardest negative of its row; the benchmark's "confidence gap" is the mean).
- :func:`margin_violation_severity`: the CDMR hinge ``[m0 - (p_ij+ - p_ij-)]_+`` with the *fixed* base margin ``m0``
  (so the number does not depend on the cause head), averaged over ``(i, j+, j-)`` with ``j-`` among the top-``k``
  negatives of row i (``"hard_negative"``, the pairs CDMR trains on) and over every negative of the row
  (``"all_candidate"``). Lower is better; 0 means every gold pair clears every (hard) negative by ``m0``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def _rows(
    probabilities: np.ndarray, candidates: np.ndarray, gold: Iterable[tuple[int, int]]
) -> Iterable[tuple[float, np.ndarray]]:
    """``(p_gold, negative probabilities sorted descending)`` per reachable gold pair whose row has a negative."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    candidates = np.asarray(candidates, dtype=bool)
    gold = {(int(i), int(j)) for i, j in gold}
    for i, j in sorted(gold):
        if not candidates[i, j]:
            continue
        negatives = [probabilities[i, k] for k in np.nonzero(candidates[i])[0] if (i, int(k)) not in gold]
        if negatives:
            yield float(probabilities[i, j]), np.sort(np.asarray(negatives))[::-1]


def confidence_gaps(probabilities: np.ndarray, candidates: np.ndarray, gold: Iterable[tuple[int, int]]) -> list[float]:
    """Per reachable gold pair ``(i, j+)``: ``p_ij+`` minus the highest P(pair) among the non-gold candidates of row i
    (gold pairs of rows without a negative are skipped)."""
    return [p_gold - float(negatives[0]) for p_gold, negatives in _rows(probabilities, candidates, gold)]


def margin_violation_severity(
    documents: Sequence[tuple[np.ndarray, np.ndarray, Iterable[tuple[int, int]]]],
    m0: float = 0.05,
    k: int = 8,
) -> dict[str, float]:
    """Mean margin violation ``[m0 - (p_ij+ - p_ij-)]_+`` over a corpus (micro over all (gold, negative) couples).

    Args:
        documents: per document ``(probabilities (n, n), candidates (n, n) bool, gold pairs)``.
        m0: the base margin (RPCL: 0.05).
        k: hard negatives per row (RPCL: 8; all of them when the row has fewer).

    Returns:
        ``{"hard_negative": ..., "all_candidate": ..., "hard_negative_couples": int, "all_candidate_couples": int}``;
        a severity is NaN when no couple exists.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    hard, every = [], []
    for probabilities, candidates, gold in documents:
        for p_gold, negatives in _rows(probabilities, candidates, gold):
            violations = np.maximum(0.0, m0 - (p_gold - negatives))
            hard.extend(violations[:k].tolist())
            every.extend(violations.tolist())
    return {
        "hard_negative": float(np.mean(hard)) if hard else float("nan"),
        "all_candidate": float(np.mean(every)) if every else float("nan"),
        "hard_negative_couples": len(hard),
        "all_candidate_couples": len(every),
    }


__all__ = ["confidence_gaps", "margin_violation_severity"]
