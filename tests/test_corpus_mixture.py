"""emotion_cause_mix: the embedded default's training mixture (documents, conversations, negatives, one vocabulary)."""

from __future__ import annotations

from collections import Counter

import pytest

from hf_ecpe.data.corpora import CORPUS_NAMES, DERIVED_CORPUS_NAMES, get_corpus
from hf_ecpe.data.corpora.mixture import goemotions_neutral, neutral_windows
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
