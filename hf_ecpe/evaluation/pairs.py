"""Emotion–cause pair P/R/F1 as the ECPE reference scorers compute it, plus fold aggregation.

- :func:`ecpe_scores` — RankCP/A2Net ``eval_func`` (micro over the corpus, per-example pair *sets*, emotion and cause
  scores as projections of the pair sets, ``1e-8`` in every denominator) and, when pairs carry an emotion category,
  the SemEval-2024 Task 3 subtask-2 / MECPE ``cal_prf_pair_emocate`` scores (category-aware micro and
  gold-share-weighted P/R/F1 from the per-category confusion counts).
- :func:`prf` — the shared ``p = tp/(pred+eps)``, ``r = tp/(gold+eps)``, ``f = 2pr/(p+r+eps)`` formula.
- :func:`aggregate_folds` — mean (and spread) of every key separately over folds, as A2Net/RankCP report 10-fold results.

Pure Python/numpy; no ``evaluate`` import.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from ._validation import (
    MetricInputError,
    check_epsilon,
    check_indices,
    check_num_units,
    check_pairs,
    check_same_length,
    input_error,
    module_pairs,
)

#: The reference scorers' epsilon: ``1e-8`` is added to every P, R and F denominator (a perfect score is 0.99999998).
REFERENCE_EPSILON = 1e-8
#: The category never scored by the SemEval-2024 / MECPE scorers (their class 0, "no emotion").
NEUTRAL = "neutral"
#: The seven ECF / SemEval-2024 Task 3 classes, in the scorer's index order (``emotion_idx``); the default vocabulary.
ECF_CATEGORIES: tuple[str, ...] = ("neutral", "anger", "disgust", "fear", "joy", "sadness", "surprise")
#: MECPE's four-class variant of the weighted average (drops the rare disgust and fear).
MECPE_FOUR_CATEGORIES: tuple[str, ...] = ("anger", "joy", "sadness", "surprise")


def prf(num_correct: float, num_predicted: float, num_gold: float, epsilon: float = REFERENCE_EPSILON) -> tuple:
    """``(precision, recall, f1)`` with ``epsilon`` added to each denominator, as the reference scorers do.

    With ``epsilon=0`` the exact ratios are returned and a ``0/0`` ratio is defined as 0.0. A negative or
    non-finite ``epsilon`` raises :class:`MetricInputError` (``-1`` would turn a perfect score into 0).
    """
    epsilon = check_epsilon(epsilon)

    def ratio(num: float, den: float) -> float:
        den = den + epsilon
        return float(num / den) if den != 0 else 0.0

    precision = ratio(num_correct, num_predicted)
    recall = ratio(num_correct, num_gold)
    return precision, recall, ratio(2 * precision * recall, precision + recall)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_same_documents(predictions: Sequence[Any], references: Sequence[Any]) -> None:
    """Where both sides of an example are dicts (pipeline results, canonical rows) that carry an ``id`` or
    ``units``, they must be the same document: same ``id``, same units. Raises :class:`MetricInputError` naming
    the first mismatching example and both ids / unit texts — scoring pairs of one document against the gold of
    another (a reordered or filtered list) would otherwise give a plausible, wrong score."""
    for i, (prediction, reference) in enumerate(zip(predictions, references)):
        if not (isinstance(prediction, Mapping) and isinstance(reference, Mapping)):
            continue
        hint = "; give predictions and references in the same order, one entry per document"
        predicted_id, reference_id = prediction.get("id"), reference.get("id")
        if predicted_id is not None and reference_id is not None and predicted_id != reference_id:
            raise input_error(
                "predictions",
                i,
                f"is document id {_short(predicted_id)} but references[{i}] is id {_short(reference_id)}{hint}",
            )
        predicted_units, reference_units = prediction.get("units"), reference.get("units")
        if predicted_units is None or reference_units is None or list(predicted_units) == list(reference_units):
            continue
        where = f" (id {_short(predicted_id if predicted_id is not None else reference_id)})"
        if predicted_id is None and reference_id is None:
            where = ""
        first = next(
            (k for k, (a, b) in enumerate(zip(predicted_units, reference_units)) if a != b),
            min(len(predicted_units), len(reference_units)),
        )
        got = _short(predicted_units[first]) if first < len(predicted_units) else "missing"
        expected = _short(reference_units[first]) if first < len(reference_units) else "missing"
        raise input_error(
            "predictions",
            i,
            f"has other units than references[{i}]{where}: unit {first} is {got} vs {expected} "
            f"({len(predicted_units)} vs {len(reference_units)} units), so its pair indices mean other units{hint}",
        )


def _parse_corpus(
    predictions: Sequence[Any],
    references: Sequence[Any],
    num_units: int | Sequence[int] | None,
    categories: Collection[str],
) -> tuple[list[list[tuple]], list[list[tuple]], bool]:
    """Validate both sides; returns per-example tuples and whether the corpus carries categories."""
    n = check_same_length({"predictions": predictions, "references": references})
    check_same_documents(predictions, references)
    units = check_num_units(num_units, n)
    parsed: dict[str, list[list[tuple]]] = {"predictions": [], "references": []}
    width_seen: dict[int, tuple[str, int]] = {}
    for name, column in (("predictions", predictions), ("references", references)):
        for i, pairs in enumerate(column):
            example = check_pairs(
                pairs, what=name, example=i, num_units=None if units is None else units[i], categories=categories
            )
            if example:
                width_seen.setdefault(len(example[0]), (name, i))
                if len(width_seen) > 1:
                    (first, j), (second, k) = (width_seen[2], width_seen[3])
                    raise input_error(
                        name,
                        i,
                        f"pairs with and without categories are mixed ({first}[{j}] has [emotion, cause], "
                        f"{second}[{k}] has [emotion, cause, category]); give every pair in the same form",
                    )
            parsed[name].append(example)
    has_categories = 3 in width_seen
    return parsed["predictions"], parsed["references"], has_categories


def ecpe_scores(
    predictions: Sequence[Sequence[Sequence[Any]]],
    references: Sequence[Sequence[Sequence[Any]]],
    *,
    num_units: int | Sequence[int] | None = None,
    categories: Collection[str] | None = None,
    weighted_categories: Collection[str] | None = None,
    with_categories: bool | None = None,
    epsilon: float = REFERENCE_EPSILON,
) -> dict[str, float]:
    """Micro pair, emotion and cause P/R/F1 over a corpus (RankCP/A2Net ``eval_func``).

    Args:
        predictions, references: per example a list (or set) of 0-based pairs ``[emotion, cause]`` or
            ``[emotion, cause, category]`` (one form for the whole corpus). Duplicates within an example collapse.
            The examples themselves come in a list, in the same order on both sides (a dict or set of examples,
            a pair given as a set or dict raise :class:`MetricInputError` saying so). An example may also be a
            pipeline result or a canonical row (its ``pairs`` are scored); where both sides carry an ``id`` or
            ``units``, they must match (:func:`check_same_documents`).
        num_units: units (clauses/utterances) per example — one int or one per example; indices must be below it.
        categories: allowed category labels (default :data:`ECF_CATEGORIES`); ``"neutral"`` is always allowed.
        weighted_categories: categories averaged in the weighted scores (default: every category in ``categories``
            except neutral); e.g. :data:`MECPE_FOUR_CATEGORIES` for MECPE's 4-class variant.
        with_categories: ``None`` (default) adds the category scores when the pairs carry categories; ``True``
            always adds them (so a corpus without any pair still reports them) and rejects 2-element pairs;
            ``False`` ignores categories.
        epsilon: added to every denominator (the references use ``1e-8``; ``0`` gives exact ratios, ``0/0 = 0``);
            must be finite and ``>= 0``.

    Returns:
        ``pair_*``, ``emotion_*``, ``cause_*`` ``precision/recall/f1``: micro over the corpus; ``pair`` matches
        ``(emotion, cause)`` (categories ignored); ``emotion``/``cause`` score the sets of emotion/cause indices
        *implied by the pairs* of each example, not an emotion/cause classifier. With categories also
        ``category_pair_*`` (micro; ``(emotion, cause, category)`` must match; neutral pairs on either side are
        ignored) and ``weighted_*`` (per-category P/R/F1, averaged with each category's share of gold pairs as
        weight — the SemEval-2024 subtask-2 ``weighted_f1``; weighted F1 is not the harmonic mean of weighted P
        and R). Weighted scores are 0.0 when no gold pair has a weighted category (the reference returns nan).
    """
    epsilon = check_epsilon(epsilon)
    if isinstance(categories, str):
        raise MetricInputError("categories: expected a list of category names, got a string")
    # Ordered like the scorer's class index (ECF order by default) so the weighted sums add up in the same order.
    allowed = list(dict.fromkeys([*(ECF_CATEGORIES if categories is None else categories), NEUTRAL]))
    preds, golds, has_categories = _parse_corpus(predictions, references, num_units, set(allowed))
    if with_categories:
        for name, parsed in (("predictions", preds), ("references", golds)):
            for i, example in enumerate(parsed):
                if example and len(example[0]) == 2:
                    raise input_error(name, i, "with_categories=True needs [emotion, cause, category] pairs")
        has_categories = True
    elif with_categories is not None:
        has_categories = False

    counts = {task: [0, 0, 0] for task in ("pair", "emotion", "cause")}  # correct, predicted, gold
    for pred, gold in zip(preds, golds):
        pred_pairs = {p[:2] for p in pred}
        gold_pairs = {p[:2] for p in gold}
        for task, pred_set, gold_set in (
            ("pair", pred_pairs, gold_pairs),
            ("emotion", {p[0] for p in pred_pairs}, {p[0] for p in gold_pairs}),
            ("cause", {p[1] for p in pred_pairs}, {p[1] for p in gold_pairs}),
        ):
            counts[task][0] += len(pred_set & gold_set)
            counts[task][1] += len(pred_set)
            counts[task][2] += len(gold_set)

    results: dict[str, float] = {}
    for task, (correct, predicted, gold) in counts.items():
        p, r, f = prf(correct, predicted, gold, epsilon)
        results.update({f"{task}_precision": p, f"{task}_recall": r, f"{task}_f1": f})
    if has_categories:
        results.update(_category_scores(preds, golds, allowed, weighted_categories, epsilon))
    return results


def _category_scores(
    preds: list[list[tuple]],
    golds: list[list[tuple]],
    allowed: list[str],
    weighted_categories: Collection[str] | None,
    epsilon: float,
) -> dict[str, float]:
    """SemEval-2024 ``cal_prf_pair_emocate``: per-category tp / predicted / gold counts, micro and gold-weighted."""
    scored = [c for c in allowed if c != NEUTRAL]
    if weighted_categories is not None:
        if isinstance(weighted_categories, str):
            raise MetricInputError("weighted_categories: expected a list of category names, got a string")
        unknown = set(weighted_categories) - set(scored)
        if unknown:
            raise MetricInputError(
                f"weighted_categories: {sorted(unknown)} are not scored categories; choose from {scored}"
            )
        weighted = [c for c in scored if c in set(weighted_categories)]
    else:
        weighted = scored
    index = {c: k for k, c in enumerate(scored)}
    tp, predicted, gold = (np.zeros(len(scored)) for _ in range(3))
    for pred, gold_pairs in zip(preds, golds):
        pred_set = {p for p in pred if p[2] != NEUTRAL}
        gold_set = {p for p in gold_pairs if p[2] != NEUTRAL}
        for p in pred_set:
            predicted[index[p[2]]] += 1
            if p in gold_set:
                tp[index[p[2]]] += 1
        for p in gold_set:
            gold[index[p[2]]] += 1

    results: dict[str, float] = {}
    p, r, f = prf(tp.sum(), predicted.sum(), gold.sum(), epsilon)
    results.update({"category_pair_precision": p, "category_pair_recall": r, "category_pair_f1": f})

    per_category = np.array([prf(tp[k], predicted[k], gold[k], epsilon) for k in range(len(scored))])
    rows = [index[c] for c in weighted]
    total = gold[rows].sum()
    if total > 0:
        weights = gold[rows] / total
        w_p, w_r, w_f = (float(np.sum(per_category[rows, j] * weights)) for j in range(3))
    else:
        w_p = w_r = w_f = 0.0
    results.update({"weighted_precision": w_p, "weighted_recall": w_r, "weighted_f1": w_f})
    return results


def consistency_scores(
    predictions: Sequence[Sequence[Sequence[Any]]],
    emotion_predictions: Sequence[Sequence[Any]],
    cause_predictions: Sequence[Sequence[Any]],
    *,
    num_units: int | Sequence[int] | None = None,
    epsilon: float = REFERENCE_EPSILON,
) -> dict[str, float]:
    """A2Net's cross-task consistency (``utils.eval_consistency``): do the emotion/cause heads agree with the pairs?

    Args:
        predictions: per example the predicted pairs ``[emotion, cause]`` (a category, if present, is ignored).
        emotion_predictions, cause_predictions: per example the unit indices the emotion / cause head predicts.
        num_units, epsilon: as in :func:`ecpe_scores`.

    Returns:
        ``emotion_consistency``: share of the emotion units implied by the predicted pairs (micro over the corpus,
        per-example sets) that the emotion head also predicts — A2Net's printed ``R_e``; ``cause_consistency``
        likewise for causes. Also ``*_consistency_precision`` (share of head predictions implied by some pair) and
        ``*_consistency_f1``. With no predicted pair at all the consistency is 0.0 (the reference's
        ``0 / (0 + 1e-8)``; with ``epsilon=0`` the ``0/0`` case is also 0.0).
    """
    epsilon = check_epsilon(epsilon)
    columns = {
        "predictions": predictions,
        "emotion_predictions": emotion_predictions,
        "cause_predictions": cause_predictions,
    }
    n = check_same_length(columns)
    units = check_num_units(num_units, n)
    counts = {"emotion": [0, 0, 0], "cause": [0, 0, 0]}  # agreeing, head-predicted, pair-implied
    for i, (pairs, emotion_heads, cause_heads) in enumerate(_consistency_examples(columns)):
        limit = None if units is None else units[i]
        pairs = check_pairs(pairs, what="predictions", example=i, num_units=limit, categories=None)
        for task, position, heads, name in (
            ("emotion", 0, emotion_heads, "emotion_predictions"),
            ("cause", 1, cause_heads, "cause_predictions"),
        ):
            implied = {pair[position] for pair in pairs}
            predicted = set(check_indices(heads, what=name, example=i, num_units=limit, name=f"{task} index"))
            counts[task][0] += len(implied & predicted)
            counts[task][1] += len(predicted)
            counts[task][2] += len(implied)
    results: dict[str, float] = {}
    for task, (agreeing, head_predicted, pair_implied) in counts.items():
        p, r, f = prf(agreeing, head_predicted, pair_implied, epsilon)
        results.update({f"{task}_consistency": r, f"{task}_consistency_precision": p, f"{task}_consistency_f1": f})
    return results


def _consistency_examples(columns: Mapping[str, Sequence[Any]]) -> zip:
    return zip(columns["predictions"], columns["emotion_predictions"], columns["cause_predictions"])


def consistency_module_columns(
    predictions: Any, emotion_predictions: Any, cause_predictions: Any
) -> tuple[Any, list[list[int]] | None, list[list[int]] | None]:
    """What the ``consistency`` module stores for one batch, checked in :func:`consistency_scores`' order first.

    Pairs come back with string elements (:func:`~hf_ecpe.evaluation._validation.pairs_as_strings`), head
    predictions as ints, so that the module's int features never truncate a bad index into a good one.
    ``num_units`` is checked later, by :func:`consistency_scores` itself.
    """
    columns = {
        "predictions": predictions,
        "emotion_predictions": emotion_predictions,
        "cause_predictions": cause_predictions,
    }
    if any(column is None for column in columns.values()):  # evaluate reports the missing input itself
        return predictions, emotion_predictions, cause_predictions
    check_same_length(columns)
    heads: dict[str, list[list[int]]] = {"emotion_predictions": [], "cause_predictions": []}
    for i, (pairs, emotion_heads, cause_heads) in enumerate(_consistency_examples(columns)):
        check_pairs(pairs, what="predictions", example=i, categories=None)
        for task, values, name in (
            ("emotion", emotion_heads, "emotion_predictions"),
            ("cause", cause_heads, "cause_predictions"),
        ):
            heads[name].append(check_indices(values, what=name, example=i, name=f"{task} index"))
    return module_pairs(predictions, what="predictions"), heads["emotion_predictions"], heads["cause_predictions"]


def offset_bucket(emotion: int, cause: int, max_offset: int = 3) -> str:
    """The relative-position bucket of a pair: ``cause - emotion`` as ``"-1"``, ``"0"``, ``"+2"``, ..., clipped to
    ``"<=-K"`` / ``">=+K"`` beyond ``max_offset`` K (a negative offset: the cause comes before the emotion)."""
    offset = cause - emotion
    if offset <= -max_offset:
        return f"<=-{max_offset}"
    if offset >= max_offset:
        return f">=+{max_offset}"
    return f"{offset:+d}" if offset else "0"


def pair_scores_by_offset(
    predictions: Sequence[Sequence[Sequence[Any]]],
    references: Sequence[Sequence[Sequence[Any]]],
    *,
    num_units: int | Sequence[int] | None = None,
    max_offset: int = 3,
    epsilon: float = REFERENCE_EPSILON,
) -> dict[str, dict[str, float]]:
    """Pair P/R/F1 per relative position of the cause (``cause - emotion``, see :func:`offset_bucket`).

    Inputs as :func:`ecpe_scores` (categories ignored). Returns, per bucket from ``"<=-K"`` to ``">=+K"``,
    ``{"gold", "predicted", "correct", "precision", "recall", "f1"}``: a predicted pair counts in the bucket of its
    own offset, so the buckets' counts add up to the corpus totals and their micro scores to :func:`ecpe_scores`'
    pair scores. Shows where a model's recall goes, e.g. that causes *after* their emotion ("I was happy, because
    I passed") are missed.
    """
    epsilon = check_epsilon(epsilon)
    if isinstance(max_offset, bool) or not isinstance(max_offset, int) or max_offset < 1:
        raise MetricInputError(f"max_offset: expected an integer >= 1, got {max_offset!r}")
    preds, golds, _ = _parse_corpus(predictions, references, num_units, None)
    buckets = [offset_bucket(0, offset, max_offset) for offset in range(-max_offset, max_offset + 1)]
    counts = {bucket: [0, 0, 0] for bucket in buckets}  # correct, predicted, gold
    for pred, gold in zip(preds, golds):
        pred_pairs, gold_pairs = {p[:2] for p in pred}, {p[:2] for p in gold}
        for emotion, cause in pred_pairs:
            counts[offset_bucket(emotion, cause, max_offset)][1] += 1
        for emotion, cause in gold_pairs:
            bucket = counts[offset_bucket(emotion, cause, max_offset)]
            bucket[2] += 1
            bucket[0] += (emotion, cause) in pred_pairs
    result = {}
    for bucket, (correct, predicted, gold) in counts.items():
        precision, recall, f1 = prf(correct, predicted, gold, epsilon)
        result[bucket] = {
            "gold": gold,
            "predicted": predicted,
            "correct": correct,
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }
    return result


def ecpe_module_columns(predictions: Any, references: Any) -> tuple[Any, Any]:
    """What the ``ecpe`` module stores for one batch: pairs checked as :func:`ecpe_scores` checks them (the category
    vocabulary and ``num_units`` are checked at compute time), with string elements."""
    check_same_length({"predictions": predictions, "references": references})
    return module_pairs(predictions, what="predictions"), module_pairs(references, what="references")


def aggregate_folds(results: Sequence[Mapping[str, float]], *, ddof: int = 0) -> dict[str, float]:
    """Mean of every key over folds, each key separately (as A2Net/RankCP report 10-fold results), plus ``<key>_std``.

    The mean F1 is therefore *not* the harmonic mean of the mean P and mean R. ``ddof`` is passed to ``np.std``
    (0: population spread over the folds, 1: sample standard deviation). Every fold must have the same keys.
    """
    if len(results) == 0:
        raise MetricInputError("aggregate_folds: got no fold results")
    keys = list(results[0])
    for i, fold in enumerate(results):
        if set(fold) != set(keys):
            missing, extra = sorted(set(keys) - set(fold)), sorted(set(fold) - set(keys))
            raise input_error("results", i, f"keys differ from fold 0 (missing {missing}, extra {extra})")
    aggregated: dict[str, float] = {}
    for key in keys:
        if f"{key}_std" in keys:
            raise MetricInputError(f"aggregate_folds: key {key!r} would collide with the existing key '{key}_std'")
        values = []
        for i, fold in enumerate(results):
            value = fold[key]
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise input_error("results", i, f"value of {key!r} is {value!r}; only numbers can be averaged")
            values.append(float(value))
        aggregated[key] = float(np.mean(values))
        aggregated[f"{key}_std"] = float(np.std(values, ddof=ddof)) if len(values) > ddof else float("nan")
    return aggregated
