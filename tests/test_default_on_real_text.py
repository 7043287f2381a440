"""The shipped paragraph model (``pair-scorer-joined-minilm-en``) on text users bring, with the real model: the
invariance probes of ``benchmarks/default_model.py`` (section ``invariance``; the test and the published numbers
read the same answers) — unrelated neutral sentences around a text, paragraphs of k independent emotion sentences,
a cause after its emotion, plain facts.

These are *regression floors* a little below what the shipped model measures (benchmarks/README.md), not the
issue's targets, which it misses (stated there): a paragraph of k ≤ 8 sentences keeps ≥ 55 % of its pairs (the
embedded default finds none from k = 6 on), ≥ 50 % of padded texts keep their pairs (the default: 28 %), causes
after their emotion are found (the default: none), and at most 1 of 30 plain facts gets a pair (the default: 6)."""

from __future__ import annotations

import pytest
from conftest import import_benchmark

import hf_ecpe

MODEL = "pair-scorer-joined-minilm-en"


@pytest.fixture(scope="module")
def bench():
    return import_benchmark("default_model")


@pytest.fixture(scope="module")
def extractor():
    return hf_ecpe.pipeline("emotion-cause", model=MODEL)


@pytest.fixture(scope="module")
def probes(bench, extractor):
    return bench.invariance(extractor, batch_size=16, seed=0)


def test_unrelated_neutral_sentences_mostly_leave_the_pairs_of_a_text_unchanged(probes):
    padding = probes["neutral_padding"]
    changed = [
        (a["clauses"], a["before"], a["after"], a["alone"], a["padded"], a["pairs_on_padding"])
        for a in padding["answers"]
        if not a["unchanged"]
    ]
    # Measured: 59 % of the 90 padded inputs unchanged, 12 pairs touching a padding sentence (target: 100 %, 0).
    assert padding["unchanged_share"] >= 0.5, changed
    assert sum(a["pairs_on_padding"] for a in padding["answers"]) <= 20, changed


@pytest.mark.parametrize("k", range(1, 9))
def test_a_paragraph_of_k_emotion_sentences_keeps_most_of_its_k_pairs(probes, k):
    result = probes["paragraphs"][str(k)]
    assert result["units_as_expected"] == result["paragraphs"]  # the clause split the expected pairs assume
    # Measured: 64-83 % of the expected pairs over the 10 paragraphs of each size, with 0.6-1.7 extra pairs per
    # expected one (precision is what the model still lacks).
    assert result["model"]["found"] >= 0.55 * result["expected_pairs"], result
    assert result["model"]["extra"] <= 2 * result["expected_pairs"], result


def test_a_cause_after_its_emotion_is_found(probes):
    after = probes["cause_order"]["cause after"]
    before = probes["cause_order"]["cause before"]
    answers = [(a["clauses"], a["predicted"]) for a in probes["cause_order"]["answers"]]
    # Measured: 4 of 8 causes after their emotion found (none answered exactly: the self-pair comes with them).
    assert after["found"] >= 3, answers
    assert after["found"] + before["found"] >= 5, answers  # of 15


def test_plain_facts_get_no_pair(bench, extractor):
    answers = extractor(list(bench.FACTUAL_SENTENCES), batch_size=16)
    firing = [(text, out["pairs"]) for text, out in zip(bench.FACTUAL_SENTENCES, answers) if out["pairs"]]
    assert len(firing) <= 1, firing  # the bar: at most 1 in 30
