"""emotion_cause_mix: the embedded default's training mixture (documents, conversations, negatives, one vocabulary)."""

from __future__ import annotations

from collections import Counter

import pytest

from hf_ecpe.data.corpora import CORPUS_NAMES, DERIVED_CORPUS_NAMES, get_corpus
from hf_ecpe.data.corpora.mixture import (
    emotion_snippets,
    goemotions_neutral,
    join_rows,
    joined_inputs,
    neutral_windows,
    snippet_paragraphs,
)
from hf_ecpe.data.schema import BASIC_EMOTIONS, basic_emotion, make_pair, validate_rows


def test_basic_emotion_is_one_vocabulary():
    assert basic_emotion("happy") == basic_emotion("Happiness") == basic_emotion("joy") == "joy"
    assert basic_emotion("excited") == "joy" and basic_emotion("frustrated") == "anger"
    assert basic_emotion("") == "neutral" and basic_emotion("sad") == "sadness"
    with pytest.raises(ValueError, match="'bored' has no counterpart in BASIC_EMOTIONS"):
        basic_emotion("bored")


def test_neutral_windows_take_the_first_quiet_run_without_pairs():
    row = {
        "id": "c1", "kind": "conversation", "language": "en",
        "units": ["hi", "hello", "how are you", "fine", "I lost my job", "oh no"],
        "speakers": ["A", "B", "A", "B", "A", "B"],
        "emotions": ["neutral", "neutral", "neutral", "neutral", "sadness", "neutral"],
        "pairs": [make_pair(4, 3)],
    }  # fmt: skip
    windows = neutral_windows(row)
    assert [w["units"] for w in windows] == [["hi", "hello", "how are you"]]  # unit 3 is a cause: not quiet
    assert (
        windows[0]["pairs"] == [] and windows[0]["speakers"] == ["A", "B", "A"] and windows[0]["id"] == "c1/neutral-0"
    )
    assert neutral_windows({**row, "emotions": ["neutral", "joy", "neutral", "neutral", "sadness", "neutral"]}) == []


def test_goemotions_neutral_comments_become_documents_without_pairs(tmp_path):
    tsv = tmp_path / "train.tsv"
    tsv.write_text(
        "The bus leaves at nine on weekdays.\t27\ta1\n"
        "I love this so much!\t18\ta2\n"
        "[NAME] said the meeting moved to Tuesday.\t27\ta3\n"
        "We parked near the library, then walked home.\t27\ta4\n",
        encoding="utf-8",
    )
    rows = goemotions_neutral(tsv, limit=10, seed=0)
    assert sorted(r["id"] for r in rows) == ["goemotions/a1", "goemotions/a4"]  # neutral only, no [NAME] masks
    assert validate_rows(rows) == 2 and all(r["pairs"] == [] and set(r["emotions"]) == {"neutral"} for r in rows)
    (tmp_path / "bad.tsv").write_text("only two\tfields\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.tsv: line 1: expected text, labels, id"):
        goemotions_neutral(tmp_path / "bad.tsv", limit=1, seed=0)


def _document(row_id: str, units: list[str], emotions: list[str], pairs: list) -> dict:
    return {"id": row_id, "kind": "document", "language": "en", "units": units, "speakers": [], "emotions": emotions,
            "pairs": pairs}  # fmt: skip


def test_join_rows_concatenates_units_and_shifts_every_pair():
    first = _document("d1", ["I was happy", "because I won"], ["joy", "neutral"], [make_pair(0, 1)])
    second = _document("d2", ["It rained", "so she was sad"], ["neutral", "sadness"], [make_pair(1, 0)])
    joined = join_rows([first, second], "joined/d1+1")
    assert joined["units"] == first["units"] + second["units"] and joined["emotions"][3] == "sadness"
    assert [(p["emotion"], p["cause"]) for p in joined["pairs"]] == [(0, 1), (3, 2)]
    assert validate_rows([joined]) == 1
    talk = {**first, "kind": "conversation", "speakers": ["A", "B"]}
    with pytest.raises(ValueError, match="rows of one kind only"):
        join_rows([first, talk], "x")


def test_joined_inputs_use_every_row_once():
    import random

    rows = [_document(f"d{i}", [f"unit {i}"], ["joy"], [make_pair(0, 0)]) for i in range(40)]
    alone, joined = joined_inputs(rows, random.Random(0), (2, 6), share=0.5)
    assert len(alone) == 20 and all(2 <= len(row["units"]) <= 6 for row in joined[:-1])
    used = [unit for row in alone + joined for unit in row["units"]]
    assert sorted(used) == sorted(f"unit {i}" for i in range(40))
    assert all(len(row["pairs"]) == len(row["units"]) for row in joined)  # every unit kept its self-pair


