"""ECF 1.0 builder: synthetic fixtures (made-up text), malformed input, and the real corpus counts."""

from __future__ import annotations

import json

import pytest

from hf_ecpe.data.corpora import get_corpus
from hf_ecpe.data.corpora.base import RepairReport
from hf_ecpe.data.corpora.ecf import SPECS, load_video_id_mapping, parse_ecf, utterance_feature_keys
from hf_ecpe.data.errors import CorpusFormatError
from hf_ecpe.data.schema import validate_rows
from tests.conftest import corpus_dir

TS = "Show_S1E1: 00:00:01.000 - 00:00:02.000"
GOOD = f"""7 3
(2,1),(3,3),(2,1)
1 | Ann | neutral | I passed the exam . | {TS}
2 | Ben | joy | Oh , that is great ! | {TS}
3 | Ann | surprise | Wait , a | pipe ? | {TS}
8 2

1 | Ben | neutral | Hello . | {TS}
2 | Ann | neutral | Hi . | {TS}

"""


def test_parse_ecf_rows():
    report = RepairReport()
    rows = parse_ecf(GOOD, "train.txt", report=report)
    assert validate_rows(rows) == 2
    first, second = rows
    assert first["id"] == "7" and first["kind"] == "conversation" and first["language"] == "en"
    assert first["units"] == ["I passed the exam .", "Oh , that is great !", "Wait , a | pipe ?"]
    assert first["speakers"] == ["Ann", "Ben", "Ann"]
    assert first["emotions"] == ["neutral", "joy", "surprise"]
    assert [(p["emotion"], p["cause"], p["category"]) for p in first["pairs"]] == [(1, 0, "joy"), (2, 2, "surprise")]
    assert all(p["cause_span"] == [-1, -1] and p["emotion_span"] == [-1, -1] for p in first["pairs"])
    assert second["id"] == "8" and second["pairs"] == [] and second["units"] == ["Hello .", "Hi ."]
    assert report.counts == {"duplicate_pair_removed": 1}


def test_parse_ecf_crlf_and_label_normalisation():
    text = "1 1\r\n(1,1)\r\n1 | Ann | Surprised | What ? | ts\r\n"
    (row,) = parse_ecf(text)
    assert row["emotions"] == ["surprise"] and row["pairs"][0]["category"] == "surprise"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("7 three\n(1,1)\n1 | A | joy | x | t\n", "line 1", "conversation header"),
        ("7 0\n\n", "line 1", "declares 0 utterances"),
        ("7 3\n(1,1)\n1 | A | joy | x | t\n2 | B | joy | y | t\n", "line 1", "truncated"),
        ("7 1\n", "line 1", "truncated"),
        ("7 1\n(1,1),(2\n1 | A | joy | x | t\n", "line 2", "pairs line"),
        ("7 1\n1 | A | joy | x | t\n", "line 2", "pairs line"),
        ("7 1\n(1,2)\n1 | A | joy | x | t\n", "line 2", "out of range 1..1"),
        ("7 1\n(0,1)\n1 | A | joy | x | t\n", "line 2", "out of range"),
        ("7 1\n(1,1)\n1 | A | joy | x\n", "line 3", "4 '|'-separated fields"),
        ("7 2\n(1,1)\n1 | A | joy | x | t\n3 | A | joy | x | t\n", "line 4", "expected utterance 2"),
        ("7 1\n(1,1)\n1 | A | x | joy | t\n", "line 3", "unknown emotion label 'x'"),
        ("7 1\n(1,1)\n1 | A |  | x | t\n", "line 3", "missing emotion label"),
        ("7 1\n\n1 | A | joy | x | t\n7 1\n\n1 | A | joy | x | t\n", "line 4", r"repeats \(first at line 1\)"),
    ],
)
def test_parse_ecf_malformed(text, line, message):
    with pytest.raises(CorpusFormatError, match=message) as info:
        parse_ecf(text, "dev.txt", lenient=False)
    assert str(info.value).startswith(f"dev.txt: {line}: ")


