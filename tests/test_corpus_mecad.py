"""MECAD builder: synthetic made-up conversations, cause types aligned with pairs, malformed input, real counts."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import corpus_dir

from hf_ecpe.data.corpora import RepairReport, get_corpus
from hf_ecpe.data.corpora.reccon import SPECS, load_annotation_json, rows_from_annotation
from hf_ecpe.data.errors import CorpusFormatError
from hf_ecpe.data.schema import NO_SPAN, validate_rows


def turn(number: int, speaker: str, text: str, emotion: str, evidence=None, cause_type=None) -> dict:
    out = {
        "turn": number,
        "speaker": speaker,
        "utterance": text,
        "emotion": emotion,
        "utterance_name": f"show_1_{number}",
        "video": f"show_1_{number}.mp4",
    }
    if evidence is not None:
        out.update(
            {
                "cause_modality": ["t"],
                "confidence": [4, 5, 4],
                "cause_type": cause_type,
                "expanded emotion cause evidence": evidence,
                "annotator_name": ["a1", "a2", "a3"],
            }
        )
    return out


def fixture() -> dict:
    return {
        "show_1": [
            [
                turn(1, "甲", "我很开心", "Happy", [1, 2], "event"),
                turn(2, "乙", "因为考试通过了", "Neutral"),
                turn(3, "甲", "她伤心", "Sad", [2, 1, 2, "b"], "opinion"),
                turn(4, "乙", "狗死了", "Sad", [5], "event"),  # a cause after the emotion: kept as annotated
                turn(5, "甲", "我很开心。", "Happy", [4], "emotional_influence"),
            ]
        ]
    }


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def test_pairs_and_cause_types_aligned():
    report = RepairReport()
    (row,) = rows_from_annotation(fixture(), "mecad/default", report=report)
    validate_rows([row])
    assert row["language"] == "zh" and row["speakers"] == ["甲", "乙", "甲", "乙", "甲"]
    assert row["emotions"] == ["happiness", "neutral", "sadness", "sadness", "happiness"]
    assert [(p["emotion"], p["cause"], p["category"]) for p in row["pairs"]] == [
        (0, 0, "happiness"),
        (0, 1, "happiness"),
        (2, 1, "sadness"),
        (2, 0, "sadness"),  # the second "2" of [2, 1, 2] is an exact duplicate, removed
        (3, 4, "sadness"),
        (4, 3, "happiness"),
    ]
    assert row["cause_types"] == ["event", "event", "opinion", "opinion", "event", "emotional_influence"]
    assert all(p["cause_span"] == NO_SPAN for p in row["pairs"])
    assert row["background_cause"] == [False, False, True, False, False]
    assert report.counts == Counter({"emotion label normalised": 4, "duplicate pair removed": 1})


def test_build_split_from_filename(tmp_path):
    folder = tmp_path / "mecad"
    write_json(folder / "data/MECAD/valid_data_pair.json", fixture())
    dataset = SPECS["mecad"].build(folder, None)
    assert list(dataset) == ["validation"]
    assert set(dataset["validation"].column_names) >= {"cause_types", "background_cause"}
    write_json(folder / "data/MECAD/train_data_pair.json", fixture())
    write_json(folder / "data/MECAD/test_data_pair.json", fixture())
    assert list(SPECS["mecad"].build(folder, "default")) == ["train", "validation", "test"]
    assert get_corpus("mecad") is SPECS["mecad"]
    with pytest.raises(ValueError, match="unknown config"):
        SPECS["mecad"].build(folder, "dailydialog", lenient=False)
    with pytest.raises(FileNotFoundError, match="valid_data_pair.json"):
        SPECS["mecad"].build(tmp_path / "elsewhere", "default")


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        (lambda t: t[0].pop("cause_type"), "turn 1", "missing field 'cause_type'"),
        (lambda t: t[0].update({"cause_type": ["event"]}), "turn 1", "'cause_type' must be of type str"),
        (lambda t: t[2].update({"expanded emotion cause evidence": [0]}), "turn 3", "out of range 1..5"),
        (lambda t: t[1].pop("speaker"), "turn 2", "missing field 'speaker'"),
        (lambda t: t[1].update({"emotion": "Happyish"}), "turn 2", "'Happyish'"),
        (lambda t: t[1].update({"expanded emotion cause evidence": [1]}), "turn 2", "a neutral turn"),
    ],
    ids=["no cause_type", "cause_type list", "evidence 0", "no speaker", "unknown label", "neutral with evidence"],
)
def test_malformed_raises_with_location(tmp_path, change, where, problem):
    data = fixture()
    change(data["show_1"][0])
    path = write_json(tmp_path / "valid_data_pair.json", data)
    with pytest.raises(CorpusFormatError) as err:
        rows_from_annotation(load_annotation_json(path), "mecad/default", path=path, lenient=False)
    assert str(path) in str(err.value) and f"'show_1', {where}" in str(err.value) and problem in str(err.value)


def test_truncated_file(tmp_path):
    path = tmp_path / "valid_data_pair.json"
    path.write_text(json.dumps(fixture(), ensure_ascii=False)[:-30], encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"valid_data_pair\.json: line 1 column \d+: invalid JSON"):
        load_annotation_json(path)


def test_real_valid_counts(data_root):
    folder = corpus_dir(data_root, "mecad")
    report = RepairReport()
    dataset = SPECS["mecad"].build(folder, "default", report=report)
    valid = dataset["validation"]
    validate_rows(valid)
    rows = valid.to_list()
    assert len(rows) == 126
    assert sum(len(r["units"]) for r in rows) == 1168
    assert sum(len(r["pairs"]) for r in rows) == 977
    assert sum(len({(p["emotion"], p["cause"]) for p in r["pairs"]}) for r in rows) == 977
    assert sum(p["cause"] > p["emotion"] for r in rows for p in r["pairs"]) == 34
    assert Counter(t for r in rows for t in r["cause_types"]) == Counter(
        {"event": 603, "opinion": 353, "emotional_influence": 15, "self_reflection": 5, "greeting": 1}
    )
    assert Counter(e for r in rows for e in r["emotions"]) == Counter(
        {"neutral": 424, "anger": 237, "sadness": 174, "happiness": 159, "surprise": 87, "disgust": 62, "fear": 25}
    )
    assert not any(any(r["background_cause"]) for r in rows)
    assert report.counts == Counter({"emotion label normalised": 174 + 159})  # Sad, Happy