def test_emotion_snippets_keep_causes_after_and_skip_crossing_pairs():
    row = _document(
        "d", ["It was late", "I was so happy", "because I passed", "then I slept", "she cried", "x", "y", "z"],
        ["neutral", "joy", "neutral", "neutral", "sadness", "neutral", "neutral", "neutral"],
        [make_pair(1, 2), make_pair(4, 4), make_pair(4, 7)],
    )  # fmt: skip
    snippets = emotion_snippets(row, max_span=2)
    assert [s["units"] for s in snippets] == [["I was so happy", "because I passed"]]  # (4, 4) crosses via (4, 7)
    assert [(p["emotion"], p["cause"]) for p in snippets[0]["pairs"]] == [(0, 1)]  # cause after its emotion
    assert snippets[0]["id"] == "d/snippet-1-2"


def test_snippet_paragraphs_use_each_snippet_once_with_neutral_text_between():
    import random

    snippets = [_document(f"s{i}", [f"emotion {i}"], ["joy"], [make_pair(0, 0)]) for i in range(30)]
    neutral = [_document("n", ["The bus leaves at nine"], ["neutral"], [])]
    paragraphs = snippet_paragraphs(snippets, neutral, random.Random(1))
    units = [u for p in paragraphs for u in p["units"]]
    assert sorted(u for u in units if u.startswith("emotion")) == sorted(f"emotion {i}" for i in range(30))
    assert "The bus leaves at nine" in units
    for paragraph in paragraphs:
        assert validate_rows([paragraph]) == 1
        assert all(paragraph["units"][p["emotion"]].startswith("emotion") for p in paragraph["pairs"])


def test_the_mixture_is_a_derived_corpus():
    assert "emotion_cause_mix" in DERIVED_CORPUS_NAMES and "emotion_cause_mix" not in CORPUS_NAMES
    assert get_corpus("emotion_cause_mix").folder == ""


@pytest.mark.slow  # builds ECPE-en, RECCON-DD, ECF and GoEmotions
def test_the_mixture_builds_from_the_shared_corpora(data_root):
    from conftest import corpus_dir

    for folder in ("ecpe-en", "reccon", "ecf", "goemotions"):
        corpus_dir(data_root, folder)
    spec = get_corpus("emotion_cause_mix")
    data = spec.build(spec.locate(data_root), "default")
    assert {split: len(ds) for split, ds in data.items()} == {"train": 6041, "validation": 827, "test": 284}
    labels = Counter(label for row in data["train"] for label in row["emotions"])
    assert set(labels) <= set(BASIC_EMOTIONS) and labels["joy"] > 0
    ids = [row["id"] for row in data["train"] if not row["pairs"]]
    assert sum(i.startswith("goemotions/") for i in ids) == 1500  # GoEmotions neutral comments
    assert sum("/neutral-" in i for i in ids) == 614  # neutral conversation windows
    validation_ids = {row["id"] for row in data["validation"]}
    assert not validation_ids & {row["id"] for row in data["train"]}


@pytest.mark.slow  # builds ECPE-en, RECCON-DD, ECF and GoEmotions
def test_the_joined_mixture_has_long_inputs_paragraphs_and_the_same_test(data_root):
    from conftest import corpus_dir

    for folder in ("ecpe-en", "reccon", "ecf", "goemotions"):
        corpus_dir(data_root, folder)
    spec = get_corpus("emotion_cause_mix")
    default = spec.build(spec.locate(data_root), "default")
    joined = spec.build(spec.locate(data_root), "joined")
    assert joined["test"]["id"] == default["test"]["id"]
    for split in ("train", "validation"):
        rows = joined[split]
        pairs = sum(len(r["pairs"]) for r in rows)
        assert pairs == sum(len(r["pairs"]) for r in default[split]) + sum(
            len(r["pairs"]) for r in rows if r["id"].startswith("paragraph/")
        )
        assert any(r["id"].startswith("joined/") and len(r["units"]) > 30 for r in rows)
    ids = [row["id"] for row in joined["train"]]
    assert sum(i.startswith("goemotions/") for i in ids) == 3000 and len(set(ids)) == len(ids)
    offsets = Counter(p["cause"] - p["emotion"] for r in joined["train"] if r["id"].startswith("paragraph/")
                      for p in r["pairs"])  # fmt: skip
    assert offsets[1] > 100 and offsets[-1] > 100 and offsets[0] > 500
