"""Corpus builders never lose data silently (issue 11, items 2 and 5), on tiny synthetic corpora written here.

- A missing split file is an error naming the file and the split it would have been, unless the public release
  withholds that split (then the build notes it), or the splits are chosen explicitly.
- An empty but well-formed file (0 bytes, ``[]``, ``{}``) is a :class:`CorpusFormatError` naming it: "no documents".
- A unit without text is refused in strict mode and drops its document in lenient mode (reported), as the schema
  validator refuses it too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from hf_ecpe.data import CorpusFormatError, SchemaError, validate_row, validate_rows
from hf_ecpe.data.corpora import RepairReport, get_corpus
from hf_ecpe.data.errors import MissingSplitError, NoSplitFilesError

# ---------------------------------------------------------------------------------------------- tiny corpus files

EN_DOC = "{id} 2\n (2, 1),\n1,null,null,{text}\n2,sadness,sad,so we were sad\n"
ZH_DOC = "{id} 2\n (2, 1)\n1,null,null,{text}\n2,happiness,开心,我 很 开心\n"
ECF_CONV = "{id} 2\n(2,1)\n1 | Ross | neutral | {text} | 00:01\n2 | Rachel | joy | Great ! | 00:02\n"
ED_LINE = (
    '{{"conv_id": "{id}", "utters": [{tokens}, ["great"], ["thanks"]], "context": "joyful", "emotion_cause": [0]}}\n'
)


# Each fixture puts ``text`` in the first unit of one document of one file, beside a good document.


def ecpe_en(text: str = "the dog ran away") -> dict[str, str]:
    base = "e2e-ecpe/data_combine_eng/fold1_{}.txt"
    good = "the dog ran away"
    return {
        base.format("train"): EN_DOC.format(id=1, text=text) + EN_DOC.format(id=4, text=good),
        base.format("val"): EN_DOC.format(id=2, text=good),
        base.format("test"): EN_DOC.format(id=3, text=good),
    }


def ecpe_zh(text: str = "考试 通过 了") -> dict[str, str]:
    base = "nustm-ecpe/data_combine/"
    docs = {i: ZH_DOC.format(id=i, text=text if i == 3 else "考试 通过 了") for i in (1, 2, 3, 4)}
    return {
        base + "all_data_pair.txt": "".join(docs.values()),
        base + "fold1_test.txt": docs[1],
        base + "fold2_test.txt": docs[2],
    }


def ecf(text: str = "I passed !") -> dict[str, str]:
    return {
        "data/train.txt": ECF_CONV.format(id=7, text=text) + ECF_CONV.format(id=10, text="Yes !"),
        "data/dev.txt": ECF_CONV.format(id=8, text="I passed !"),
        "data/test.txt": ECF_CONV.format(id=9, text="I passed !"),
    }


def semeval_conversation(conv_id: int, text: str) -> dict:
    return {
        "conversation_ID": conv_id,
        "conversation": [
            {"utterance_ID": 1, "text": text, "speaker": "Ross", "emotion": "neutral"},
            {"utterance_ID": 2, "text": "Great !", "speaker": "Rachel", "emotion": "joy"},
        ],
        "emotion-cause_pairs": [["2_joy", "2_Great"]],
    }


def semeval(text: str = "I passed !") -> dict[str, str]:
    files = {}
    for i, name in enumerate(("train", "trial", "test"), 1):
        first = semeval_conversation(i, text if name == "train" else "I passed !")
        files[f"data/Subtask_1_{name}.json"] = json.dumps([first, semeval_conversation(10 + i, "Yes !")])
    return files


def reccon_dialogue(text: str) -> list:
    return [
        [
            {"turn": 1, "speaker": "A", "utterance": text, "emotion": "neutral"},
            {
                "turn": 2,
                "speaker": "B",
                "utterance": "Great !",
                "emotion": "happiness",
                "expanded emotion cause evidence": [2],
                "expanded emotion cause span": ["Great"],
            },
        ]
    ]


def reccon(text: str = "I passed the exam .") -> dict[str, str]:
    base = "data/original_annotation/dailydialog_{}.json"
    files = {}
    for s in ("train", "valid", "test"):
        first = reccon_dialogue(text if s == "train" else "I passed .")
        files[base.format(s)] = json.dumps({f"{s}_1": first, f"{s}_2": reccon_dialogue("Yes .")})
    return files


def mecad_dialogue(text: str) -> list:
    return [
        [
            {"turn": 1, "speaker": "甲", "utterance": text, "emotion": "neutral"},
            {
                "turn": 2,
                "speaker": "乙",
                "utterance": "太好了",
                "emotion": "happiness",
                "expanded emotion cause evidence": [1],
                "cause_type": "event",
            },
        ]
    ]


def mecad(text: str = "考试通过了") -> dict[str, str]:
    base = "data/MECAD/{}_data_pair.json"
    files = {}
    for s in ("train", "valid", "test"):
        first = mecad_dialogue(text if s == "valid" else "考试通过了")
        files[base.format(s)] = json.dumps({f"{s}_1": first, f"{s}_2": mecad_dialogue("好")}, ensure_ascii=False)
    return files


def ed_cause(text: str = "i passed") -> dict[str, str]:
    files = {}
    for s in ("train", "valid", "test"):
        tokens = json.dumps(text.split() if s == "valid" else ["i", "passed"])
        files[f"Data/{s}_with_cause.json"] = ED_LINE.format(id=f"{s}_1", tokens=tokens) + ED_LINE.format(
            id=f"{s}_2", tokens='["yes"]'
        )
    return files


def ntcir_xml(doc_id: str, text: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<emotionml><emotion id="{doc_id}"><category name="happiness" '
        f'value=""/><clause id="1" cause="Y" keywords="N"><text>{text}</text>'
        '<cause id="1" begin="0" lenth="6">passed</cause></clause>'
        '<clause id="2" cause="N" keywords="Y"><text>so happy</text>'
        '<keywords keywords-begin="3" keywords-lenth="5">happy</keywords></clause></emotion></emotionml>\n'
    )


def ntcir(text: str = "passed the exam") -> dict[str, str]:
    return {
        "ECA_training_English.xml": ntcir_xml("1", text),
        "cause_emotion_eng_test.xml": ntcir_xml("2", "passed it"),
    }


@dataclass
class Case:
    corpus: str
    config: str
    files: Callable[..., dict[str, str]]
    required: str  # a required split file (relative path) and its split
    required_split: str
    empty_file: str  # the file emptied (and its empty but well-formed content)
    empty_content: str
    optional: tuple[str, ...] = ()  # files of splits the public release withholds


CASES = [
    Case("ecpe_en", "fold1", ecpe_en, "e2e-ecpe/data_combine_eng/fold1_val.txt", "validation",
         "e2e-ecpe/data_combine_eng/fold1_train.txt", ""),
    Case("ecpe_zh", "fold1", ecpe_zh, "nustm-ecpe/data_combine/fold2_test.txt", "validation",
         "nustm-ecpe/data_combine/fold2_test.txt", "\n"),
    Case("ecf", "default", ecf, "data/dev.txt", "validation", "data/train.txt", "", ("data/test.txt",)),
    Case("semeval2024_ecac", "subtask1", semeval, "data/Subtask_1_train.json", "train",
         "data/Subtask_1_train.json", "[]", ("data/Subtask_1_trial.json", "data/Subtask_1_test.json")),
    Case("reccon", "dailydialog", reccon, "data/original_annotation/dailydialog_valid.json", "validation",
         "data/original_annotation/dailydialog_train.json", "{}", ("data/original_annotation/dailydialog_test.json",)),
    Case("mecad", "default", mecad, "data/MECAD/valid_data_pair.json", "validation",
         "data/MECAD/valid_data_pair.json", "{}", ("data/MECAD/train_data_pair.json", "data/MECAD/test_data_pair.json")),
    Case("ed_cause", "default", ed_cause, "Data/valid_with_cause.json", "validation",
         "Data/valid_with_cause.json", "", ("Data/train_with_cause.json", "Data/test_with_cause.json")),
    Case("ntcir_eca", "en", ntcir, "ECA_training_English.xml", "train",
         "ECA_training_English.xml", '<?xml version="1.0"?>\n<emotionml></emotionml>\n', ("cause_emotion_eng_test.xml",)),
]  # fmt: skip
IDS = [case.corpus for case in CASES]


def write_corpus(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_complete_synthetic_corpus_builds_every_split(case, tmp_path):
    root = write_corpus(tmp_path, case.files())
    dataset = get_corpus(case.corpus).build(root, case.config)
    assert len(dataset) >= 2
    for split in dataset.values():
        validate_rows(split)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_missing_required_split_file_names_the_file_and_the_split(case, tmp_path):
    root = write_corpus(tmp_path, case.files())
    (root / case.required).unlink()
    with pytest.raises(MissingSplitError) as err:
        get_corpus(case.corpus).build(root, case.config)
    message = str(err.value)
    assert Path(case.required).name in message and f"the {case.required_split} split" in message
    assert err.value.split == case.required_split
    assert "--splits" in message and "splits=" in message  # says how to build without it
    assert isinstance(err.value, FileNotFoundError)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_explicit_splits_build_without_the_missing_file(case, tmp_path):
    root = write_corpus(tmp_path, case.files())
    (root / case.required).unlink()
    everything = list(get_corpus(case.corpus).build(write_corpus(tmp_path / "full", case.files()), case.config))
    chosen = [split for split in everything if split != case.required_split]
    dataset = get_corpus(case.corpus).build(root, case.config, splits=chosen)
    assert list(dataset) == chosen


@pytest.mark.parametrize("case", [c for c in CASES if c.optional], ids=[c.corpus for c in CASES if c.optional])
def test_absent_withheld_split_is_noted_not_silent(case, tmp_path):
    root = write_corpus(tmp_path, case.files())
    for relative in case.optional:
        (root / relative).unlink()
    report = RepairReport()
    dataset = get_corpus(case.corpus).build(root, case.config, report=report)
    assert len(report.notes) == len(case.optional)
    for relative, note in zip(case.optional, report.notes):
        assert Path(relative).name in note and "split" in note
    assert not report  # a note is not a repair
    assert dataset


def test_no_split_file_at_all_lists_the_expected_files(tmp_path):
    with pytest.raises(NoSplitFilesError, match=r"ecf/default: no split file found \(expected train: .*train\.txt"):
        get_corpus("ecf").build(tmp_path, "default")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_empty_well_formed_file_is_a_corpus_format_error_naming_it(case, tmp_path):
    root = write_corpus(tmp_path, case.files())
    (root / case.empty_file).write_text(case.empty_content, encoding="utf-8")
    for lenient in (False, True):
        with pytest.raises(CorpusFormatError, match="no documents") as err:
            get_corpus(case.corpus).build(root, case.config, lenient=lenient)
        assert err.value.path == str(root / case.empty_file)


EMPTY_UNIT_CASES = [case for case in CASES if case.corpus != "ntcir_eca"]  # NTCIR: its own clause repair


@pytest.mark.parametrize("text", ["", "   "])
@pytest.mark.parametrize("case", EMPTY_UNIT_CASES, ids=[c.corpus for c in EMPTY_UNIT_CASES])
def test_empty_unit_is_refused_strictly_and_drops_its_document_leniently(case, text, tmp_path):
    if case.corpus == "ed_cause" and text:
        text = ""  # ED utterances are token lists: an empty list joins to ""
    root = write_corpus(tmp_path, case.files(text))
    spec = get_corpus(case.corpus)
    with pytest.raises(CorpusFormatError, match=r"(no text|is empty|no tokens)") as err:
        spec.build(root, case.config, lenient=False)
    assert "lenient" in str(err.value)
    report = RepairReport()
    dataset = spec.build(root, case.config, lenient=True, report=report)
    dropped = [kind for kind in report.counts if "dropped (lenient)" in kind and "empty" in kind]
    assert len(dropped) == 1 and report.counts[dropped[0]] >= 1
    for split in dataset.values():
        validate_rows(split)  # no empty unit reached the dataset
        assert all(unit.strip() for units in split["units"] for unit in units)


def test_schema_validator_refuses_an_empty_unit():
    row = {
        "id": "d1",
        "kind": "document",
        "language": "en",
        "units": ["we won", " "],
        "speakers": [],
        "emotions": ["neutral", "neutral"],
        "pairs": [],
    }
    with pytest.raises(SchemaError, match=r"row \(id='d1'\): unit 1 is empty or whitespace only"):
        validate_row(row)


# ---------------------------------------------------------------------------------------------------------------
# Issue 27: one default (lenient) in Python and in the scripts, never silent; one spelling of the repair names
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", EMPTY_UNIT_CASES, ids=[c.corpus for c in EMPTY_UNIT_CASES])
def test_python_builders_repair_by_default_and_say_so(case, tmp_path, caplog):
    """``get_corpus(name).build(folder, config)`` (the README's example) repairs known noise as the dataset scripts
    do; without a report passed, each kind of repair is logged once."""
    root = write_corpus(tmp_path, case.files(""))
    with caplog.at_level("WARNING", logger="hf_ecpe.data"):
        dataset = get_corpus(case.corpus).build(root, case.config)
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("corpus repair: ")]
    assert len(warnings) == 1 and "empty" in warnings[0] and "lenient=False to refuse" in warnings[0], warnings
    for split in dataset.values():
        validate_rows(split)


def test_readme_corpus_example_builds_the_real_data(data_root):
    from tests.conftest import corpus_dir

    dataset = get_corpus("ecpe_en").build(corpus_dir(data_root, "ecpe-en"), "fold1")  # used to raise (strict)
    assert {"train", "validation", "test"} <= set(dataset)


def test_repair_names_have_one_spelling():
    import re

    from hf_ecpe.data.corpora import base

    sources = Path(base.__file__).parent.glob("*.py")
    literal = re.compile(r"""(?:report\.add|_dedupe)\([^"']*?f?["']([^"']+)["']""")
    names = {name for path in sources for name in literal.findall(path.read_text(encoding="utf-8"))}
    assert names and not [name for name in names if "_" in name.replace("{", "").split("}")[-1]], names
    report = RepairReport()
    report.add("duplicate_pair_removed", "d1")  # the former ECF spelling is the same repair
    report.add("duplicate pair removed", "d2")
    assert dict(report.counts) == {"duplicate pair removed": 2}
    assert report.counts["duplicate_pair_removed"] == 2 and "duplicate_pair_removed" in report.counts
    assert report.counts == {"duplicate_pair_removed": 2} and report.counts.get("duplicate_pair_removed") == 2
    assert report.summary() == "duplicate pair removed: 2 (e.g. d1; d2)"