def test_neutral_emotion_utterance_strict_and_lenient():
    text = "5 2\n(2,1)\n1 | A | joy | x | t\n2 | B | neutral | y | t\n"
    with pytest.raises(CorpusFormatError, match="line 2: pair \\(2,1\\): the emotion utterance is neutral.*lenient"):
        parse_ecf(text, "train.txt", lenient=False)
    report = RepairReport()
    (row,) = parse_ecf(text, "train.txt", lenient=True, report=report)
    assert row["pairs"][0]["category"] == "neutral"
    assert report.counts == {"pair_with_neutral_emotion_utterance_kept": 1}


def test_build_ecf_splits_and_errors(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.txt").write_text(GOOD, encoding="utf-8")
    (tmp_path / "data" / "dev.txt").write_text("9 1\n(1,1)\n1 | A | anger | No ! | t\n", encoding="utf-8")
    report = RepairReport()
    dataset = get_corpus("ecf").build(tmp_path, "default", report=report)
    assert set(dataset) == {"train", "validation"}
    assert dataset["train"]["id"] == ["7", "8"] and dataset["validation"][0]["pairs"][0]["category"] == "anger"
    assert report.counts["duplicate_pair_removed"] == 1
    with pytest.raises(ValueError, match="unknown config"):
        get_corpus("ecf").build(tmp_path, "nope", lenient=False)
    (tmp_path / "data" / "test.txt").write_bytes(b"1 1\n(1,1)\n1 | A | joy | caf\xe9 | t\n")
    with pytest.raises(CorpusFormatError, match=r"test\.txt: line 3: undecodable"):
        get_corpus("ecf").build(tmp_path, "default", lenient=False)
    with pytest.raises(FileNotFoundError, match="train.txt"):
        get_corpus("ecf").build(tmp_path / "nowhere", "default")


def test_feature_keys_and_mapping(tmp_path):
    assert utterance_feature_keys("12", 3) == ["dia12utt1", "dia12utt2", "dia12utt3"]
    (tmp_path / "derived").mkdir()
    path = tmp_path / "derived" / "video_id_mapping.json"
    path.write_text(json.dumps({"dia1utt1": 1, "dia1utt2": 2}), encoding="utf-8")
    assert load_video_id_mapping(tmp_path) == {"dia1utt1": 1, "dia1utt2": 2}
    path.write_text(json.dumps({"dia1utt1": "1"}), encoding="utf-8")
    with pytest.raises(CorpusFormatError, match="dia1utt1.*integer row index"):
        load_video_id_mapping(tmp_path)
    path.write_text('{"dia1utt1": 1', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match="invalid JSON"):
        load_video_id_mapping(tmp_path)
    with pytest.raises(FileNotFoundError, match="video_id_mapping"):
        load_video_id_mapping(tmp_path / "elsewhere")


def test_real_ecf_counts(data_root):
    folder = corpus_dir(data_root, SPECS["ecf"].folder)
    report = RepairReport()
    dataset = SPECS["ecf"].build(folder, "default", report=report)
    assert {"train", "validation"} <= set(dataset)
    counts = {split: (len(ds), sum(len(p) for p in ds["pairs"])) for split, ds in dataset.items()}
    assert counts["train"] == (1001, 7055)
    assert counts["validation"] == (112, 866)
    assert sum(len(u) for u in dataset["train"]["units"]) == 9966
    assert sum(len(u) for u in dataset["validation"]["units"]) == 1087
    mapping = load_video_id_mapping(folder) if (folder / "derived").is_dir() else None
    for ds in dataset.values():
        assert validate_rows(ds) == len(ds)
        for row in ds:
            assert all(p["category"] == row["emotions"][p["emotion"]] != "neutral" for p in row["pairs"])
            if mapping is not None:
                assert all(key in mapping for key in utterance_feature_keys(row["id"], len(row["units"])))
    assert not report  # ECF 1.0 train/dev need no repair and have no duplicate pair
