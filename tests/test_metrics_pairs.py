"""Plain-numpy metric functions: ECPE pair P/R/F1, fold aggregation, consistency, AUPRC, cause-entailment F1.

Expected numbers are the worked vectors of docs/reference-methods-and-metrics.md (sections 1.1, 1.2, 4.2, 6.1, 8),
produced by the reference scorers themselves, or hand counts stated next to each assertion.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hf_ecpe.evaluation import (
    ECF_CATEGORIES,
    MECPE_FOUR_CATEGORIES,
    MetricInputError,
    aggregate_folds,
    average_precision,
    cause_entailment_scores,
    consistency_scores,
    ecpe_scores,
    emotion_accuracy,
    pair_auprc_scores,
    pair_scores_by_offset,
    prf,
)
from hf_ecpe.evaluation._validation import (
    check_index,
    check_num_units,
    check_pairs,
    check_span,
    pairs_as_strings,
)

sklearn_metrics = pytest.importorskip("sklearn.metrics")

# Section 1.1 worked example (0-based indices are irrelevant to the scorer: it compares indices as given).
GOLD_11 = [[[2, 1]], [[3, 3], [5, 4]], [[1, 1]]]
PRED_11 = [[[2, 1], [2, 2]], [[3, 3]], [[4, 4]]]

# Section 6.1 SemEval-2024 subtask-2 worked example (one conversation).
GOLD_61 = [[[2, 1, "sadness"], [3, 3, "joy"], [1, 1, "sadness"]]]
PRED_61 = [[[2, 1, "sadness"], [3, 3, "joy"], [3, 2, "joy"], [1, 1, "anger"]]]


def triple(results: dict, task: str) -> tuple[float, float, float]:
    return results[f"{task}_precision"], results[f"{task}_recall"], results[f"{task}_f1"]


# --------------------------------------------------------------------------------------------- ecpe_scores


def test_reference_worked_example_pair_emotion_cause():
    results = ecpe_scores(PRED_11, GOLD_11)
    assert triple(results, "pair") == pytest.approx((0.5, 0.5, 0.5), abs=1e-7)
    assert triple(results, "emotion") == pytest.approx((0.666667, 0.5, 0.571429), abs=1e-6)
    assert triple(results, "cause") == pytest.approx((0.5, 0.5, 0.5), abs=1e-7)
    # The epsilon is really there (a perfect score is below 1), and epsilon=0 gives the exact ratios.
    assert results["pair_precision"] == 2 / (4 + 1e-8)
    exact = ecpe_scores(PRED_11, GOLD_11, epsilon=0)
    assert triple(exact, "emotion") == (2 / 3, 0.5, 2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))


def test_duplicate_prediction_collapses():
    results = ecpe_scores([[[1, 2], [1, 2]]], [[[1, 2]]])
    assert triple(results, "pair") == pytest.approx((0.99999999, 0.99999999, 0.99999998), abs=1e-8)
    assert results["pair_f1"] < 1.0
    assert triple(ecpe_scores([[[1, 2], [1, 2]]], [[[1, 2]]], epsilon=0), "pair") == (1.0, 1.0, 1.0)
    # Duplicated gold pairs collapse too (doc 1401 of the ECPE corpus lists [16, 15] twice).
    assert ecpe_scores([[[10, 9], [16, 15]]], [[[10, 9], [16, 15], [16, 15]]], epsilon=0)["pair_recall"] == 1.0


def test_emotion_and_cause_are_projections_of_pairs():
    # Right emotion and cause units, wrong pairing: pair score 0, projections perfect.
    results = ecpe_scores([[[0, 1], [2, 3]]], [[[0, 3], [2, 1]]], epsilon=0)
    assert triple(results, "pair") == (0.0, 0.0, 0.0)
    assert triple(results, "emotion") == (1.0, 1.0, 1.0)
    assert triple(results, "cause") == (1.0, 1.0, 1.0)


def test_empty_predictions_and_empty_corpus_are_zero():
    results = ecpe_scores([[], [], []], GOLD_11)
    assert all(value == 0.0 for value in results.values())
    assert set(results) == {f"{t}_{m}" for t in ("pair", "emotion", "cause") for m in ("precision", "recall", "f1")}
    assert all(value == 0.0 for value in ecpe_scores([[]], [[]]).values())
    assert all(value == 0.0 for value in ecpe_scores([], []).values())
    # An example without predictions still counts its gold pairs in the recall.
    partial = ecpe_scores([[[2, 1]], [], []], GOLD_11, epsilon=0)
    assert triple(partial, "pair") == (1.0, 0.25, 0.4)


def test_semeval_subtask2_worked_example():
    results = ecpe_scores(PRED_61, GOLD_61)
    assert triple(results, "category_pair") == pytest.approx((0.5, 0.6667, 0.5714), abs=1e-4)
    assert triple(results, "weighted") == pytest.approx((0.8333, 0.6667, 0.6667), abs=1e-4)
    # Hand count: sadness P=1 R=1/2, joy P=1/2 R=1, anger P=0 (no gold → weight 0); weights 2/3, 1/3.
    exact = ecpe_scores(PRED_61, GOLD_61, epsilon=0)
    assert exact["weighted_precision"] == pytest.approx(2 / 3 * 1 + 1 / 3 * 0.5, abs=1e-15)
    assert exact["weighted_recall"] == pytest.approx(2 / 3 * 0.5 + 1 / 3 * 1, abs=1e-15)
    assert exact["weighted_f1"] == pytest.approx(2 / 3, abs=1e-15)
    # Weighted F1 is not the harmonic mean of weighted P and weighted R.
    w_p, w_r = exact["weighted_precision"], exact["weighted_recall"]
    harmonic = 2 * w_p * w_r / (w_p + w_r)
    assert abs(harmonic - exact["weighted_f1"]) > 0.05
    # Category-agnostic pair scores ignore the categories: (1,1) is a correct pair even though its category is wrong.
    assert triple(exact, "pair") == (0.75, 1.0, 2 * 0.75 / 1.75)


def test_neutral_is_never_scored_in_category_scores():
    base = ecpe_scores(PRED_61, GOLD_61)
    extra_pred = [PRED_61[0] + [[0, 0, "neutral"], [4, 4, "neutral"]]]
    extra_gold = [GOLD_61[0] + [[0, 0, "neutral"]]]
    with_neutral = ecpe_scores(extra_pred, extra_gold)
    for task in ("category_pair", "weighted"):
        assert triple(with_neutral, task) == triple(base, task)
    assert with_neutral["pair_precision"] != base["pair_precision"]  # the category-agnostic score does see them


def test_false_positives_in_class_without_gold_do_not_lower_weighted_precision():
    gold = [[[1, 0, "joy"]]]
    clean = ecpe_scores([[[1, 0, "joy"]]], gold, epsilon=0)
    noisy = ecpe_scores([[[1, 0, "joy"], [2, 0, "fear"], [3, 0, "fear"]]], gold, epsilon=0)
    assert noisy["weighted_precision"] == clean["weighted_precision"] == 1.0
    assert noisy["category_pair_precision"] == pytest.approx(1 / 3)


def test_mecpe_four_class_weighted_variant():
    gold = [[[1, 0, "joy"], [2, 0, "disgust"], [3, 3, "disgust"]]]
    pred = [[[1, 0, "joy"], [2, 0, "disgust"]]]
    six = ecpe_scores(pred, gold, epsilon=0)
    four = ecpe_scores(pred, gold, epsilon=0, weighted_categories=MECPE_FOUR_CATEGORIES)
    assert four["weighted_f1"] == 1.0  # only joy is left, and it is perfect
    assert six["weighted_f1"] == pytest.approx(1 / 3 * 1.0 + 2 / 3 * (2 * 1.0 * 0.5 / 1.5))
    with pytest.raises(ValueError, match="weighted_categories"):
        ecpe_scores(pred, gold, weighted_categories=["happiness"])


def test_weighted_scores_without_gold_categories_are_zero():
    results = ecpe_scores([[[1, 0, "joy"]]], [[[1, 1, "neutral"]]])
    assert triple(results, "weighted") == (0.0, 0.0, 0.0)
    assert triple(results, "category_pair") == (0.0, 0.0, 0.0)


def test_with_categories_switch():
    assert "weighted_f1" not in ecpe_scores([[]], [[]])
    forced = ecpe_scores([[]], [[]], with_categories=True)
    assert forced["weighted_f1"] == 0.0 and forced["category_pair_f1"] == 0.0
    assert "weighted_f1" not in ecpe_scores(PRED_61, GOLD_61, with_categories=False)
    with pytest.raises(ValueError, match=r"references\[0\].*with_categories=True"):
        ecpe_scores([[]], [[[1, 0]]], with_categories=True)


def test_custom_category_vocabulary_and_unknown_categories():
    results = ecpe_scores([[[0, 0, "happy"]]], [[[0, 0, "happy"]]], categories=["happy", "excited"], epsilon=0)
    assert results["weighted_f1"] == 1.0
    with pytest.raises(ValueError, match=r"predictions\[1\].*unknown category 'happiness'"):
        ecpe_scores([[], [[0, 0, "happiness"]]], [[], []])
    with pytest.raises(ValueError, match=r"references\[0\].*unknown category 'Joy'"):
        ecpe_scores([[]], [[[0, 0, "Joy"]]])  # exact match: case matters
    with pytest.raises(ValueError, match="categories"):
        ecpe_scores([[]], [[]], categories="joy")


@pytest.mark.parametrize(
    ("predictions", "references", "kwargs", "message"),
    [
        ([[]], [[], []], {}, "different numbers of examples"),
        ([[[1, -1]]], [[]], {}, r"predictions\[0\]: pair 0 cause index -1 is negative"),
        ([[], [[4, 1]]], [[], []], {"num_units": [5, 4]}, r"predictions\[1\]: pair 0 emotion index 4 is out of range"),
        ([[]], [[[0, 3]]], {"num_units": 3}, r"references\[0\]: pair 0 cause index 3 is out of range"),
        ([[]], [[]], {"num_units": [1, 2]}, "num_units: has 2 entries for 1 examples"),
        ([[[1, 2, 3, 4]]], [[]], {}, r"predictions\[0\]: pair 0 is \[1, 2, 3, 4\]"),
        ([[[1.5, 2]]], [[]], {}, r"predictions\[0\]: expected an integer index, got 1.5"),
        ([[[True, 2]]], [[]], {}, r"predictions\[0\]: expected an integer index"),
        ([[["a", 2]]], [[]], {}, r"predictions\[0\]: expected an integer index, got 'a'"),
        ([None], [[]], {}, r"predictions\[0\]: got None"),
        ([[[1, 0, "joy"], [1, 1]]], [[]], {}, r"predictions\[0\]: pair 1 has 2 elements"),
        ([[[1, 0, "joy"]]], [[[1, 0]]], {}, r"references\[0\]: pairs with and without categories are mixed"),
        ([[[1, 0, ""]]], [[]], {}, r"predictions\[0\]: category must be a non-empty string"),
    ],
)
def test_ecpe_input_errors_name_the_example(predictions, references, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ecpe_scores(predictions, references, **kwargs)


def test_index_types_accepted():
    as_numpy = [np.array([[2, 1], [2, 2]]), np.array([[3, 3]]), np.array([[4, 4]], dtype=float)]
    as_strings = [[[str(e), str(c)] for e, c in example] for example in PRED_11]
    expected = ecpe_scores(PRED_11, GOLD_11)
    assert ecpe_scores(as_numpy, GOLD_11) == expected
    assert ecpe_scores(as_strings, GOLD_11) == expected
    assert ecpe_scores([[tuple(p) for p in ex] for ex in PRED_11], GOLD_11) == expected


pair_lists = st.lists(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=5), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(predictions=pair_lists, references=pair_lists)
def test_ecpe_properties(predictions, references):
    references = (references * len(predictions))[: len(predictions)]
    results = ecpe_scores(predictions, references, epsilon=0)
    assert all(0.0 <= v <= 1.0 for v in results.values())
    # Example order does not matter; scoring against itself is perfect whenever there are pairs.
    assert ecpe_scores(predictions[::-1], references[::-1], epsilon=0) == pytest.approx(results)
    self_scores = ecpe_scores(references, references, epsilon=0)
    has_pairs = any(references)
    assert all(v == (1.0 if has_pairs else 0.0) for v in self_scores.values())
    # Precision counts distinct pairs: duplicating every prediction changes nothing.
    assert ecpe_scores([p + p for p in predictions], references, epsilon=0) == results


def test_prf_definition():
    assert prf(0, 0, 0) == (0.0, 0.0, 0.0)
    assert prf(0, 0, 0, epsilon=0) == (0.0, 0.0, 0.0)
    assert prf(1, 2, 4, epsilon=0) == (0.5, 0.25, 2 * 0.5 * 0.25 / 0.75)


# --------------------------------------------------------------------------------------------- aggregate_folds


def test_aggregate_folds_means_each_key_separately():
    folds = [{"p": 1.0, "r": 0.5, "f": 2 / 3}, {"p": 0.5, "r": 1.0, "f": 2 / 3}]
    agg = aggregate_folds(folds)
    assert agg["p"] == 0.75 and agg["r"] == 0.75
    assert agg["f"] == pytest.approx(0.6667, abs=1e-4)  # not the harmonic mean of 0.75 and 0.75
    assert agg["p_std"] == 0.25 and agg["f_std"] == 0.0
    assert aggregate_folds(folds, ddof=1)["p_std"] == pytest.approx(np.std([1.0, 0.5], ddof=1))
    assert set(agg) == {"p", "r", "f", "p_std", "r_std", "f_std"}


def test_aggregate_folds_of_ecpe_results():
    folds = [ecpe_scores(PRED_11, GOLD_11), ecpe_scores(GOLD_11, GOLD_11)]
    agg = aggregate_folds(folds)
    assert agg["pair_f1"] == pytest.approx((folds[0]["pair_f1"] + folds[1]["pair_f1"]) / 2)


def test_aggregate_folds_errors():
    with pytest.raises(ValueError, match="no fold results"):
        aggregate_folds([])
    with pytest.raises(ValueError, match=r"results\[1\]: keys differ.*missing \['r'\]"):
        aggregate_folds([{"p": 1.0, "r": 1.0}, {"p": 1.0}])
    with pytest.raises(ValueError, match=r"results\[0\]: value of 'p'"):
        aggregate_folds([{"p": "high"}])
    with pytest.raises(ValueError, match="collide"):
        aggregate_folds([{"p": 1.0, "p_std": 0.0}])


# --------------------------------------------------------------------------------------------- consistency


def test_consistency_counts():
    # Pair-implied emotions {2}, {3}, {} ; head emotions {2}, {0}, {} → 1 of 2 implied emotions agreed.
    # Pair-implied causes {1,2}, {3}, {} ; head causes {1,2}, {3}, {1} → 3 of 3 implied; 3 of 4 head causes.
    results = consistency_scores([[[2, 1], [2, 2]], [[3, 3]], []], [[2], [0], []], [[1, 2], [3], [1]], epsilon=0)
    assert results["emotion_consistency"] == 0.5
    assert results["emotion_consistency_precision"] == 0.5
    assert results["cause_consistency"] == 1.0
    assert results["cause_consistency_precision"] == 0.75
    assert results["cause_consistency_f1"] == pytest.approx(2 * 0.75 / 1.75)
    with_eps = consistency_scores([[[2, 1], [2, 2]], [[3, 3]], []], [[2], [0], []], [[1, 2], [3], [1]])
    assert with_eps["emotion_consistency"] == 1 / (2 + 1e-8)


def test_consistency_empty_case_and_categories():
    for epsilon in (1e-8, 0):
        results = consistency_scores([[], []], [[1], []], [[], [0]], epsilon=epsilon)
        assert results["emotion_consistency"] == 0.0 and results["cause_consistency"] == 0.0
    with_categories = consistency_scores([[[1, 0, "joy"]]], [[1]], [[0]], epsilon=0)
    assert with_categories["emotion_consistency"] == with_categories["cause_consistency"] == 1.0


def test_consistency_errors():
    with pytest.raises(ValueError, match="different numbers of examples"):
        consistency_scores([[]], [[], []], [[]])
    with pytest.raises(ValueError, match=r"cause_predictions\[1\]: cause index 5 is out of range"):
        consistency_scores([[], []], [[], []], [[], [5]], num_units=5)
    with pytest.raises(ValueError, match=r"emotion_predictions\[0\]: emotion index -2 is negative"):
        consistency_scores([[]], [[-2]], [[]])


# --------------------------------------------------------------------------------------------- AUPRC


def sklearn_ap(labels, scores) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # all-negative input warns
        return sklearn_metrics.average_precision_score(labels, scores)


def test_average_precision_worked_vectors():
    assert average_precision([1, 0, 1, 0, 0, 1], [0.9, 0.8, 0.8, 0.3, 0.2, 0.1]) == pytest.approx(13 / 18, abs=1e-15)
    pooled = pair_auprc_scores([[0.2, 0.9, 0.1], [0.7, 0.6, 0.5]], [[1, 0, 0], [0, 1, 1]])
    assert pooled["auprc"] == pytest.approx(0.477778, abs=1e-6)
    per_example = pair_auprc_scores([[0.2, 0.9, 0.1], [0.7, 0.6, 0.5]], [[1, 0, 0], [0, 1, 1]], average="per_example")
    assert per_example["auprc"] == pytest.approx(0.541667, abs=1e-6)


def test_average_precision_equals_sklearn_on_random_inputs():
    rng = np.random.default_rng(0)
    for trial in range(150):
        n = int(rng.integers(1, 60))
        labels = rng.integers(0, 2, n)
        # Half of the trials use coarse scores so that ties are frequent.
        scores = rng.integers(0, 5, n) / 4 if trial % 2 else rng.normal(size=n)
        assert average_precision(labels, scores) == sklearn_ap(labels, scores)


def test_pooled_auprc_equals_sklearn_on_concatenation():
    rng = np.random.default_rng(1)
    scores = [rng.integers(0, 4, int(rng.integers(0, 8))) / 3 for _ in range(10)]
    labels = [rng.integers(0, 2, s.size) for s in scores]
    expected = sklearn_ap(np.concatenate(labels), np.concatenate(scores))
    assert pair_auprc_scores(scores, labels)["auprc"] == expected


def test_all_negative_and_empty_inputs():
    assert average_precision([0, 0, 0], [0.3, 0.2, 0.9]) == 0.0 == sklearn_ap([0, 0, 0], [0.3, 0.2, 0.9])
    assert average_precision([], []) == 0.0
    results = pair_auprc_scores([[0.3, 0.2], []], [[0, 0], []], threshold=0.25)
    assert results == {
        "auprc": 0.0,
        "best_f1": 0.0,
        "best_threshold": float("inf"),
        "precision_at_threshold": 0.0,
        "recall_at_threshold": 0.0,
        "f1_at_threshold": 0.0,
    }
    assert pair_auprc_scores([], [])["auprc"] == 0.0


def test_best_f1_and_fixed_threshold():
    # Pooled scores .2 .9 .1 .7 .6 .5 with labels 1 0 0 0 1 1 (3 gold).
    # Thresholds .9:F1 0; .7:0; .6: 2/5; .5: 4/7; .2: 6/8; .1: 6/9 → best .75 at 0.2.
    results = pair_auprc_scores([[0.2, 0.9, 0.1], [0.7, 0.6, 0.5]], [[1, 0, 0], [0, 1, 1]], threshold=0.5)
    assert results["best_f1"] == 0.75 and results["best_threshold"] == 0.2
    assert (results["precision_at_threshold"], results["recall_at_threshold"]) == (0.5, 2 / 3)
    assert results["f1_at_threshold"] == pytest.approx(4 / 7)
    strict = pair_auprc_scores(
        [[0.2, 0.9, 0.1], [0.7, 0.6, 0.5]], [[1, 0, 0], [0, 1, 1]], threshold=0.5, inclusive=False
    )
    assert strict["precision_at_threshold"] == pytest.approx(1 / 3)  # .9 .7 .6 → one gold pair


def test_best_threshold_ties_take_highest_threshold():
    # Scores .9 .8 .7 .6, labels 1 0 0 1 (2 gold): F1 = 2/3, 1/2, 2/5, 2/3 → tie between .9 and .6 → .9.
    tied = pair_auprc_scores([[0.9, 0.8, 0.7, 0.6]], [[1, 0, 0, 1]])
    assert tied["best_f1"] == pytest.approx(2 / 3) and tied["best_threshold"] == 0.9
    # Scores .9 .5 .4 .3, labels 1 0 1 1: F1 = 2/4, 2/5, 4/6, 6/7 → best at the lowest threshold.
    lowest = pair_auprc_scores([[0.9, 0.5, 0.4, 0.3]], [[1, 0, 1, 1]])
    assert lowest["best_f1"] == pytest.approx(6 / 7) and lowest["best_threshold"] == 0.3
    # Tied scores are one threshold: both .8 candidates switch on together (F1 0 at .9, 2·2/(3+2) = 0.8 at .8).
    ties_in_scores = pair_auprc_scores([[0.9, 0.8, 0.8]], [[0, 1, 1]])
    assert ties_in_scores["best_f1"] == pytest.approx(0.8) and ties_in_scores["best_threshold"] == 0.8


def test_unreachable_gold_pairs():
    labels, scores = [1, 0, 1, 0, 0, 1], [0.9, 0.8, 0.8, 0.3, 0.2, 0.1]
    base = average_precision(labels, scores)
    assert average_precision(labels, scores, num_unreachable=1) == pytest.approx(base * 3 / 4)
    total = pair_auprc_scores([scores[:3], scores[3:]], [labels[:3], labels[3:]], num_unreachable=2, threshold=0.0)
    per_example = pair_auprc_scores(
        [scores[:3], scores[3:]], [labels[:3], labels[3:]], num_unreachable=[1, 1], threshold=0.0
    )
    assert total == per_example
    assert total["auprc"] == pytest.approx(base * 3 / 5)
    assert total["recall_at_threshold"] == 3 / 5
    # Only unreachable gold: nothing can be retrieved.
    assert pair_auprc_scores([[0.5]], [[0]], num_unreachable=1)["auprc"] == 0.0
    per_dialogue = pair_auprc_scores([[0.5], [0.4]], [[1], [0]], num_unreachable=[0, 2], average="per_example")
    assert per_dialogue["auprc"] == 0.5  # dialogue 1 AP 1, dialogue 2 (only unreachable gold) AP 0
    with pytest.raises(ValueError, match="per example"):
        pair_auprc_scores([[0.5]], [[1]], num_unreachable=1, average="per_example")


@pytest.mark.parametrize(
    ("predictions", "references", "kwargs", "message"),
    [
        ([[0.1, 0.2]], [[1]], {}, r"predictions\[0\]: has 2 scores but references\[0\] has 1"),
        ([[0.1], [0.2]], [[1], [2]], {}, r"references\[1\]: label 2 at position 0 is not 0 or 1"),
        ([[0.1, float("nan")]], [[1, 0]], {}, r"predictions\[0\]: score nan at position 1 is not finite"),
        ([[0.1]], [[1], [0]], {}, "different numbers of examples"),
        ([[0.1]], [[1]], {"num_unreachable": -1}, "num_unreachable must be a non-negative integer"),
        ([[0.1]], [[1]], {"num_unreachable": [1, 2]}, "num_unreachable: has 2 entries for 1 examples"),
        ([[0.1]], [[1]], {"average": "macro"}, "average must be"),
        ([[0.1]], [[1]], {"threshold": "0.5"}, "threshold must be a number"),
        ([["a"]], [[1]], {}, r"predictions\[0\]: scores must be real numbers"),
    ],
)
def test_auprc_input_errors(predictions, references, kwargs, message):
    with pytest.raises(ValueError, match=message):
        pair_auprc_scores(predictions, references, **kwargs)


# --------------------------------------------------------------------------------------------- cause entailment


def sklearn_report(references, predictions) -> tuple[float, float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = sklearn_metrics.classification_report(references, predictions, output_dict=True, zero_division=0)
        macro = sklearn_metrics.f1_score(references, predictions, average="macro", zero_division=0)
    assert report["macro avg"]["f1-score"] == macro
    return report.get("1", {}).get("f1-score", 0.0), report.get("0", {}).get("f1-score", 0.0), macro


def test_cause_entailment_equals_sklearn():
    rng = np.random.default_rng(2)
    for trial in range(60):
        n = int(rng.integers(1, 40))
        references, predictions = rng.integers(0, 2, n), rng.integers(0, 2, n)
        if trial % 5 == 0:
            references = np.ones(n, dtype=int)  # only one class in the references
        if trial % 7 == 0:
            predictions = np.zeros(n, dtype=int)  # all-negative predictions
        results = cause_entailment_scores(predictions.tolist(), references.tolist())
        assert (results["pos_f1"], results["neg_f1"], results["macro_f1"]) == sklearn_report(references, predictions)


def test_cause_entailment_edge_cases():
    assert cause_entailment_scores([], []) == {"pos_f1": 0.0, "neg_f1": 0.0, "macro_f1": 0.0}
    only_positive = cause_entailment_scores([1, 1], [1, 1])
    assert only_positive == {"pos_f1": 1.0, "neg_f1": 0.0, "macro_f1": 1.0}  # class 0 absent → not averaged
    assert cause_entailment_scores([True, False], [1, 0])["macro_f1"] == 1.0


def test_emotion_accuracy():
    results = cause_entailment_scores(
        [1, 0], [1, 0], emotion_predictions=["joy", "anger", "joy"], emotion_references=["joy", "joy", "joy"]
    )
    assert results["emotion_accuracy"] == 2 / 3
    assert emotion_accuracy([0, 3, 3], [0, 3, 1]) == 2 / 3
    assert emotion_accuracy([], []) == 0.0
    with pytest.raises(ValueError, match=r"emotion_predictions\[1\]: unknown category 'joyful'"):
        emotion_accuracy(["joy", "joyful"], ["joy", "joy"], labels=ECF_CATEGORIES)
    with pytest.raises(ValueError, match="different numbers of examples"):
        emotion_accuracy(["joy"], ["joy", "joy"])
    with pytest.raises(ValueError, match="both emotion_predictions and emotion_references"):
        cause_entailment_scores([1], [1], emotion_predictions=["joy"])
    with pytest.raises(ValueError, match=r"emotion_references\[0\]: emotion label must be"):
        emotion_accuracy(["joy"], [None])


def test_cause_entailment_input_errors():
    with pytest.raises(ValueError, match=r"predictions: label 2 at position 1 is not 0 or 1"):
        cause_entailment_scores([0, 2], [0, 1])
    with pytest.raises(ValueError, match="different numbers of examples"):
        cause_entailment_scores([0, 1], [0])


# --------------------------------------------------------------------------------------------- shared checks


def test_validation_helpers():
    assert isinstance(MetricInputError("x"), ValueError)
    assert check_index("3", what="x", example=0) == 3
    assert check_index(np.int64(2), what="x", example=0, num_units=3) == 2
    with pytest.raises(ValueError, match=r"x\[4\]: index 3 is out of range for an example with 3 units"):
        check_index(3, what="x", example=4, num_units=3)
    assert check_num_units(4, 2) == [4, 4]
    assert check_num_units(None, 2) is None
    with pytest.raises(ValueError, match=r"num_units\[1\]: must be >= 0"):
        check_num_units([1, -1], 2)
    assert check_pairs([[1, 0, " joy "]], what="x", example=0) == [(1, 0, "joy")]
    assert check_span([2, 5], what="x", example=0, length=5) == (2, 5)
    with pytest.raises(ValueError, match=r"x\[1\]: span \[4, 2\) needs 0 <= start <= end"):
        check_span([4, 2], what="x", example=1)
    with pytest.raises(ValueError, match="runs past the end"):
        check_span([0, 6], what="x", example=1, length=5)
    assert pairs_as_strings([[[1, 2.0, "joy"]], []]) == [[["1", "2", "joy"]], []]
    assert pairs_as_strings(None) is None


def test_ecpe_scores_accepts_a_set_of_pairs_per_example():
    as_lists = ecpe_scores([[[2, 1], [3, 3]]], [[[2, 1]]])
    assert ecpe_scores([{(2, 1), (3, 3)}], [{(2, 1)}]) == as_lists
    assert ecpe_scores([frozenset({(2, 1), (3, 3)})], [((2, 1),)]) == as_lists


@pytest.mark.parametrize(
    ("predictions", "message"),
    [
        ({"doc1": [[2, 1]]}, r"predictions: got a dict; pass one entry per example in a list"),
        ({((2, 1),)}, r"predictions: got a set, which has no order"),
        ([{"emotion": 2, "cause": 1}], r"predictions\[0\]: expected a list \(or set\) of pairs, got dict"),
        ([[{2, 1}]], r"predictions\[0\]: pair 0 is the set \{1, 2\}, which has no order"),
        (
            [[{"emotion_idx": 2, "cause": 1}]],
            r"predictions\[0\]: pair 0 is a dict with keys \['cause', 'emotion_idx'\]",
        ),
    ],
)
def test_ecpe_scores_on_dicts_and_sets_says_what_to_pass(predictions, message):
    with pytest.raises(MetricInputError, match=message):
        ecpe_scores(predictions, [[[2, 1]]])


def test_consistency_scores_on_a_dict_of_examples_is_a_clear_error():
    with pytest.raises(MetricInputError, match="emotion_predictions: got a dict"):
        consistency_scores([[[0, 0]]], {0: [0]}, [[0]])


@pytest.mark.parametrize("epsilon", [-1, -1e-9, float("nan"), float("inf"), "1e-8", True])
def test_negative_or_non_finite_epsilon_is_refused(epsilon):
    perfect = ([[[2, 1]]], [[[2, 1]]])
    with pytest.raises(MetricInputError, match=r"epsilon must be a finite number >= 0"):
        ecpe_scores(*perfect, epsilon=epsilon)
    with pytest.raises(MetricInputError, match=r"epsilon must be a finite number >= 0"):
        consistency_scores([[[2, 1]]], [[2]], [[1]], epsilon=epsilon)
    with pytest.raises(MetricInputError, match=r"epsilon must be a finite number >= 0"):
        prf(1, 1, 1, epsilon)


def test_zero_epsilon_still_gives_exact_ratios():
    assert ecpe_scores([[[2, 1]]], [[[2, 1]]], epsilon=0)["pair_f1"] == 1.0


def test_ecpe_scores_take_pipeline_output_and_canonical_rows_directly():
    """One call from pipeline output to scores: result dicts (or their pair dicts) against canonical rows."""
    results = [
        {"units": ["a", "b"], "pairs": [{"emotion_index": 1, "cause_index": 0, "score": 0.9}]},
        {"units": ["c"], "pairs": []},
    ]
    rows = [
        {"units": ["a", "b"], "pairs": [{"emotion": 1, "cause": 0, "category": ""}]},
        {"units": ["c"], "pairs": [{"emotion": 0, "cause": 0, "category": ""}]},
    ]
    expected = ecpe_scores([[(1, 0)], []], [[(1, 0)], [(0, 0)]])
    assert ecpe_scores(results, rows) == expected
    assert ecpe_scores([r["pairs"] for r in results], [r["pairs"] for r in rows]) == expected


# ---- pair scores by the cause's relative position ----


def test_offset_buckets_clip_at_max_offset():
    from hf_ecpe.evaluation import offset_bucket

    assert [offset_bucket(5, c) for c in (0, 2, 3, 4, 5, 6, 7, 8, 9)] == [
        "<=-3", "<=-3", "-2", "-1", "0", "+1", "+2", ">=+3", ">=+3"
    ]  # fmt: skip
    assert offset_bucket(0, 1, max_offset=1) == ">=+1"


def test_scores_by_offset_count_each_pair_in_its_own_bucket_and_add_up_to_the_corpus_scores():
    from hf_ecpe.evaluation import ecpe_scores, pair_scores_by_offset

    gold = [[(1, 1), (1, 0), (2, 3)], [(0, 0), (4, 0)]]
    pred = [[(1, 1), (2, 2), (2, 3)], [(0, 0), (0, 4)]]
    by_offset = pair_scores_by_offset(pred, gold, num_units=5, epsilon=0)
    assert list(by_offset) == ["<=-3", "-2", "-1", "0", "+1", "+2", ">=+3"]
    assert by_offset["0"] == {"gold": 2, "predicted": 3, "correct": 2, "precision": 2 / 3, "recall": 1.0, "f1": 0.8}
    assert by_offset["-1"]["gold"] == 1 and by_offset["-1"]["correct"] == 0 and by_offset["-1"]["recall"] == 0.0
    assert by_offset["+1"]["correct"] == 1 and by_offset["+1"]["recall"] == 1.0
    # (4, 0) is gold at offset -4, (0, 4) a wrong prediction at +4: each in its own bucket
    assert (by_offset["<=-3"]["gold"], by_offset["<=-3"]["predicted"]) == (1, 0)
    assert (by_offset[">=+3"]["gold"], by_offset[">=+3"]["predicted"]) == (0, 1)
    total = ecpe_scores(pred, gold, num_units=5, epsilon=0)
    assert sum(b["correct"] for b in by_offset.values()) == 3
    assert sum(b["gold"] for b in by_offset.values()) / 3 == pytest.approx(1 / total["pair_recall"])
    assert sum(b["predicted"] for b in by_offset.values()) / 3 == pytest.approx(1 / total["pair_precision"])


def test_scores_by_offset_take_pipeline_outputs_and_canonical_rows():
    from hf_ecpe.evaluation import pair_scores_by_offset

    output = [{"pairs": [{"emotion_index": 0, "cause_index": 1}]}]
    rows = [{"units": ["I was happy", "because I passed"], "pairs": [{"emotion": 0, "cause": 1}]}]
    assert pair_scores_by_offset(output, rows)["+1"]["correct"] == 1


def test_scores_by_offset_reject_bad_input_naming_it():
    from hf_ecpe.evaluation import MetricInputError, pair_scores_by_offset

    with pytest.raises(MetricInputError, match="max_offset"):
        pair_scores_by_offset([[]], [[]], max_offset=0)
    with pytest.raises(MetricInputError, match="references"):
        pair_scores_by_offset([[(0, 0)]], [[(0, 9)]], num_units=3)


# ----- pipeline results against canonical rows: the same documents (issue #27 item 11) ---------------------------


def _row(doc_id, units, pairs):
    return {"id": doc_id, "units": units, "pairs": [{"emotion": e, "cause": c} for e, c in pairs]}


def _result(units, pairs, doc_id=None):
    result = {"units": units, "pairs": [{"emotion_index": e, "cause_index": c} for e, c in pairs]}
    return result if doc_id is None else {**result, "id": doc_id}


_ROWS = [
    _row("d1", ["i was happy", "i passed"], [(0, 1)]),
    _row("d2", ["she cried", "her dog died", "we left"], [(0, 1)]),
    _row("d3", ["snow in july", "we were surprised"], [(1, 0)]),
]


def test_reordered_pipeline_results_are_refused_naming_the_first_mismatch():
    results = [_result(row["units"], [(p["emotion"], p["cause"]) for p in row["pairs"]], row["id"]) for row in _ROWS]
    assert ecpe_scores(results, _ROWS)["pair_f1"] == pytest.approx(1.0)
    # was scored silently (pair F1 0.33 here)
    with pytest.raises(
        MetricInputError, match=r"predictions\[0\]: is document id 'd3' but references\[0\] is id 'd1'"
    ):
        ecpe_scores(results[::-1], _ROWS)
    without_ids = [{key: value for key, value in result.items() if key != "id"} for result in results]
    with pytest.raises(
        MetricInputError,
        match=r"predictions\[0\]: has other units than references\[0\] \(id 'd1'\): unit 0 is 'snow in july' vs "
        r"'i was happy' \(2 vs 2 units\)",
    ):
        ecpe_scores(without_ids[::-1], _ROWS)
    with pytest.raises(MetricInputError, match=r"predictions\[1\]: has other units .* unit 2 is missing vs 'we left'"):
        ecpe_scores([without_ids[0], _result(["she cried", "her dog died"], []), without_ids[2]], _ROWS)
    with pytest.raises(MetricInputError, match=r"predictions\[2\]: is document id 'd9'"):
        pair_scores_by_offset([*results[:2], {**results[2], "id": "d9"}], _ROWS)


def test_plain_pair_lists_and_dicts_without_ids_or_units_are_not_compared():
    plain = [[(p["emotion"], p["cause"]) for p in row["pairs"]] for row in _ROWS]
    assert ecpe_scores(plain[::-1], _ROWS)["pair_f1"] < 1.0  # nothing to compare with: scored as given
    assert ecpe_scores([{"pairs": row["pairs"]} for row in _ROWS], _ROWS)["pair_f1"] == pytest.approx(1.0)
