"""SemEval-2024 Task 3 builder: span location as the official scorer does it, subtask 2, malformed input, real counts."""

from __future__ import annotations

import copy
import json
import string

import pytest

from hf_ecpe.data.corpora import get_corpus
from hf_ecpe.data.corpora.base import RepairReport
from hf_ecpe.data.corpora.ecf import SPECS, parse_semeval
from hf_ecpe.data.errors import CorpusFormatError
from hf_ecpe.data.schema import validate_rows
from hf_ecpe.data.spans import char_span_to_token_span
from tests.conftest import corpus_dir


def utterance(k: int, text: str, emotion: str, speaker: str = "A") -> dict:
    return {"utterance_ID": k, "text": text, "speaker": speaker, "emotion": emotion}


SUBTASK1 = [
    {
        "conversation_ID": 1,
        "conversation": [
            utterance(1, "I lost my job today .", "sadness"),
            utterance(2, "Oh no , that is terrible !", "sadness", "B"),
            utterance(3, "But I got a new puppy .", "joy"),
        ],
        "emotion-cause_pairs": [
            ["1_sadness", "1_I lost my job today ."],
            ["2_sadness", "1_I lost my job"],
            ["3_joy", "3_I got a new puppy ."],
            ["3_joy", "3_I got a new puppy ."],
            ["2_sadness", "2_that is terrible"],
        ],
    },
    {
        "conversation_ID": 2,
        "conversation": [utterance(1, "my user_name is taken .", "anger"), utterance(2, "Sorry .", "neutral", "B")],
        "emotion-cause_pairs": [["1_anger", "1_user_name is taken"]],
    },
    {"conversation_ID": 3, "conversation": [utterance(1, "Fine .", "neutral")], "emotion-cause_pairs": []},
]


def test_subtask1_char_spans_and_report():
    report = RepairReport()
    rows = parse_semeval(copy.deepcopy(SUBTASK1), "Subtask_1_train.json", 1, report=report)
    assert validate_rows(rows) == 3
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    first = rows[0]
    got = [(p["emotion"], p["cause"], tuple(p["cause_span"]), p["category"]) for p in first["pairs"]]
    assert got == [
        (0, 0, (0, 19), "sadness"),
        (1, 0, (0, 13), "sadness"),
        (2, 2, (4, 21), "joy"),
        (1, 1, (8, 24), "sadness"),
    ]
    assert [first["units"][p["cause"]][slice(*p["cause_span"])] for p in first["pairs"]] == [
        "I lost my job today",
        "I lost my job",
        "I got a new puppy",
        "that is terrible",
    ]
    assert rows[1]["pairs"][0]["cause_span"] == [3, 21]  # split at the first "_" only
    assert first["speakers"] == ["A", "B", "A"] and first["emotions"] == ["sadness", "sadness", "joy"]
    assert report.counts == {"cause_span_punctuation_stripped": 3, "duplicate_pair_removed": 1}


def test_subtask1_spans_convert_back_to_scorer_tokens():
    rows = parse_semeval(copy.deepcopy(SUBTASK1), "x.json", 1)
    tokens = [char_span_to_token_span(rows[0]["units"][p["cause"]], *p["cause_span"]) for p in rows[0]["pairs"]]
    assert tokens == [(0, 5), (0, 4), (1, 6), (3, 6)]  # section 6.1's worked conversation + one more


def test_subtask1_unlocatable_span_strict_and_lenient():
    data = [
        {
            "conversation_ID": 4,
            "conversation": [utterance(1, "I said no!", "anger"), utterance(2, "Why ?", "surprise")],
            "emotion-cause_pairs": [["1_anger", "1_said no!"], ["2_surprise", "1_yes"], ["2_surprise", "2_Why"]],
        }
    ]
    with pytest.raises(CorpusFormatError, match=r"x\.json: conversation_ID 4, emotion-cause_pairs\[0\]: .*lenient"):
        parse_semeval(copy.deepcopy(data), "x.json", 1, lenient=False)
    report = RepairReport()
    (row,) = parse_semeval(copy.deepcopy(data), "x.json", 1, lenient=True, report=report)
    assert [(p["emotion"], p["cause"], p["cause_span"]) for p in row["pairs"]] == [(0, 0, [2, 9]), (1, 1, [0, 3])]
    assert report.counts == {
        "cause_span_punctuation_stripped": 1,
        "cause_span_located_by_substring": 1,
        "cause_span_not_found_pair_dropped": 1,
    }


