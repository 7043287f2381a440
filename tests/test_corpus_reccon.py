"""RECCON builder: synthetic fixtures (made-up dialogues), malformed input, lenient repairs, real-data counts."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import corpus_dir

from hf_ecpe.data.corpora import RepairReport, get_corpus
from hf_ecpe.data.corpora.reccon import SPECS, load_annotation_json, rows_from_annotation
from hf_ecpe.data.errors import CorpusFormatError
from hf_ecpe.data.schema import NO_SPAN, validate_rows


def turn(number: int, speaker: str, text: str, emotion: str, evidence=None, spans=None) -> dict:
    out = {"turn": number, "speaker": speaker, "utterance": text, "emotion": emotion}
    if evidence is not None:
        out["expanded emotion cause evidence"] = evidence
        out["expanded emotion cause span"] = spans
        out["type"] = ["no-context"]
    return out


def fixture() -> dict:
    """Two made-up dialogues covering duplicates, two spans in one cause, a repeated span, 'b', label noise."""
    return {
        "tr_1": [
            [
                turn(1, "A", "I lost my keys again today .", "neutral"),
                turn(
                    2,
                    "B",
                    "Oh no , that is terrible !",
                    "sad",
                    [1, 1, 2, "b"],
                    ["lost my keys", "lost my keys", "terrible", "b"],
                ),
                turn(
                    3,
                    "A",
                    "Then I found them in my bag and I laughed , I laughed a lot .",
                    "happy",
                    [3, 3],
                    ["I laughed", "found them"],
                ),
            ]
        ],
        "tr_2": [
            [
                turn(1, "A", "We won the game !", "excited", [1], ["won the game"]),
                turn(2, "B", "Great news .", "happiness", ["b"], ["b"]),
            ]
        ],
    }


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def test_pairs_spans_background_and_report():
    report = RepairReport()
    rows = rows_from_annotation(fixture(), "reccon/dailydialog", lenient=False, report=report)
    validate_rows(rows)
    first, second = rows
    assert first["id"] == "tr_1" and first["kind"] == "conversation" and first["language"] == "en"
    assert first["speakers"] == ["A", "B", "A"]
    assert first["emotions"] == ["neutral", "sadness", "happiness"]
    assert first["background_cause"] == [False, True, False]
    got = [(p["emotion"], p["cause"], p["cause_span"], p["category"]) for p in first["pairs"]]
    assert got == [
        (1, 0, [2, 14], "sadness"),  # "lost my keys", listed twice -> one pair
        (1, 1, [16, 24], "sadness"),  # "terrible"
        (2, 2, [32, 41], "happiness"),  # first of the two "I laughed"
        (2, 2, [7, 17], "happiness"),  # "found them": same utterance pair, second span
    ]
    for pair, text in zip(first["pairs"], ["lost my keys", "terrible", "I laughed", "found them"]):
        start, end = pair["cause_span"]
        assert first["units"][pair["cause"]][start:end] == text
        assert pair["emotion_span"] == NO_SPAN
    # strict mode keeps DailyDialog's out-of-set "excited" as annotated, and says so
    assert second["emotions"] == ["excited", "happiness"]
    assert second["background_cause"] == [False, True]
    assert [(p["emotion"], p["cause"]) for p in second["pairs"]] == [(0, 0)]
    assert report.counts == Counter(
        {
            "duplicate pair removed": 1,
            "cause span occurs twice in its utterance: first occurrence used": 1,
            "emotion label normalised": 2,
            "emotion label outside the RECCON-DailyDialog label set kept": 1,
        }
    )


def test_lenient_repairs_excited():
    report = RepairReport()
    rows = rows_from_annotation(fixture(), "reccon/dailydialog", lenient=True, report=report)
    assert rows[1]["emotions"] == ["happiness", "happiness"]
    assert rows[1]["pairs"][0]["category"] == "happiness"
    assert report.counts["emotion label repaired (lenient)"] == 1
    assert "'excited' -> 'happiness'" in report.examples["emotion label repaired (lenient)"][0]


def test_iemocap_labels_are_kept():
    data = {
        "Ses01F_impro01": [
            [
                turn(1, "A", "You never listen .", "frustrated", [1], ["never listen"]),
                turn(2, "B", "Stop shouting !", "angry", [1, 2], ["You never listen", "shouting"]),
                turn(3, "A", "Fine .", "excited", [2], ["Stop"]),
            ]
        ]
    }
    (row,) = rows_from_annotation(data, "reccon/iemocap")
    assert row["emotions"] == ["frustrated", "anger", "excited"]
    assert [(p["emotion"], p["cause"]) for p in row["pairs"]] == [(0, 0), (1, 0), (1, 1), (2, 1)]


def test_build_splits_from_layout(tmp_path):
    folder = tmp_path / "reccon" / "data" / "original_annotation"
    write_json(folder / "dailydialog_train.json", fixture())
    valid = {"va_1": fixture()["tr_1"]}
    write_json(folder / "dailydialog_valid.json", valid)
    write_json(folder / "iemocap_test.json", {"Ses01": fixture()["tr_1"]})
    report = RepairReport()
    dataset = SPECS["reccon"].build(tmp_path / "reccon", "dailydialog", report=report)
    assert list(dataset) == ["train", "validation"]
    assert dataset["train"].num_rows == 2 and dataset["validation"]["id"] == ["va_1"]
    assert "background_cause" in dataset["train"].column_names
    assert "cause_types" not in dataset["train"].column_names
    assert dataset["validation"][0]["pairs"][0]["cause_span"] == [2, 14]
    for split in dataset.values():
        validate_rows(split)
    assert report.counts["duplicate pair removed"] == 2  # once per file
    iemocap = SPECS["reccon"].build(tmp_path / "reccon", "iemocap")
    assert list(iemocap) == ["test"]
    assert get_corpus("reccon") is SPECS["reccon"]


def test_build_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="dailydialog_train.json"):
        SPECS["reccon"].build(tmp_path, "dailydialog")
    with pytest.raises(ValueError, match="unknown config"):
        SPECS["reccon"].build(tmp_path, "meld", lenient=False)


def mutate(change):
    data = copy.deepcopy(fixture())
    change(data)
    return data


def utt(data, dialogue, position):
    return data[dialogue][0][position - 1]


MALFORMED = {
    "missing utterance": (lambda d: utt(d, "tr_1", 2).pop("utterance"), "turn 2", "missing field 'utterance'"),
    "evidence out of range": (
        lambda d: utt(d, "tr_1", 2).update({"expanded emotion cause evidence": [1, 1, 9, "b"]}),
        "turn 2",
        "out of range 1..3",
    ),
    "evidence not a turn": (
        lambda d: utt(d, "tr_2", 1).update({"expanded emotion cause evidence": ["x"]}),
        "'tr_2', turn 1",
        "neither a 1-based turn number nor 'b'",
    ),
    "spans not aligned": (
        lambda d: utt(d, "tr_2", 1).update({"expanded emotion cause span": []}),
        "'tr_2', turn 1",
        "aligned",
    ),
    "spans missing": (
        lambda d: utt(d, "tr_2", 1).pop("expanded emotion cause span"),
        "'tr_2', turn 1",
        "without its spans",
    ),
    "turn numbers": (lambda d: utt(d, "tr_1", 3).update({"turn": 4}), "turn 3", "found 4"),
    "unknown label": (lambda d: utt(d, "tr_1", 1).update({"emotion": "joyy"}), "turn 1", "'joyy'"),
    "not [[turns]]": (lambda d: d.update({"tr_3": [{"turn": 1}]}), "'tr_3'", "a list holding one list"),
    "empty dialogue": (lambda d: d.update({"tr_3": [[]]}), "'tr_3'", "no turns"),
    "turn not an object": (lambda d: d["tr_2"][0].append("text"), "turn 3", "expected an object"),
    "turn number not int": (lambda d: utt(d, "tr_1", 1).update({"turn": "1"}), "turn 1", "must be of type int"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_record_raises_with_location(tmp_path, name):
    change, where, problem = MALFORMED[name]
    path = write_json(tmp_path / "dailydialog_valid.json", mutate(change))
    for lenient in (False, True):
        with pytest.raises(CorpusFormatError) as err:
            rows_from_annotation(load_annotation_json(path), "reccon/dailydialog", path=path, lenient=lenient)
        message = str(err.value)
        assert str(path) in message and where in message and problem in message


def test_truncated_and_undecodable_files(tmp_path):
    text = json.dumps(fixture(), indent=2)
    truncated = tmp_path / "truncated.json"
    truncated.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"truncated\.json: line \d+ column \d+: invalid JSON"):
        load_annotation_json(truncated)
    latin = tmp_path / "latin.json"
    latin.write_bytes(text.replace("terrible", "terrible caf\u00e9").encode("latin-1"))
    with pytest.raises(CorpusFormatError, match=r"latin\.json: line \d+: undecodable bytes"):
        load_annotation_json(latin)
    top = write_json(tmp_path / "list.json", [fixture()])
    with pytest.raises(CorpusFormatError, match="top level"):
        load_annotation_json(top)


def test_duplicate_dialogue_id_is_not_overwritten(tmp_path):
    body = json.dumps(fixture()["tr_2"])
    path = tmp_path / "dup.json"
    path.write_text(f'{{"tr_2": {body}, "tr_2": {body}}}', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"dup\.json: key 'tr_2': the key appears twice"):
        load_annotation_json(path)


def test_span_not_found_strict_and_lenient():
    data = mutate(lambda d: utt(d, "tr_1", 2).update({"expanded emotion cause span": ["lost my car", "x", "x", "b"]}))
    with pytest.raises(CorpusFormatError, match="'lost my car' is not a substring of its cause utterance"):
        rows_from_annotation(data, "reccon/dailydialog", path="dd.json", lenient=False)
    report = RepairReport()
    data = mutate(
        lambda d: utt(d, "tr_1", 2).update(
            {"expanded emotion cause span": ["lost my keys\n", "nope", "terrible", "b"]}
        )
    )
    (row, _) = rows_from_annotation(data, "reccon/dailydialog", lenient=True, report=report)
    assert [(p["cause"], p["cause_span"]) for p in row["pairs"][:3]] == [(0, [2, 14]), (0, NO_SPAN), (1, [16, 24])]
    assert report.counts["cause span stripped of surrounding whitespace (lenient)"] == 1
    assert report.counts["cause span not found: pair kept without a span (lenient)"] == 1


def test_evidence_on_neutral_turn():
    data = mutate(
        lambda d: utt(d, "tr_1", 1).update(
            {"expanded emotion cause evidence": [1], "expanded emotion cause span": ["keys"]}
        )
    )
    with pytest.raises(CorpusFormatError, match="'tr_1', turn 1: a neutral turn carries cause evidence"):
        rows_from_annotation(data, "reccon/dailydialog", lenient=False)
    report = RepairReport()
    rows = rows_from_annotation(data, "reccon/dailydialog", lenient=True, report=report)
    assert all(p["emotion"] != 0 for p in rows[0]["pairs"])
    assert report.counts["cause evidence on a neutral turn dropped (lenient)"] == 1


def test_unexpanded_keys_are_read():
    data = {
        "d": [
            [
                {"turn": 1, "speaker": "A", "utterance": "I passed the exam !", "emotion": "happines"},
                {"turn": 2, "speaker": "B", "utterance": "Well done .", "emotion": "neutral"},
            ]
        ]
    }
    data["d"][0][0].update({"emotion cause evidence": [1], "emotion cause span": ["passed the exam"]})
    (row,) = rows_from_annotation(data, "reccon/dailydialog")
    assert row["emotions"][0] == "happiness"
    assert [(p["emotion"], p["cause"], p["cause_span"]) for p in row["pairs"]] == [(0, 0, [2, 17])]


def stats(split) -> tuple[int, int, int, int, int]:
    rows = split.to_list()
    return (
        len(rows),
        sum(len(r["units"]) for r in rows),
        sum(len({(p["emotion"], p["cause"]) for p in r["pairs"]}) for r in rows),
        sum(len(r["pairs"]) for r in rows),
        sum(sum(r["background_cause"]) for r in rows),
    )


def test_real_dailydialog_counts(data_root):
    folder = corpus_dir(data_root, "reccon")
    report = RepairReport()
    dataset = SPECS["reccon"].build(folder, "dailydialog", lenient=False, report=report)
    assert {"train", "validation"} <= set(dataset)
    for split in dataset.values():
        validate_rows(split)
        assert all(p["cause_span"] != NO_SPAN for pairs in split["pairs"] for p in pairs)  # every span was located
    # conversations, utterances, distinct (emotion, cause) utterance pairs, pair entries (with spans), 'b' flags
    assert stats(dataset["train"]) == (834, 8206, 7029, 7235, 351)
    assert stats(dataset["validation"]) == (47, 493, 328, 346, 5)
    assert report.counts["duplicate pair removed"] == 37  # 36 train + 1 validation
    assert report.counts["emotion label normalised"] == 10  # happy 5, sad 3, surprised 1, angry 1 (train)
    assert report.counts["emotion label outside the RECCON-DailyDialog label set kept"] == 2  # excited
    assert report.counts["cause span occurs twice in its utterance: first occurrence used"] == 2
    strict_labels = Counter(label for emotions in dataset["train"]["emotions"] for label in emotions)
    assert strict_labels["excited"] == 2 and strict_labels["happiness"] == 3555
    lenient = SPECS["reccon"].build(folder, "dailydialog", lenient=True)
    labels = Counter(label for emotions in lenient["train"]["emotions"] for label in emotions)
    assert "excited" not in labels and labels["happiness"] == 3557
