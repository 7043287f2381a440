"""Span metrics: SemEval-2024 subtask 1 (``semeval_span_scores``), RECCON span extraction (``reccon_span_scores``) and
emotion–cause–category triplets (``triplet_scores``).

Expected numbers are the worked vectors of docs/reference-methods-and-metrics.md (sections 3.2, 6.1, 8), produced by
the reference scorers themselves, or hand counts written next to each assertion.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hf_ecpe.evaluation import (
    RECCON_IMPOSSIBLE_ANSWER,
    SEMEVAL_CATEGORIES,
    MetricInputError,
    lcs_f1,
    locate_gold_cause_span,
    reccon_span_scores,
    semeval_span_scores,
    squad_f1,
    triplet_scores,
    triplets_from_pairs,
)
from hf_ecpe.evaluation.reccon import longest_common_substring, squad_normalize
from hf_ecpe.evaluation.spans import clean_span, locate_token_span
from hf_ecpe.evaluation.triplets import span_tokens


def span_pair(emotion: int, cause: int, start: int, end: int, category: str) -> dict:
    return {"emotion": emotion, "category": category, "cause": cause, "start": start, "end": end}


def prf_of(results: dict, name: str) -> tuple[float, float, float]:
    return results[f"{name}_precision"], results[f"{name}_recall"], results[f"{name}_f1"]


# ============================================================================ SemEval-2024 subtask 1

# Section 6.1: U1 "I lost my job today .", U2 "Oh no , that is terrible !", U3 "But I got a new puppy ." (0-based).
GOLD_61 = [[span_pair(1, 0, 0, 5, "sadness"), span_pair(2, 2, 1, 6, "joy"), span_pair(0, 0, 0, 4, "sadness")]]
PRED_61 = [[span_pair(1, 0, 0, 5, "sadness"), span_pair(2, 2, 0, 6, "joy"), span_pair(0, 0, 0, 4, "anger")]]


def test_semeval_worked_example():
    results = semeval_span_scores(PRED_61, GOLD_61)
    assert prf_of(results, "weighted_strict") == pytest.approx((0.6667, 0.3333, 0.4444), abs=1e-4)
    assert prf_of(results, "weighted_proportional") == pytest.approx((0.9444, 0.7037, 0.7792), abs=1e-4)
    assert prf_of(results, "strict") == pytest.approx((0.3333, 0.3333, 0.3333), abs=1e-4)
    assert prf_of(results, "proportional") == pytest.approx((0.6667, 0.7143, 0.6897), abs=1e-4)
    # The scorer's 1e-8 epsilons are reproduced to the last digits ("0.4444444385").
    assert results["weighted_strict_f1"] == pytest.approx(0.4444444385, abs=1e-10)
    assert list(results) == [
        f"{kind}{name}_{metric}"
        for kind in ("weighted_", "")
        for name in ("strict", "proportional")
        for metric in ("precision", "recall", "f1")
    ]


def test_semeval_exact_ratios_with_zero_epsilon():
    results = semeval_span_scores(PRED_61, GOLD_61, epsilon=0.0)
    # strict: 1 correct of 3 predicted and 3 gold; sadness P=1/1 R=1/2, joy 0, anger 0; weights 2/3, 1/3.
    assert prf_of(results, "strict") == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert results["weighted_strict_precision"] == pytest.approx(2 / 3)
    # proportional micro: correct 5 (sadness) + 5 (joy [0,6) ∩ [1,6)) = 10; predicted 5 + 6 + 4 (the anger span
    # counts as an anger prediction) = 15; gold 5 + 5 (matched) + 4 (unmatched sadness) = 14.
    assert prf_of(results, "proportional")[:2] == pytest.approx((10 / 15, 10 / 14))


def test_semeval_perfect_and_empty():
    perfect = semeval_span_scores(GOLD_61, GOLD_61, epsilon=0.0)
    assert all(value == 1.0 for value in perfect.values())
    assert 1 - 1e-7 < semeval_span_scores(GOLD_61, GOLD_61)["weighted_strict_f1"] < 1.0  # the epsilons
    nothing = semeval_span_scores([[]], GOLD_61)
    assert all(value == 0.0 for value in nothing.values())
    # No gold at all: weighted scores are defined as 0.0 (the scorer gives nan), micro is 0.0.
    assert all(value == 0.0 for value in semeval_span_scores(PRED_61, [[]]).values())
    assert all(value == 0.0 for value in semeval_span_scores([], []).values())


def test_semeval_deduplicates_both_sides():
    doubled_pred = [PRED_61[0] + PRED_61[0]]
    doubled_gold = [GOLD_61[0] + [dict(GOLD_61[0][0])]]
    assert semeval_span_scores(doubled_pred, doubled_gold) == semeval_span_scores(PRED_61, GOLD_61)


def test_semeval_neutral_is_never_scored():
    with_neutral = [PRED_61[0] + [span_pair(1, 1, 0, 3, "neutral")]]
    gold_neutral = [GOLD_61[0] + [span_pair(2, 1, 0, 3, "neutral")]]
    assert semeval_span_scores(with_neutral, gold_neutral) == semeval_span_scores(PRED_61, GOLD_61)


def test_semeval_false_positive_in_category_without_gold_keeps_weighted_precision():
    gold = [[span_pair(1, 0, 0, 5, "sadness")]]
    extra = [[span_pair(1, 0, 0, 5, "sadness"), span_pair(2, 0, 0, 2, "fear")]]
    results = semeval_span_scores(extra, gold, epsilon=0.0)
    assert results["weighted_strict_precision"] == 1.0  # fear has weight 0
    assert results["strict_precision"] == 0.5  # micro precision pays for it


def test_semeval_proportional_tie_prefers_larger_overlap():
    # pred [2,5) vs gold B [4,6) (overlap 1, ratio 0.5), listed first, and gold A [0,4) (overlap 2, ratio 0.5): A wins.
    gold = [[span_pair(1, 0, 4, 6, "joy"), span_pair(1, 0, 0, 4, "joy")]]
    pred = [[span_pair(1, 0, 2, 5, "joy")]]
    results = semeval_span_scores(pred, gold, epsilon=0.0)
    # correct 2; predicted 3; gold = 4 (A, matched) + 2 (B, unmatched) = 6. Choosing B would give correct 1.
    assert prf_of(results, "proportional")[:2] == pytest.approx((2 / 3, 2 / 6))


def test_semeval_proportional_highest_ratio_wins_over_larger_overlap():
    # pred [0,6) vs gold A [0,2) (overlap 2, ratio 1.0) and gold B [2,8) (overlap 4, ratio 4/6): A wins.
    gold = [[span_pair(1, 0, 0, 2, "joy"), span_pair(1, 0, 2, 8, "joy")]]
    results = semeval_span_scores([[span_pair(1, 0, 0, 6, "joy")]], gold, epsilon=0.0)
    assert prf_of(results, "proportional")[:2] == pytest.approx((2 / 6, 2 / (2 + 6)))


def test_semeval_gold_length_counted_once_per_matching_prediction():
    # Two half predictions of one 4-token gold span: correct 2+2, predicted 2+2, recall denominator 4+4.
    gold = [[span_pair(1, 0, 0, 4, "joy")]]
    pred = [[span_pair(1, 0, 0, 2, "joy"), span_pair(1, 0, 2, 4, "joy")]]
    results = semeval_span_scores(pred, gold, epsilon=0.0)
    assert prf_of(results, "proportional")[:2] == pytest.approx((1.0, 0.5))


def test_semeval_proportional_needs_same_category_and_units():
    gold = [[span_pair(1, 0, 0, 4, "joy")]]
    for pred in (span_pair(1, 0, 0, 4, "anger"), span_pair(2, 0, 0, 4, "joy"), span_pair(1, 1, 0, 4, "joy")):
        assert semeval_span_scores([[pred]], gold)["proportional_f1"] == 0.0


def test_semeval_empty_gold_span_counts_in_recall_but_never_matches():
    gold = [[span_pair(1, 0, 0, 0, "joy"), span_pair(2, 0, 0, 3, "joy")]]
    results = semeval_span_scores([[span_pair(2, 0, 0, 3, "joy")]], gold, epsilon=0.0)
    assert results["strict_recall"] == 0.5
    assert results["proportional_recall"] == 1.0  # the empty span adds 0 tokens
    # A predicted empty span equal to it is a strict hit, as in the scorer.
    assert semeval_span_scores([[span_pair(1, 0, 0, 0, "joy")]], gold, epsilon=0.0)["strict_precision"] == 1.0


def test_semeval_custom_categories():
    gold = [[span_pair(1, 0, 0, 4, "happiness")]]
    results = semeval_span_scores(gold, gold, categories=["happiness", "sadness"], epsilon=0.0)
    assert results["weighted_strict_f1"] == 1.0
    with pytest.raises(MetricInputError, match=r"predictions\[0\].*unknown category 'happiness'"):
        semeval_span_scores(gold, gold)
    assert SEMEVAL_CATEGORIES == ("anger", "disgust", "fear", "joy", "sadness", "surprise")


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([[span_pair(1, 0, 0, 4, "joy")], [{"emotion": 1, "cause": 0, "start": 0, "category": "joy"}]], r"\[1\].*end"),
        ([[], [span_pair(-1, 0, 0, 4, "joy")]], r"predictions\[1\].*negative"),
        ([[], [span_pair(1, 0, 5, 4, "joy")]], r"predictions\[1\].*start <= end"),
        ([[], [span_pair(1, 0, 0, 4, "Joy")]], r"predictions\[1\].*unknown category"),
        ([[], [[1, 0, 0, 4, "joy"]]], r"predictions\[1\].*expected a dict"),
        ([[], None], r"predictions\[1\].*None"),
        ([[], [span_pair(1, "x", 0, 4, "joy")]], r"predictions\[1\].*integer"),
    ],
)
def test_semeval_bad_input_names_the_example(pairs, message):
    with pytest.raises(MetricInputError, match=message):
        semeval_span_scores(pairs, [[], []])


def test_semeval_length_mismatch():
    with pytest.raises(ValueError, match="different numbers of examples"):
        semeval_span_scores([[]], [[], []])


def test_semeval_accepts_numpy_ints_and_ignores_extra_keys():
    np = pytest.importorskip("numpy")
    pred = [[{**span_pair(np.int64(1), np.int32(0), np.int64(0), np.int64(5), "sadness"), "text": "I lost my job"}]]
    assert semeval_span_scores(pred, [[span_pair(1, 0, 0, 5, "sadness")]], epsilon=0.0)["strict_f1"] == 1.0


span_pairs = st.lists(
    st.builds(
        span_pair,
        st.integers(0, 2),
        st.integers(0, 2),
        st.integers(0, 4),
        st.integers(5, 8),
        st.sampled_from(["neutral", "joy", "sadness", "anger"]),
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(span_pairs, span_pairs), min_size=1, max_size=3), st.randoms(use_true_random=False))
def test_semeval_order_and_duplicates_do_not_matter(conversations, rng):
    preds = [p for p, _ in conversations]
    golds = [g for _, g in conversations]
    base = semeval_span_scores(preds, golds)
    shuffled = [rng.sample(p + p[:1], len(p) + len(p[:1])) for p in preds]
    assert semeval_span_scores(shuffled, golds) == pytest.approx(base, abs=1e-12)
    for value in base.values():
        assert 0.0 <= value <= 1.0


def test_locate_gold_cause_span_like_the_official_scorer():
    utterance = "Oh my God , I lost my job today !"
    assert locate_gold_cause_span(utterance, "I lost my job today !") == (4, 9)
    assert locate_gold_cause_span(utterance, "  ...I lost my job") == (4, 8)
    assert locate_gold_cause_span(utterance, "my") == (1, 2)  # first occurrence
    assert locate_gold_cause_span(utterance, "I lost my car") == (0, 0)  # the scorer's "not found"
    with pytest.raises(ValueError, match="is not a run of whitespace tokens"):
        locate_gold_cause_span(utterance, "I lost my car", not_found="raise")
    # Re-exported helpers of hf_ecpe.data.spans.
    assert clean_span("... there !") == "there"
    assert locate_token_span(utterance, "job today") == (7, 9)


# ============================================================================ RECCON span extraction

# Section 3.2, in this order (the order matters for the reference-compatible mode).
RECCON_GOLD = [
    "i lost my makeup bag at the airport",
    "i lost my makeup bag at the airport",
    "we won the lottery",
    "we won the lottery",
    "",
    "",
]
RECCON_PRED = ["i lost my makeup bag at the airport", "my makeup bag", "", "the weather was nice", "", "some text"]


@pytest.mark.parametrize(("compat", "f1_neg"), [(True, 0.40), (False, 0.50)])
def test_reccon_worked_example(compat, f1_neg):
    results = reccon_span_scores(RECCON_PRED, RECCON_GOLD, reccon_compat=compat)
    assert results["exact_match_pos"] == pytest.approx(0.25)
    assert results["f1_pos"] == pytest.approx(0.40)  # (1 + 0.6 + 0 + 0) / 4
    assert results["lcs_f1_pos"] == pytest.approx(0.3864, abs=1e-4)  # (1 + 6/11) / 4
    assert results["f1_all"] == pytest.approx(0.4333, abs=1e-4)  # (1 + 0.6 + 0 + 0 + 1 + 0) / 6
    assert results["lcs_f1_all"] == pytest.approx(0.4242, abs=1e-4)
    assert results["f1_neg"] == pytest.approx(f1_neg)


def test_reccon_compat_depends_on_question_order():
    # Swap the partial and the empty answer: the last partial cause answer is now non-empty, so no miscount.
    order = [0, 2, 1, 3, 4, 5]
    preds, golds = [RECCON_PRED[i] for i in order], [RECCON_GOLD[i] for i in order]
    assert reccon_span_scores(preds, golds, reccon_compat=True)["f1_neg"] == pytest.approx(0.5)
    assert reccon_span_scores(preds, golds) == reccon_span_scores(RECCON_PRED, RECCON_GOLD)


def test_reccon_compat_miscount_scales_with_wrong_answers():
    # Last partial/empty cause answer is empty -> each of the 3 wrong cause answers is one more false "empty".
    golds = ["a b c", "d e f", "g h", "i j", "", ""]
    preds = ["", "x y", "zz", "ww", "", ""]
    compat = reccon_span_scores(preds, golds, reccon_compat=True)
    # TP 2, FN 0, FP 1 + 3 -> P 2/6, R 1 -> F 0.5; corrected: P 2/3, R 1 -> 0.8.
    assert compat["f1_neg"] == pytest.approx(0.5)
    assert reccon_span_scores(preds, golds)["f1_neg"] == pytest.approx(0.8)


def test_reccon_compat_raises_where_the_script_raises_nameerror():
    golds, preds = ["a b", "c d", ""], ["a b", "x", ""]  # one exact, one wrong, no partial cause answer
    with pytest.raises(MetricInputError, match="NameError"):
        reccon_span_scores(preds, golds, reccon_compat=True)
    assert reccon_span_scores(preds, golds)["f1_neg"] == pytest.approx(1.0)


def test_reccon_compat_sentinel_substring_counts_as_no_cause():
    golds, preds = ["a b", ""], ["a", "answer"]  # "answer" is inside "Impossible ≠æ≠æ≠ answer"
    assert reccon_span_scores(preds, golds, reccon_compat=True)["f1_neg"] == pytest.approx(1.0)
    assert reccon_span_scores(preds, golds)["f1_neg"] == 0.0  # TP 0
    with pytest.raises(MetricInputError, match=r"predictions\[1\].*sentinel"):
        reccon_span_scores(["a", RECCON_IMPOSSIBLE_ANSWER], golds, reccon_compat=True)


def test_reccon_whitespace_prediction():
    golds = ["we won the lottery", ""]
    # Default: "   " is "no cause" (FP of the no-cause class); compat: the script would divide by zero.
    assert reccon_span_scores(["   ", ""], golds)["f1_neg"] == pytest.approx(2 / 3)
    with pytest.raises(MetricInputError, match=r"predictions\[0\].*whitespace"):
        reccon_span_scores(["   ", ""], golds, reccon_compat=True)


def test_reccon_wrong_answers_get_no_token_credit():
    # "we lost the lottery" shares 2 SQuAD tokens with the gold but is not contained in it: bucket "wrong", 0.
    assert squad_f1("we won the lottery", "we lost the lottery") == pytest.approx(2 / 3)
    assert reccon_span_scores(["we lost the lottery"], ["we won the lottery"])["f1_pos"] == 0.0
    # A superset answer is "partial": SQuAD F1 3/5 tokens -> P 0.6, R 1 -> 0.75.
    results = reccon_span_scores(["so we won the lottery today"], ["we won the lottery"])
    assert results["f1_pos"] == pytest.approx(0.75)
    assert results["lcs_f1_pos"] == pytest.approx(2 * (4 / 6) / (4 / 6 + 1))


def test_reccon_zero_denominators_are_zero():
    assert reccon_span_scores(["a"], ["a"])["f1_neg"] == 0.0  # no no-cause question
    only_negatives = reccon_span_scores(["", "x"], ["", ""])
    assert only_negatives["exact_match_pos"] == 0.0 and only_negatives["f1_pos"] == 0.0
    assert only_negatives["f1_neg"] == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert all(value == 0.0 for value in reccon_span_scores([], []).values())


def test_reccon_bad_input():
    with pytest.raises(MetricInputError, match=r"predictions\[1\].*span text"):
        reccon_span_scores(["a", None], ["a", ""])
    with pytest.raises(ValueError, match="different numbers"):
        reccon_span_scores(["a"], ["a", ""])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["", "a", "a b", "b c d", "x"]), st.sampled_from(["", "a b", "b c d"]))),
    st.randoms(use_true_random=False),
)
def test_reccon_default_mode_is_order_independent(questions, rng):
    shuffled = rng.sample(questions, len(questions))
    base = reccon_span_scores([p for p, _ in questions], [g for _, g in questions])
    other = reccon_span_scores([p for p, _ in shuffled], [g for _, g in shuffled])
    assert other == pytest.approx(base)


def test_squad_and_lcs_helpers():
    assert squad_normalize("The Lost, bag!") == "lost bag"
    assert squad_f1("The lost bag", "lost bag") == 1.0
    assert squad_f1("", "") == 1.0 and squad_f1("", "x") == 0.0  # SQuAD v2 rule for empty answers
    assert squad_f1("i lost my makeup bag at the airport", "my makeup bag") == pytest.approx(0.6)
    assert longest_common_substring("i lost my makeup bag", "my makeup bag!") == "my makeup bag"
    assert lcs_f1("i lost my makeup bag at the airport", "my makeup bag") == pytest.approx(2 * 0.375 / 1.375)


# ============================================================================ triplets

UNITS = ["I was so happy", "because I passed the exam", "and my sister was sad"]


def triplet(e: int, es: int, ee: int, c: int, cs: int, ce: int, category: str) -> dict:
    return {
        "emotion_unit": e,
        "emotion_start": es,
        "emotion_end": ee,
        "cause_unit": c,
        "cause_start": cs,
        "cause_end": ce,
        "category": category,
    }


HAPPY = triplet(0, 9, 14, 1, 8, 25, "happiness")  # "happy" <- "I passed the exam"


def test_triplet_strict_and_proportional_by_hand():
    partial = triplet(0, 2, 14, 1, 17, 25, "happiness")  # "was so happy" <- "the exam"
    results = triplet_scores([[partial]], [[HAPPY]], [UNITS])
    assert prf_of(results, "strict") == (0.0, 0.0, 0.0)
    # overlap: emotion {happy} 1 + cause {the, exam} 2 = 3; predicted 3 + 2 = 5; gold 1 + 4 = 5.
    assert prf_of(results, "proportional") == pytest.approx((3 / 5, 3 / 5, 3 / 5))
    assert prf_of(triplet_scores([[HAPPY]], [[HAPPY]], [UNITS]), "strict") == (1.0, 1.0, 1.0)


def test_triplet_chinese_counts_characters():
    units = ["我很开心", "因为 考试通过了"]
    gold = triplet(0, 2, 4, 1, 0, 8, "happiness")  # 开心 <- 因为 考试通过了 (7 characters, space excluded)
    pred = triplet(0, 2, 4, 1, 3, 7, "happiness")  # 开心 <- 考试通过
    results = triplet_scores([[pred]], [[gold]], [units], language="zh")
    assert prf_of(results, "proportional")[:2] == pytest.approx((6 / 6, 6 / 9))
    # As English, the unit "因为 考试通过了" has 2 whitespace tokens; the prediction touches one of them.
    results_en = triplet_scores([[pred]], [[gold]], [units], language="en")
    assert prf_of(results_en, "proportional")[:2] == pytest.approx((2 / 2, 2 / 3))
    assert span_tokens("因为 考试", 0, 5, "zh") == frozenset(range(4))


def test_triplet_requires_both_spans_and_category_to_overlap():
    wrong_cause = triplet(0, 9, 14, 1, 0, 7, "happiness")  # "because" does not overlap "I passed the exam"
    wrong_category = dict(HAPPY, category="joy")
    for pred in (wrong_cause, wrong_category):
        assert triplet_scores([[pred]], [[HAPPY]], [UNITS])["proportional_precision"] == 0.0


def test_triplet_set_semantics_and_repeated_matches():
    results = triplet_scores([[HAPPY, dict(HAPPY)]], [[HAPPY, HAPPY]], [UNITS])
    assert prf_of(results, "strict") == (1.0, 1.0, 1.0)
    # Two different partial predictions of one gold triplet: the gold tokens are counted once per match.
    first = triplet(0, 9, 14, 1, 8, 17, "happiness")  # cause "I passed"
    second = triplet(0, 9, 14, 1, 17, 25, "happiness")  # cause "the exam"
    results = triplet_scores([[first, second]], [[HAPPY]], [UNITS])
    # correct (1+2) + (1+2) = 6; predicted 3 + 3 = 6; gold 5 + 5 = 10.
    assert prf_of(results, "proportional")[:2] == pytest.approx((1.0, 0.6))


def test_triplet_highest_ratio_wins():
    units = ["wow", "a b c d e f"]
    gold_a = triplet(0, 0, 3, 1, 0, 7, "surprise")  # cause "a b c d" (4 tokens)
    gold_b = triplet(0, 0, 3, 1, 8, 11, "surprise")  # cause "e f" (2 tokens)
    pred = triplet(0, 0, 3, 1, 4, 9, "surprise")  # cause "c d e": A (1+2)/(1+4) = 0.6, B (1+1)/(1+2) = 0.667 -> B
    results = triplet_scores([[pred]], [[gold_a, gold_b]], [units])
    # correct 2; predicted 1 + 3; gold 3 (B, matched) + 5 (A, unmatched).
    assert prf_of(results, "proportional")[:2] == pytest.approx((2 / 4, 2 / 8))


def test_triplet_tie_prefers_larger_overlap():
    units = ["wow", "a b c d e f g h"]
    gold_x = triplet(0, 0, 3, 1, 0, 5, "surprise")  # cause "a b c"
    gold_y = triplet(0, 0, 3, 1, 4, 13, "surprise")  # cause "c d e f g"
    pred = triplet(0, 0, 3, 1, 4, 7, "surprise")  # cause "c d": X (1+1)/(1+3) = 0.5, Y (1+2)/(1+5) = 0.5 -> Y
    results = triplet_scores([[pred]], [[gold_x, gold_y]], [units])
    # correct 3; predicted 1 + 2; gold 6 (Y) + 4 (X unmatched). Choosing X would give precision 2/3.
    assert prf_of(results, "proportional")[:2] == pytest.approx((1.0, 3 / 10))


def test_triplet_empty_inputs():
    assert all(v == 0.0 for v in triplet_scores([[]], [[HAPPY]], [UNITS]).values())
    assert all(v == 0.0 for v in triplet_scores([[]], [[]], [UNITS]).values())


@pytest.mark.parametrize(
    ("pred", "message"),
    [
        (triplet(3, 0, 2, 1, 0, 7, "joy"), r"predictions\[0\].*emotion_unit 3 is out of range"),
        (triplet(0, 0, 99, 1, 0, 7, "joy"), r"predictions\[0\].*runs past the end"),
        (triplet(0, 3, 3, 1, 0, 7, "joy"), r"predictions\[0\].*empty"),
        (triplet(0, 3, 4, 1, 0, 7, "joy"), None),
        (triplet(0, 1, 2, 1, 0, 7, "joy"), r"predictions\[0\].*covers only whitespace"),
        ({"emotion_unit": 0}, r"predictions\[0\].*lacks"),
        (triplet(0, 0, 2, 1, 0, 7, ""), r"predictions\[0\].*category"),
    ],
)
def test_triplet_bad_input(pred, message):
    if message is None:  # a span inside a word is fine: it touches that token
        triplet_scores([[pred]], [[]], [UNITS])
        return
    with pytest.raises(MetricInputError, match=message):
        triplet_scores([[pred]], [[]], [UNITS])


def test_triplet_language_and_units_errors():
    with pytest.raises(MetricInputError, match="language"):
        triplet_scores([[]], [[]], [UNITS], language="fr")
    with pytest.raises(MetricInputError, match=r"units\[0\]"):
        triplet_scores([[]], [[]], [None])
    with pytest.raises(ValueError, match="different numbers"):
        triplet_scores([[]], [[]], [UNITS, UNITS])


def test_triplets_from_pairs():
    pairs = [
        {"emotion": 0, "cause": 1, "emotion_span": [9, 14], "cause_span": [8, 25], "category": "happiness"},
    ]
    assert triplets_from_pairs(pairs) == [HAPPY]
    with pytest.raises(ValueError, match="needs both"):
        triplets_from_pairs([dict(pairs[0], emotion_span=[-1, -1])])


def test_triplet_random_predictions_stay_in_range():
    rng = random.Random(0)
    golds = [[HAPPY, triplet(2, 18, 21, 1, 0, 7, "sadness")]]
    for _ in range(50):
        preds = [
            [
                triplet(0, rng.randint(0, 9), 14, 1, rng.randint(0, 20), 25, rng.choice(["happiness", "sadness"]))
                for _ in range(rng.randint(0, 3))
            ]
        ]
        for value in triplet_scores(preds, golds, [UNITS]).values():
            assert 0.0 <= value <= 1.0
