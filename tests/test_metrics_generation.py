"""Generation metrics: BLEU (sacrebleu / NLTK as Gao et al. 2021), Dist-n, BERTScore with a local model, emotion accuracy.

BLEU and Dist-n expectations are the worked vectors of docs/reference-methods-and-metrics.md (sections 7.2, 7.4, 8),
produced by the reference code; BERTScore is compared with calling ``bert_score.score`` directly on a tiny random
model saved to a temporary folder (nothing is downloaded).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hf_ecpe.evaluation import (
    MetricInputError,
    bert_score_means,
    corpus_bleu,
    distinct_n,
    empathetic_generation_scores,
)

HYPS = ["i am so sorry to hear that .", "that is great ! what happened ?", "oh no"]
REFS = ["i am sorry to hear that . are you ok ?", "that is awesome ! what did you do ?", "oh no , that is terrible"]


def test_bleu_worked_example_both_implementations():
    assert corpus_bleu(HYPS, REFS) == pytest.approx(24.203, abs=5e-4)
    assert corpus_bleu(HYPS, REFS, impl="nltk") == pytest.approx(23.0665, abs=5e-5)
    # sacrebleu: precisions 14/17, 8/14, 3/11, 2/9 and BP exp(1 - 26/17).
    by_hand = math.exp(1 - 26 / 17) * math.exp(
        sum(math.log(m / t) for m, t in [(14, 17), (8, 14), (3, 11), (2, 9)]) / 4
    )
    assert corpus_bleu(HYPS, REFS) == pytest.approx(100 * by_hand)


def test_bleu_short_hypothesis_differs_between_implementations():
    # sacrebleu has zero 3-gram totals -> 0.0; NLTK replaces zero precisions by the smallest float -> tiny > 0.
    assert corpus_bleu(["oh no"], ["oh no , that is terrible"]) == 0.0
    with pytest.warns(UserWarning):
        nltk_score = corpus_bleu(["oh no"], ["oh no , that is terrible"], impl="nltk")
    assert 0.0 < nltk_score < 1e-150


def test_bleu_edge_cases():
    assert corpus_bleu([], []) == 0.0 and corpus_bleu([], [], impl="nltk") == 0.0
    assert corpus_bleu(["i am sorry ."], ["i am sorry ."]) == pytest.approx(100.0)
    assert corpus_bleu(["", "a b c d"], ["x y z w", "a b c d"]) < 100.0  # an empty prediction is allowed
    with pytest.raises(MetricInputError, match="bleu_impl"):
        corpus_bleu(HYPS, REFS, impl="moses")
    with pytest.raises(MetricInputError, match=r"predictions\[1\]"):
        corpus_bleu(["a", None], ["a", "b"])


def test_distinct_worked_example_and_no_ngram_case():
    hyps = ["i am sorry .", "i am happy", "i am sorry ."]
    assert distinct_n(hyps, 1) == pytest.approx(5 / 11)  # 0.454545
    assert distinct_n(hyps, 2) == pytest.approx(4 / 8)  # bigrams never cross responses
    assert distinct_n(["hi", "hi", "ok"], 2) == 0.0  # no bigram at all: defined as 0.0
    assert distinct_n(["hi", "hi", "ok"], 1) == pytest.approx(2 / 3)
    assert distinct_n(["", "  "], 1) == 0.0
    assert distinct_n(["a  b", "a b"], 2) == pytest.approx(1 / 2)  # whitespace tokens
    with pytest.raises(MetricInputError, match="n-gram order"):
        distinct_n(hyps, 0)


def test_generation_scores_and_emotion_accuracy():
    results = empathetic_generation_scores(
        HYPS,
        REFS,
        bleu_impl="nltk",
        emotion_predictions=["sad", "joyful", "sad"],
        emotion_references=["sad", "joyful", "afraid"],
    )
    assert set(results) == {"bleu", "dist_1", "dist_2", "emotion_accuracy"}
    assert results["bleu"] == pytest.approx(23.0665, abs=5e-5)
    assert results["dist_1"] == pytest.approx(16 / 17)  # 17 tokens, "that" twice -> 16 types
    assert results["emotion_accuracy"] == pytest.approx(2 / 3)
    assert set(empathetic_generation_scores(HYPS, REFS)) == {"bleu", "dist_1", "dist_2"}


def test_generation_argument_errors(tmp_path):
    with pytest.raises(MetricInputError, match="both"):
        empathetic_generation_scores(HYPS, REFS, emotion_predictions=["a"] * 3)
    with pytest.raises(MetricInputError, match="entries for 3"):
        empathetic_generation_scores(HYPS, REFS, emotion_predictions=["a"], emotion_references=["a"])
    with pytest.raises(MetricInputError, match="without bertscore_model"):
        empathetic_generation_scores(HYPS, REFS, bertscore_num_layers=2)
    with pytest.raises(MetricInputError, match="bertscore_num_layers: required"):
        empathetic_generation_scores(HYPS, REFS, bertscore_model=str(tmp_path))
    with pytest.raises(MetricInputError, match="not a local directory"):
        bert_score_means(HYPS, REFS, model_path="roberta-large", num_layers=17)
    with pytest.raises(ValueError, match="different numbers"):
        empathetic_generation_scores(HYPS, REFS[:2])


# ------------------------------------------------------------------------------------------------ BERTScore


@pytest.fixture(scope="module")
def bertscore_model(tmp_path_factory) -> Path:
    """The shared tiny random BERT, with the ``model_max_length`` that bert-score truncates to."""
    pytest.importorskip("bert_score")
    from conftest import build_tiny_encoder
    from transformers import AutoTokenizer

    path = build_tiny_encoder(tmp_path_factory.mktemp("bertscore_bert"))
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.model_max_length = 128
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def baseline_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("baseline") / "tiny.tsv"
    path.write_text("LAYER,P,R,F\n0,0.10,0.20,0.30\n1,0.50,0.40,0.45\n")
    return path


BS_HYPS = ["i was so happy", "she felt sad when her dog died", "he is angry that they lost"]
BS_REFS = ["i was happy today", "her dog died", "they lost the game"]


def test_bertscore_matches_bert_score_package(bertscore_model, baseline_file):
    import bert_score

    ours = bert_score_means(BS_HYPS, BS_REFS, model_path=bertscore_model, num_layers=1)
    p, r, f = bert_score.score(BS_HYPS, BS_REFS, model_type=str(bertscore_model), num_layers=1)
    assert ours == {
        "bertscore_precision": pytest.approx(float(p.mean()), abs=1e-6),
        "bertscore_recall": pytest.approx(float(r.mean()), abs=1e-6),
        "bertscore_f1": pytest.approx(float(f.mean()), abs=1e-6),
    }
    rescaled = bert_score_means(
        BS_HYPS, BS_REFS, model_path=bertscore_model, num_layers=1, baseline_path=baseline_file
    )
    p, r, f = bert_score.score(
        BS_HYPS,
        BS_REFS,
        model_type=str(bertscore_model),
        num_layers=1,
        lang="en",
        rescale_with_baseline=True,
        baseline_path=str(baseline_file),
    )
    assert rescaled["bertscore_precision"] == pytest.approx(float(p.mean()), abs=1e-6)
    assert rescaled["bertscore_recall"] == pytest.approx(float(r.mean()), abs=1e-6)
    assert rescaled["bertscore_f1"] == pytest.approx(float(f.mean()), abs=1e-6)
    # Rescaling really happened: (x - 0.5) / 0.5 for precision at layer 1.
    assert rescaled["bertscore_precision"] == pytest.approx((ours["bertscore_precision"] - 0.5) / 0.5, abs=1e-5)


def test_bertscore_empty_prediction_scores_raw_zero(bertscore_model, baseline_file):
    import bert_score

    p, r, f = bert_score.score(BS_HYPS, BS_REFS, model_type=str(bertscore_model), num_layers=1)
    raw = bert_score_means([*BS_HYPS, ""], [*BS_REFS, "x y"], model_path=bertscore_model, num_layers=1)
    assert raw["bertscore_precision"] == pytest.approx(float(p.sum()) / 4, abs=1e-6)
    assert raw["bertscore_f1"] == pytest.approx(float(f.sum()) / 4, abs=1e-6)
    rescaled = bert_score_means(
        [*BS_HYPS, "  "], [*BS_REFS, "x"], model_path=bertscore_model, num_layers=1, baseline_path=baseline_file
    )
    # The empty row is raw 0, rescaled (0 - 0.4) / 0.6 for recall.
    expected_recall = (sum((float(x) - 0.4) / 0.6 for x in r) + (0 - 0.4) / 0.6) / 4
    assert rescaled["bertscore_recall"] == pytest.approx(expected_recall, abs=1e-5)


def test_bertscore_through_generation_scores(bertscore_model):
    results = empathetic_generation_scores(
        BS_HYPS, BS_REFS, bertscore_model=str(bertscore_model), bertscore_num_layers=1
    )
    assert {"bertscore_precision", "bertscore_recall", "bertscore_f1"} <= set(results)
    assert -1.0 <= results["bertscore_f1"] <= 1.0


def test_bertscore_needs_model_max_length(tmp_path):
    pytest.importorskip("bert_score")
    from conftest import build_tiny_encoder

    path = build_tiny_encoder(tmp_path / "no_max_length")
    with pytest.raises(MetricInputError, match="model_max_length"):
        bert_score_means(BS_HYPS, BS_REFS, model_path=path, num_layers=1)


def test_bertscore_baseline_without_layer_row(bertscore_model, tmp_path):
    short = tmp_path / "short.tsv"
    short.write_text("LAYER,P,R,F\n0,0.1,0.2,0.3\n")
    with pytest.raises(MetricInputError, match="no row for layer 1"):
        bert_score_means(BS_HYPS, BS_REFS, model_path=bertscore_model, num_layers=1, baseline_path=short)