def test_category_mismatch_strict_and_lenient():
    data = [{"conversation_ID": 5, "conversation": [utterance(1, "Go away .", "anger")], "emotion-cause_pairs": []}]
    data[0]["emotion-cause_pairs"] = [["1_disgust", "1_Go away"]]
    with pytest.raises(CorpusFormatError, match="differs from utterance 1's emotion 'anger'"):
        parse_semeval(copy.deepcopy(data), "x.json", 1, lenient=False)
    report = RepairReport()
    (row,) = parse_semeval(copy.deepcopy(data), "x.json", 1, lenient=True, report=report)
    assert row["pairs"][0]["category"] == "disgust"
    assert report.counts["pair_category_differs_from_utterance_emotion"] == 1


def _with(path: list, value) -> list:
    data = copy.deepcopy(SUBTASK1)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        ({"conversation_ID": 1}, "top level", "expected a list"),
        (_with([0, "emotion-cause_pairs"], _DELETE), "conversation #0", "missing field 'emotion-cause_pairs'"),
        (_with([1, "conversation_ID"], 1), "conversation_ID 1", "repeats conversation #0"),
        (_with([0, "conversation_ID"], "one"), "conversation #0", "conversation_ID must be an integer"),
        (_with([0, "conversation", 1, "utterance_ID"], 3), "conversation_ID 1, utterance #1", "expected 2"),
        (_with([0, "conversation", 0, "emotion"], _DELETE), "utterance #0", "missing field 'emotion'"),
        (_with([0, "conversation", 0, "emotion"], "bored"), "utterance #0", "unknown emotion label 'bored'"),
        (_with([0, "conversation", 0, "text"], None), "utterance #0", "'text' must be a string"),
        (_with([0, "conversation"], []), "conversation_ID 1", "non-empty list"),
        (_with([0, "emotion-cause_pairs", 1], ["2_sadness"]), "emotion-cause_pairs[1]", "expected a pair"),
        (_with([0, "emotion-cause_pairs", 1], ["sadness", "1_x"]), "emotion-cause_pairs[1]", "look like 'N_"),
        (_with([0, "emotion-cause_pairs", 1], ["2_bored", "1_x"]), "emotion-cause_pairs[1]", "unknown pair emotion"),
        (_with([0, "emotion-cause_pairs", 1], ["2_sadness", "4_x"]), "emotion-cause_pairs[1]", "out of range 1..3"),
        (_with([0, "emotion-cause_pairs", 1], ["9_sadness", "1_x"]), "emotion-cause_pairs[1]", "out of range 1..3"),
        (_with([0, "emotion-cause_pairs", 1], ["2_sadness", "1"]), "emotion-cause_pairs[1]", "look like 'N_"),
        (_with([0, "emotion-cause_pairs", 1], ["2_sadness", "1_ . "]), "emotion-cause_pairs[1]", "empty after"),
        (_with([0, "emotion-cause_pairs", 1], ["2_sadness", "1_0_4"]), "emotion-cause_pairs[1]", "prediction file"),
    ],
)
def test_subtask1_malformed(data, where, message):
    with pytest.raises(CorpusFormatError, match=message) as info:
        parse_semeval(data, "Subtask_1_train.json", 1, lenient=False)
    assert str(info.value).startswith("Subtask_1_train.json: ") and where in str(info.value)


def test_subtask2_file_and_derivation():
    subtask2 = copy.deepcopy(SUBTASK1[:1])
    subtask2[0]["emotion-cause_pairs"] = [["1_sadness", "1"], ["2_sadness", 1], ["2_sadness", "1"]]
    report = RepairReport()
    (row,) = parse_semeval(subtask2, "Subtask_2_train.json", 2, report=report)
    assert [(p["emotion"], p["cause"], p["cause_span"]) for p in row["pairs"]] == [(0, 0, [-1, -1]), (1, 0, [-1, -1])]
    assert report.counts == {"duplicate_pair_removed": 1}
    with pytest.raises(CorpusFormatError, match="subtask-1 file"):
        parse_semeval(copy.deepcopy(SUBTASK1), "Subtask_2_train.json", 2, lenient=False)

    report = RepairReport()
    rows = parse_semeval(copy.deepcopy(SUBTASK1), "Subtask_1_train.json", 2, derive_subtask2=True, report=report)
    assert validate_rows(rows) == 3
    assert [(p["emotion"], p["cause"], p["category"]) for p in rows[0]["pairs"]] == [
        (0, 0, "sadness"),
        (1, 0, "sadness"),
        (2, 2, "joy"),
        (1, 1, "sadness"),
    ]
    assert report.counts == {"duplicate_utterance_pair_removed_deriving_subtask2": 1}


