"""ED-cause builder: made-up JSON lines, the emotion-utterance rule, malformed lines, real valid counts."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import corpus_dir

from hf_ecpe.data.corpora import RepairReport, get_corpus
from hf_ecpe.data.corpora.ed_cause import (
    ED_EMOTIONS,
    LABEL_FILE,
    SPECS,
    emotion_utterance_index,
    read_label_set,
    rows_from_ed_cause_lines,
)
from hf_ecpe.data.errors import CorpusFormatError
from hf_ecpe.data.schema import NO_SPAN, validate_rows

PUPPY = {
    "conv_id": "hit:1_conv:2",
    "utters": [
        ["i", "got", "a", "puppy", "!"],
        ["oh", "nice", "!"],
        ["he", "is", "so", "cute", "."],
        ["what", "breed", "?"],
    ],
    "context": "joyful",
    "emotion_cause": [0, 2],
}
DOG = {
    "conv_id": "hit:3_conv:4",
    "utters": [["my", "dog", "died", "."], ["so", "sorry", "."], ["thanks", "."]],
    "context": "sad",
    "emotion_cause": [0, 0],
}


def lines(*records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records) + "\n"


def test_rows_speakers_units_pairs():
    report = RepairReport()
    puppy, dog = rows_from_ed_cause_lines(lines(PUPPY, DOG), report=report)
    validate_rows([puppy, dog])
    assert puppy["id"] == "hit:1_conv:2" and puppy["language"] == "en" and puppy["kind"] == "conversation"
    assert puppy["units"] == ["i got a puppy !", "oh nice !", "he is so cute .", "what breed ?"]
    assert puppy["speakers"] == ["speaker", "listener", "speaker", "listener"]
    assert puppy["emotions"] == ["neutral", "neutral", "joyful", "neutral"]
    assert puppy["conversation_emotion"] == "joyful"
    assert [(p["emotion"], p["cause"], p["category"]) for p in puppy["pairs"]] == [(2, 0, "joyful"), (2, 2, "joyful")]
    assert all(p["cause_span"] == NO_SPAN and p["emotion_span"] == NO_SPAN for p in puppy["pairs"])
    # "sad" -> "sadness" in the canonical columns, verbatim in conversation_emotion; [0, 0] -> one pair
    assert dog["emotions"] == ["neutral", "neutral", "sadness"] and dog["conversation_emotion"] == "sad"
    assert [(p["emotion"], p["cause"], p["category"]) for p in dog["pairs"]] == [(2, 0, "sadness")]
    assert report.counts == Counter({"emotion label normalised": 1, "duplicate pair removed": 1})


def test_first_utterance_rule():
    (row,) = rows_from_ed_cause_lines(lines(PUPPY), emotion_utterance="first")
    assert row["emotions"] == ["joyful", "neutral", "neutral", "neutral"]
    assert [(p["emotion"], p["cause"]) for p in row["pairs"]] == [(0, 0), (0, 2)]


@pytest.mark.parametrize(("n", "expected"), [(1, 0), (2, 0), (3, 2), (4, 2), (5, 4), (8, 6)])
def test_last_speaker_index(n, expected):
    assert emotion_utterance_index(n) == expected
    assert emotion_utterance_index(n, "first") == 0


def test_emotion_utterance_rule_errors():
    with pytest.raises(ValueError, match="emotion_utterance must be one of"):
        emotion_utterance_index(3, "middle")
    with pytest.raises(ValueError, match="at least one utterance"):
        emotion_utterance_index(0)


MALFORMED = {
    "cause out of range": ({**DOG, "emotion_cause": [0, 3]}, "cause index 3 is out of range 0..2"),
    "negative cause": ({**DOG, "emotion_cause": [-1]}, "cause index -1 is out of range"),
    "cause not int": ({**DOG, "emotion_cause": ["0"]}, "cause index '0' is not an integer"),
    "cause bool": ({**DOG, "emotion_cause": [True]}, "is not an integer"),
    "unknown emotion": ({**DOG, "context": "happyish"}, "context emotion 'happyish' is not one of the 32 ED labels"),
    "missing context": ({k: v for k, v in DOG.items() if k != "context"}, "missing field 'context'"),
    "missing causes": ({k: v for k, v in DOG.items() if k != "emotion_cause"}, "missing field 'emotion_cause'"),
    "no utterances": ({**DOG, "utters": []}, "'utters' must be a non-empty list"),
    "utterance not tokens": ({**DOG, "utters": ["my dog died ."]}, "utterance 0 must be a list of string tokens"),
    "duplicate id": ({**PUPPY, "utters": DOG["utters"]}, "conv_id already used on line 1"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_line_raises_with_location(tmp_path, name):
    record, problem = MALFORMED[name]
    path = tmp_path / "valid_with_cause.json"
    path.write_text(lines(PUPPY, record), encoding="utf-8")
    with pytest.raises(CorpusFormatError) as err:
        rows_from_ed_cause_lines(path.read_text(encoding="utf-8"), path=path, lenient=False)
    message = str(err.value)
    assert f"{path}: line 2" in message and problem in message


def test_truncated_and_non_object_lines():
    text = lines(PUPPY, DOG)
    with pytest.raises(CorpusFormatError, match=r"ed\.json: line 2 column \d+: invalid JSON"):
        rows_from_ed_cause_lines(text[:-20], path="ed.json", lenient=False)
    with pytest.raises(CorpusFormatError, match="ed.json: line 1: expected a JSON object, got list"):
        rows_from_ed_cause_lines("[1, 2]\n", path="ed.json", lenient=False)
    with pytest.raises(CorpusFormatError, match="'conv_id' must be a string"):
        rows_from_ed_cause_lines(json.dumps({**DOG, "conv_id": 7}), path="ed.json", lenient=False)


def write(folder: Path, relative: str, text: str) -> None:
    (folder / relative).parent.mkdir(parents=True, exist_ok=True)
    (folder / relative).write_text(text, encoding="utf-8")


def test_build_layout_and_label_file(tmp_path):
    folder = tmp_path / "empdialogue-recec"
    write(folder, "Data/valid_with_cause.json", lines(PUPPY, DOG))
    dataset = SPECS["ed_cause"].build(folder, None)
    assert list(dataset) == ["validation"]
    assert dataset["validation"]["conversation_emotion"] == ["joyful", "sad"]
    validate_rows(dataset["validation"])
    write(folder, "Data/test_with_cause.json", lines(DOG))
    assert list(SPECS["ed_cause"].build(folder, "default")) == ["validation", "test"]
    # a label file, when present, is the label set: "sad" is not in this one
    write(folder, LABEL_FILE, "joyful\nproud\n")
    with pytest.raises(CorpusFormatError, match="valid_with_cause.json: line 2 .*'sad' is not one of the 2 ED labels"):
        SPECS["ed_cause"].build(folder, "default", lenient=False)
    write(folder, LABEL_FILE, "joyful\nsad\njoyful\n")
    with pytest.raises(CorpusFormatError, match="emotion_set.txt: label 3: label 'joyful' is listed twice"):
        SPECS["ed_cause"].build(folder, "default", lenient=False)
    assert get_corpus("ed_cause") is SPECS["ed_cause"]
    with pytest.raises(ValueError, match="unknown config"):
        SPECS["ed_cause"].build(folder, "dailydialog", lenient=False)
    with pytest.raises(FileNotFoundError, match="valid_with_cause.json"):
        SPECS["ed_cause"].build(tmp_path, "default")


def test_real_valid_counts(data_root):
    folder = corpus_dir(data_root, "empdialogue-recec")
    assert read_label_set(folder / LABEL_FILE) == ED_EMOTIONS
    report = RepairReport()
    dataset = SPECS["ed_cause"].build(folder, "default", report=report)
    valid = dataset["validation"]
    validate_rows(valid)
    rows = valid.to_list()
    assert len(rows) == 2769
    assert sum(len(r["units"]) for r in rows) == 12074
    assert sum(len(r["pairs"]) for r in rows) == 4884
    assert len({r["conversation_emotion"] for r in rows}) == 32
    # the silver causes never follow the last speaker utterance (the rule the module docstring argues from)
    assert all(p["cause"] <= p["emotion"] for r in rows for p in r["pairs"])
    assert sum(p["cause"] == p["emotion"] for r in rows for p in r["pairs"]) == 2639
    assert report.counts == Counter({"emotion label normalised": 416})  # angry, sad, surprised, disgusted
