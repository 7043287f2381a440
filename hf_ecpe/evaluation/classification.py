"""Utterance-pair classification scores for Causal Emotion Entailment (RECCON subtask 2) and KD-ECS.

RECCON's ``eval_classification.py`` prints ``sklearn.metrics.classification_report(labels, preds)``: **Pos. F1** is the
F1 of class 1, **Neg. F1** the F1 of class 0, **macro F1** their unweighted mean. :func:`cause_entailment_scores`
computes the same numbers in numpy (no scikit-learn needed) and, when emotion predictions are given, the accuracy of
the predicted emotion of each target utterance (KD-ECS "Emo Acc"; scikit-learn ``accuracy_score``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from ._validation import (
    MetricInputError,
    check_binary_labels,
    check_category,
    check_same_length,
    module_binary_labels,
)


def _class_f1(predictions: np.ndarray, references: np.ndarray, label: int) -> float:
    """F1 of one class: ``2 tp / (n_gold + n_predicted)``, 0.0 when the class occurs on neither side."""
    tp = float(np.sum((predictions == label) & (references == label)))
    denominator = float(np.sum(predictions == label) + np.sum(references == label))
    return 2 * tp / denominator if denominator else 0.0


def emotion_accuracy(
    predictions: Sequence[Any], references: Sequence[Any], *, labels: Collection[str] | None = None
) -> float:
    """Share of target utterances whose predicted emotion equals the gold emotion (0.0 for no utterances).

    Labels are strings or ints; with ``labels`` given, string labels outside it raise ``ValueError``.
    """
    check_same_length({"emotion_predictions": predictions, "emotion_references": references})
    for name, column in (("emotion_predictions", predictions), ("emotion_references", references)):
        for i, value in enumerate(column):
            if isinstance(value, str):
                check_category(value, what=name, example=i, categories=labels)
            elif isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise MetricInputError(f"{name}[{i}]: emotion label must be a string or an int, got {value!r}")
            elif labels is not None:
                raise MetricInputError(f"{name}[{i}]: got int label {value!r} but `labels` lists string categories")
    if len(predictions) == 0:
        return 0.0
    same = [_normalise(p) == _normalise(r) for p, r in zip(predictions, references)]
    return float(np.mean(same))


def _normalise(label: Any) -> Any:
    return label.strip() if isinstance(label, str) else int(label)


def cause_entailment_scores(
    predictions: Sequence[int],
    references: Sequence[int],
    *,
    emotion_predictions: Sequence[Any] | None = None,
    emotion_references: Sequence[Any] | None = None,
    emotion_labels: Collection[str] | None = None,
) -> dict[str, float]:
    """Pos./Neg./macro F1 of binary utterance-pair decisions (1 = the candidate utterance causes the emotion).

    Args:
        predictions, references: one 0/1 label per (target utterance, candidate utterance) pair.
        emotion_predictions, emotion_references: optional, one emotion label per target utterance (a different count
            from the pairs); both or neither.
        emotion_labels: optional vocabulary for string emotion labels (unknown labels raise).

    Returns:
        ``pos_f1`` (class 1), ``neg_f1`` (class 0), ``macro_f1`` (mean over the classes that occur in references or
        predictions — scikit-learn's ``classification_report``/``f1_score(average="macro")``; a class absent from
        both has F1 0.0 and is left out of the mean; 0.0 for empty input), and ``emotion_accuracy`` when emotions
        are given.
    """
    check_same_length({"predictions": predictions, "references": references})
    preds = check_binary_labels(predictions, what="predictions")
    refs = check_binary_labels(references, what="references")
    f1 = {label: _class_f1(preds, refs, label) for label in (0, 1)}
    present = sorted(set(np.unique(preds).tolist()) | set(np.unique(refs).tolist()))
    results = {
        "pos_f1": f1[1],
        "neg_f1": f1[0],
        "macro_f1": float(np.mean([f1[label] for label in present])) if present else 0.0,
    }
    if (emotion_predictions is None) != (emotion_references is None):
        raise MetricInputError("pass both emotion_predictions and emotion_references, or neither")
    if emotion_predictions is not None:
        results["emotion_accuracy"] = emotion_accuracy(emotion_predictions, emotion_references, labels=emotion_labels)
    return results


def cause_entailment_module_columns(predictions: Any, references: Any) -> tuple[Any, Any]:
    """What the ``cause_entailment`` module stores for one batch: 0/1 labels checked as
    :func:`cause_entailment_scores` checks them, as ints (its int features would otherwise truncate 0.9 into 0)."""
    if predictions is not None and references is not None:
        check_same_length({"predictions": predictions, "references": references})
    return module_binary_labels(predictions, what="predictions"), module_binary_labels(references, what="references")