def test_build_semeval_files(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "Subtask_1_train.json").write_text(json.dumps(SUBTASK1), encoding="utf-8")
    (data / "Subtask_1_test.json").write_text(json.dumps(SUBTASK1[1:]), encoding="utf-8")
    spec = get_corpus("semeval2024_ecac")
    report = RepairReport()
    dataset = spec.build(tmp_path, "subtask1", report=report)
    assert set(dataset) == {"train", "test"} and dataset["test"]["id"] == ["2", "3"]
    assert dataset["train"][0]["pairs"][0]["cause_span"] == [0, 19]

    report = RepairReport()
    derived = spec.build(tmp_path, "subtask2", report=report)
    assert set(derived) == {"train", "test"}
    assert report.counts["subtask2_split_derived_from_subtask1_file"] == 2
    subtask2 = copy.deepcopy(SUBTASK1[1:2])
    subtask2[0]["emotion-cause_pairs"] = [["1_anger", "2"]]
    (data / "Subtask_2_test.json").write_text(json.dumps(subtask2), encoding="utf-8")
    report = RepairReport()
    mixed = spec.build(tmp_path, "subtask2", report=report)
    assert mixed["test"]["id"] == ["2"] and mixed["test"][0]["pairs"][0]["cause"] == 1
    assert report.counts["subtask2_split_derived_from_subtask1_file"] == 1  # train only

    (data / "Subtask_1_test.json").write_text(json.dumps(SUBTASK1)[:-40], encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"Subtask_1_test\.json: line 1 column \d+: invalid JSON"):
        spec.build(tmp_path, "subtask1", lenient=False)
    with pytest.raises(FileNotFoundError, match="Subtask_1_"):
        spec.build(tmp_path / "missing", "subtask1")


# --- the official scorer's gold conversion, restated (NUSTM/SemEval-2024_ECAC, CodaLab/evaluation/evaluate.py) ---


def _scorer_clean(span: str) -> str:
    while True:
        span = span.strip()
        head, tail = span[0] in string.punctuation, span[-1] in string.punctuation
        if not head and not tail:
            return span
        span = span[1:] if head else span
        span = span[:-1] if tail else span


def _scorer_position(span: str, utterance: str) -> list[int]:
    wanted, tokens = span.split(), utterance.split()
    for start in range(len(tokens)):
        if start + len(wanted) <= len(tokens) and tokens[start : start + len(wanted)] == wanted:
            return [start, start + len(wanted)]
    return [0, 0]


def _scorer_gold(conversation: dict) -> list[list]:
    texts = [u["text"] for u in conversation["conversation"]]
    gold: list[list] = []
    for emotion_part, cause_part in conversation["emotion-cause_pairs"]:
        emotion_id, emotion = emotion_part.split("_")
        cause_id, span = cause_part.split("_")
        entry = [int(emotion_id), int(cause_id), *_scorer_position(_scorer_clean(span), texts[int(cause_id) - 1])]
        entry.append(emotion)
        if entry not in gold:
            gold.append(entry)
    return gold


def test_real_subtask1_counts_and_scorer_token_positions(data_root):
    folder = corpus_dir(data_root, SPECS["semeval2024_ecac"].folder)
    path = folder / "data" / "Subtask_1_train.json"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    report = RepairReport()
    train = SPECS["semeval2024_ecac"].build(folder, "subtask1", report=report)["train"]
    assert len(train) == 1374
    assert sum(len(p) for p in train["pairs"]) == 9292
    assert validate_rows(train) == 1374
    assert report.counts["duplicate_pair_removed"] == 72
    assert report.counts["cause_span_punctuation_stripped"] == 8392
    assert set(report.counts) == {"duplicate pair removed", "cause span punctuation stripped"}  # no span left unfound

    raw = json.loads(path.read_text(encoding="utf-8"))
    assert sum(len(c["emotion-cause_pairs"]) for c in raw) == 9364
    for conversation, row in zip(raw, train, strict=True):
        assert row["id"] == str(conversation["conversation_ID"])
        ours = []
        for p in row["pairs"]:
            start, end = char_span_to_token_span(row["units"][p["cause"]], *p["cause_span"])
            ours.append([p["emotion"] + 1, p["cause"] + 1, start, end, p["category"]])
        assert ours == _scorer_gold(conversation), row["id"]


def test_real_subtask2_derived_counts(data_root):
    folder = corpus_dir(data_root, SPECS["semeval2024_ecac"].folder)
    if (
        not (folder / "data" / "Subtask_1_train.json").is_file()
        or (folder / "data" / "Subtask_2_train.json").is_file()
    ):
        pytest.skip("needs Subtask_1_train.json without Subtask_2_train.json (the derivation path)")
    report = RepairReport()
    train = SPECS["semeval2024_ecac"].build(folder, "subtask2", report=report)["train"]
    assert len(train) == 1374
    assert sum(len(p) for p in train["pairs"]) == 9256  # utterance pairs with a textual cause (ECF 1.0 lists 9,794)
    assert validate_rows(train) == 1374
    assert report.counts["duplicate_utterance_pair_removed_deriving_subtask2"] == 9364 - 9256
