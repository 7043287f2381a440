"""Plots for emotion–cause results (optional extra: ``pip install 'hf-ecpe[plot]'``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "hf_ecpe.plotting needs matplotlib, which is not installed: pip install 'hf-ecpe[plot]' "
            "(or pip install matplotlib)"
        ) from err
    return plt


def _short(text: str, width: int = 40) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def plot_pair_scores(
    result_or_probs: Mapping[str, Any] | Sequence[Sequence[float | None]] | np.ndarray,
    units: Sequence[str] | None = None,
    ax: Any | None = None,
    *,
    annotate: bool | None = None,
    mark_pairs: bool = True,
    cmap: str = "viridis",
):
    """Heatmap of a document's pair-score matrix (row i = emotion unit, column j = cause unit).

    Args:
        result_or_probs: a pipeline result made with ``return_pair_scores=True`` (its ``"pair_scores"`` and
            ``"units"`` are used, and its ``"pairs"`` are outlined), or an ``n × n`` matrix of probabilities where
            ``None`` / NaN marks a non-candidate (drawn blank).
        units: unit texts for the axis labels (default: the result's units, else ``0..n-1``).
        ax: a matplotlib ``Axes`` to draw on (default: a new figure).
        annotate: write each probability in its cell (default: when n ≤ 12).
        mark_pairs: outline the extracted pairs of a pipeline result.
        cmap: matplotlib colour map.

    Returns:
        The ``Axes``. Raises ``ImportError`` without matplotlib, ``ValueError`` for a non-square matrix or a result
        made without ``return_pair_scores=True``.
    """
    plt = _import_pyplot()
    pairs: list[tuple[int, int]] = []
    if isinstance(result_or_probs, Mapping):
        if "pair_scores" not in result_or_probs:
            raise ValueError(
                "this pipeline result has no 'pair_scores'; call the pipeline with return_pair_scores=True, or pass "
                "the n x n probability matrix itself"
            )
        matrix_source = result_or_probs["pair_scores"]
        if units is None:
            units = result_or_probs.get("units")
        pairs = [(p["emotion_index"], p["cause_index"]) for p in result_or_probs.get("pairs", [])]
    else:
        matrix_source = result_or_probs
    raw = np.asarray(matrix_source, dtype=object)
    if raw.size == 0:
        raise ValueError("the pair-score matrix is empty (a document without units has nothing to plot)")
    matrix = np.vectorize(lambda value: np.nan if value is None else float(value), otypes=[float])(raw)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"the pair-score matrix must be square (n x n), got shape {matrix.shape}")
    n = matrix.shape[0]
    if units is not None and len(units) != n:
        raise ValueError(f"got {len(units)} units for a {n} x {n} matrix")
    labels = [f"{i}: {_short(u)}" for i, u in enumerate(units)] if units is not None else [str(i) for i in range(n)]

    if ax is None:
        size = max(4.0, 0.45 * n + 3.0)
        _, ax = plt.subplots(figsize=(size + 2.0, size))
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap=cmap, vmin=0.0, vmax=1.0)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="pair probability")
    ax.set_xticks(range(n), labels=labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels=labels, fontsize=8)
    ax.set_xlabel("cause unit")
    ax.set_ylabel("emotion unit")
    ax.set_title("Emotion–cause pair scores")
    if annotate if annotate is not None else n <= 12:
        for i in range(n):
            for j in range(n):
                if not np.isnan(matrix[i, j]):
                    colour = "black" if matrix[i, j] > 0.6 else "white"
                    ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=7, color=colour)
    if mark_pairs:
        from matplotlib.patches import Rectangle

        for e, c in pairs:
            ax.add_patch(Rectangle((c - 0.5, e - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    return ax
