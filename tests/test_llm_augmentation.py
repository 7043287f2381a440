"""Augmentation: marking, parse-back and every filter with a deterministic fake generator; the LLM path on a tiny model."""

from __future__ import annotations

import re

import pytest

from hf_ecpe.data.schema import make_pair, validate_rows
from hf_ecpe.llm.augmentation import TransformersGenerator, augment_rows, mark_row, parse_rewrite, rewrite_prompt
from hf_ecpe.llm.data import row_triplets, tiny_examples

ROW = {
    "id": "c1",
    "kind": "conversation",
    "language": "en",
    "units": ["I lost my job today .", "Oh no , that is terrible !", "But I got a new puppy ."],
    "speakers": ["A", "B", "A"],
    "emotions": ["neutral", "sadness", "joy"],
    # SemEval style: the emotion span is missing (whole utterance), so U3's cause lies inside its emotion block
    "pairs": [
        make_pair(1, 0, cause_span=[0, 13], category="sadness"),
        make_pair(2, 2, cause_span=[4, 21], category="joy"),
    ],
}


def _lines(prompt: str) -> list[str]:
    return [line for line in prompt.splitlines() if re.match(r"^U\d+: ", line)]


def rewrite_context(prompt: str) -> str:
    """Fake generator: prefixes every unit with a few words, keeping the marked blocks."""
    return "\n".join(re.sub(r"^(U\d+): ", r"\1: Well , honestly ", line) for line in _lines(prompt))


def test_marking_merges_overlapping_spans():
    marked = mark_row(ROW)
    assert marked.marked_units[0] == "[Cause 1 (sadness)]{I lost my job} today ."
    assert marked.marked_units[1] == "[Emotion 1 (sadness)]{Oh no , that is terrible !}"
    assert marked.marked_units[2] == "[Emotion 2 (joy) + Cause 2 (joy)]{But I got a new puppy .}"
    assert "Keep every marked span exactly" in rewrite_prompt(marked)
    assert mark_row({**ROW, "units": ["a {b}", "c", "d"]}) is None


def test_rewrite_roundtrip_relocates_spans():
    marked = mark_row(ROW)
    new_row, reason = parse_rewrite(rewrite_context(rewrite_prompt(marked)), marked)
    assert reason == "ok"
    validate_rows([new_row])
    assert new_row["units"][0] == "Well , honestly I lost my job today ."
    assert new_row["pairs"][0]["cause_span"] == [16, 29] and new_row["pairs"][0]["emotion_span"] == [-1, -1]
    assert new_row["pairs"][1]["cause_span"] == [20, 37]
    assert [p["category"] for p in new_row["pairs"]] == ["sadness", "joy"]
    # a row with both spans annotated: every span text and category survives the rewrite
    source = tiny_examples()[0]
    marked = mark_row(source)
    rewritten, _ = parse_rewrite(rewrite_context(rewrite_prompt(marked)), marked)
    for old, new in zip(row_triplets(source), row_triplets(rewritten)):
        assert old["category"] == new["category"]
        for side in ("emotion", "cause"):
            old_text = source["units"][old[f"{side}_unit"]][old[f"{side}_start"] : old[f"{side}_end"]]
            assert rewritten["units"][new[f"{side}_unit"]][new[f"{side}_start"] : new[f"{side}_end"]] == old_text


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda t: t.replace("{I lost my job}", "{I lost my jobs}"), "span_changed"),
        (lambda t: t.replace("[Cause 1 (sadness)]", "[Cause 1 (anger)]"), "category_changed"),
        (lambda t: t.replace("[Cause 1 (sadness)]{I lost my job}", "I lost my job"), "span_changed"),
        (lambda t: "\n".join(t.splitlines()[:2]), "malformed"),
        (lambda t: "Sure, here it is:\n" + t, "malformed"),
        (lambda t: t.replace("U1:", "U2:", 1), "malformed"),
    ],
)
def test_filters_reject_with_reason(edit, reason):
    marked = mark_row(ROW)
    assert parse_rewrite(edit(rewrite_context(rewrite_prompt(marked))), marked) == (None, reason)


def test_augment_rows_bounds_dedup_and_yield():
    rows = [ROW, *tiny_examples()]
    kept, report = augment_rows(rows, lambda prompts: [rewrite_context(p) for p in prompts], num_rewrites=2)
    # round 1 is kept for every row with pairs (6), round 2 produces the same text again → duplicates
    assert report.attempted == 12 and report.kept == 6 and report.rejected == {"duplicate": 6}
    assert report.yield_rate == 0.5 and [r["id"] for r in kept][:2] == ["c1#aug1", "tiny-0#aug1"]
    assert [e["reason"] for e in report.rejected_examples] == ["duplicate"] * 3  # the first 3 rejections
    assert report.rejected_examples[0]["id"] == "c1" and report.as_dict()["rejected_examples"][0]["output"]
    validate_rows(kept)

    copy = augment_rows([ROW], lambda prompts: [_identity(p) for p in prompts])[1]
    assert copy.rejected == {"duplicate": 1}
    long = augment_rows(
        [ROW], lambda ps: [rewrite_context(p).replace("honestly", "honestly" + " very" * 30) for p in ps]
    )[1]
    assert long.rejected == {"length": 1}
    close = augment_rows([ROW], lambda ps: [rewrite_context(p) for p in ps], similarity_bounds=(0.0, 0.5))[1]
    assert close.rejected == {"similarity": 1}
    with pytest.raises(ValueError, match="returned 0 texts for 1 prompts"):
        augment_rows([ROW], lambda prompts: [])


def _identity(prompt: str) -> str:
    return "\n".join(_lines(prompt))


def test_transformers_generator_path(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hf_ecpe.llm.weights import build_tiny_random_llama

    folder = build_tiny_random_llama(tmp_path, [rewrite_prompt(mark_row(ROW)), "U1: Well"], vocab_size=400)
    generator = TransformersGenerator(
        AutoModelForCausalLM.from_pretrained(folder),
        AutoTokenizer.from_pretrained(folder),
        max_new_tokens=8,
        batch_size=2,
    )
    kept, report = augment_rows([ROW, ROW | {"id": "c2"}], generator)
    assert (
        report.attempted == 2 and report.kept + sum(report.rejected.values()) == 2
    )  # a random model's text is rejected
    assert report.kept == len(kept)
