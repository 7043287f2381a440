"""ECPE corpora (NUSTM text format): converters on synthetic text, fold assembly, and the real corpora's counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_ecpe.data import CorpusFormatError, validate_rows
from hf_ecpe.data.corpora import RepairReport, get_corpus
from hf_ecpe.data.corpora.ecpe import (
    EN_SUBDIR,
    FOLD_CONFIGS,
    SPECS,
    ZH_SUBDIR,
    join_chinese_words,
    locate_keyword,
    parse_nustm,
    read_nustm_file,
)
from tests.conftest import corpus_dir

# Made-up documents in the corpus format (not corpus text).
EN_DOCS = """\
1 3
 (2, 2),
1,null,null,On Monday , the team met
2,happiness,delighted,and everyone was delighted , and said so , loudly
3,null,null,after the results came out .
2 4
 (3, 1),(3, 2),
1,null,null,The train was late again
2,null,null,and the heating broke
3,anger,furious,so the passengers were furious
4,null,null,by the time they arrived .
"""

ZH_DOCS = """\
7 4
 (3,2), (3,2)
1,null,null,2002 年 6 月 3 日
2,null,null,他 买 了 一部 iPhone 6 手机
3,disgust&anger,恶心&愤怒,这 让 她 恶心 又 愤怒
4,null,null,厂家 解释
8 3
 (2,1), (2,1)
1,null,null,小狗 走丢 了
2,sadness&sadness,伤心&伤心,主人 非常 伤心
3,null,null,当天 晚上
"""


def spanned(row: dict, pair: dict, key: str) -> str:
    unit = row["units"][pair["emotion" if key == "emotion_span" else "cause"]]
    start, end = pair[key]
    return unit[start:end]


def test_english_document_conversion():
    report = RepairReport()
    rows = parse_nustm(EN_DOCS, "en.txt", language="en", report=report)
    validate_rows(rows)
    assert [row["id"] for row in rows] == ["1", "2"]
    first = rows[0]
    assert first["kind"] == "document" and first["language"] == "en" and first["speakers"] == []
    # the clause text keeps its own commas: only the first three separate fields
    assert first["units"][1] == "and everyone was delighted , and said so , loudly"
    assert first["emotions"] == ["neutral", "happiness", "neutral"]
    (pair,) = first["pairs"]
    assert (pair["emotion"], pair["cause"], pair["category"]) == (1, 1, "happiness")
    assert pair["cause_span"] == [-1, -1] and spanned(first, pair, "emotion_span") == "delighted"
    assert [(p["emotion"], p["cause"]) for p in rows[1]["pairs"]] == [(2, 0), (2, 1)]
    assert all(spanned(rows[1], p, "emotion_span") == "furious" for p in rows[1]["pairs"])
    assert not report


def test_join_chinese_words_keeps_spaces_only_between_ascii_words():
    assert join_chinese_words("当 我 看到 2002 年 6 月") == "当我看到2002年6月"
    assert join_chinese_words(" 他 买 了 一部 iPhone   6 手机 ") == "他买了一部iPhone 6手机"
    assert join_chinese_words("Piti é - Salp ê tri è re 医院") == "Pitié-Salpêtrière医院"
    assert join_chinese_words("但 春节 — — 相亲") == "但春节——相亲"


def test_chinese_multi_emotion_clauses_and_duplicate_listings():
    report = RepairReport()
    rows = parse_nustm(ZH_DOCS, "zh.txt", language="zh", report=report)
    validate_rows(rows)
    mixed, doubled = rows
    assert mixed["units"] == ["2002年6月3日", "他买了一部iPhone 6手机", "这让她恶心又愤怒", "厂家解释"]
    # one pair per annotation of the multi-emotion clause, in listing order; unit label = first category
    assert [(p["emotion"], p["cause"], p["category"]) for p in mixed["pairs"]] == [(2, 1, "disgust"), (2, 1, "anger")]
    assert [spanned(mixed, p, "emotion_span") for p in mixed["pairs"]] == ["恶心", "愤怒"]
    assert mixed["emotions"] == ["neutral", "neutral", "disgust", "neutral"]
    # a doubled annotation (same category and keyword) collapses to one pair
    assert [(p["emotion"], p["cause"], p["category"]) for p in doubled["pairs"]] == [(1, 0, "sadness")]
    assert spanned(doubled, doubled["pairs"][0], "emotion_span") == "伤心"
    assert report.counts["multi-emotion clause (pair listed once per annotation)"] == 2
    assert report.counts["mixed multi-emotion clause: unit label = first category"] == 1
    assert report.counts["duplicate pair removed"] == 1


def test_plain_duplicate_pair_is_removed_and_counted():
    text = "5 2\n (2,1), (2,1)\n1,null,null,it rained\n2,sadness,sad,we were sad\n"
    report = RepairReport()
    (row,) = parse_nustm(text, language="en", report=report)
    assert len(row["pairs"]) == 1 and report.counts["duplicate pair removed"] == 1


def test_multi_emotion_listing_count_mismatch_strict_and_lenient():
    text = "9 2\n (2,1)\n1,null,null,他 输 了\n2,anger&sadness,气愤&伤心,既 气愤 又 伤心\n"
    with pytest.raises(CorpusFormatError, match=r"line 2: .*listed 1 times .*2 annotations.*lenient=True"):
        parse_nustm(text, "m.txt", language="zh", lenient=False)
    report = RepairReport()
    (row,) = parse_nustm(text, "m.txt", language="zh", lenient=True, report=report)
    assert [(p["category"], spanned(row, p, "emotion_span")) for p in row["pairs"]] == [("anger", "气愤")]
    assert report.counts["multi-emotion pair count mismatch (lenient)"] == 1


def test_locate_keyword_repairs():
    assert locate_keyword("sad", "we were sad") == ([8, 11], None)
    span, kind = locate_keyword("Wonderful", "' wonderful")
    assert span == [2, 11] and "ignoring case" in kind
    span, kind = locate_keyword("was  startled", "he was startled")
    assert span == [3, 15] and "ignoring case/spacing" in kind
    span, kind = locate_keyword("joyfull", "all very joyful today")
    assert span == [9, 15] and "approximately" in kind
    span, kind = locate_keyword("terrified", "all very joyful today")
    assert span == [-1, -1] and "not found" in kind


def test_keyword_noise_strict_raises_lenient_repairs_and_reports():
    text = (
        "3 2\n (2, 1),\n1,null,null,they won\n2,happiness,Thrilled,and were thrilled .\n"
        "4 2\n (2, 1),\n1,null,null,they lost\n2,sadness,miserable,and were sad .\n"
    )
    with pytest.raises(CorpusFormatError, match=r"k\.txt: line 4: document 3, clause 2: emotion keyword 'Thrilled'"):
        parse_nustm(text, "k.txt", language="en", lenient=False)
    report = RepairReport()
    rows = parse_nustm(text, "k.txt", language="en", lenient=True, report=report)
    validate_rows(rows)
    assert spanned(rows[0], rows[0]["pairs"][0], "emotion_span") == "thrilled"
    assert rows[1]["pairs"][0]["emotion_span"] == [-1, -1]
    assert sum(report.counts.values()) == 2 and "document 4, clause 2" in report.summary()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 3\n (1,1)\n1,sadness,sad,so sad\n", r"line 1: document 1 declares 3 clauses but the file ends"),
        ("1 2\n (1,1)\n1,sadness,sad,so sad\n\n", r"line 4: document 1, clause 2: expected 'clause_id,"),
        ("1 x\n (1,1)\n1,sadness,sad,so sad\n", r"line 1: expected a document header"),
        ("1 1\n1,sadness,sad,so sad\n", r"line 2: document 1: expected a pairs line"),
        ("1 1\n (1,2)\n1,sadness,sad,so sad\n", r"line 2: document 1: 1-based cause index 2 out of range 1\.\.1"),
        ("1 1\n (0,1)\n1,sadness,sad,so sad\n", r"line 2: .*emotion index 0 out of range"),
        (
            "1 2\n (1,1)\n1,sadness,sad,so sad\n3,null,null,later\n",
            r"line 4: document 1: clause id '3' where clause 2",
        ),
        ("1 1\n (1,1)\n1,sadness,sad\n", r"line 3: document 1, clause 1: expected 'clause_id,.*too few fields"),
        ("1 1\n (1,1)\n1,glee,sad,so sad\n", r"line 3: document 1, clause 1: emotion category 'glee' is not one of"),
        ("1 1\n (1,1)\n1,null,sad,so sad\n", r"line 3: .*emotion keyword 'sad' on a clause whose category is null"),
        ("1 1\n (1,1)\n1,sadness&fear,sad,so sad\n", r"line 3: .*2 categories 'sadness&fear' but 1 keywords"),
        ("1 1\n (1,1)\n1,sadness,sad, \n", r"line 3: document 1, clause 1: the clause text is empty"),
        (
            "1 2\n (2,1)\n1,sadness,sad,so sad\n2,null,null,later\n",
            r"line 2: .*names clause 2 as its emotion clause, but that clause has no emotion category",
        ),
        (
            "1 1\n (1,1)\n1,sadness,sad,so sad\n1 1\n (1,1)\n1,fear,afraid,afraid\n",
            r"line 4: document id 1 already used at line 1",
        ),
        ("1 1\n (1,1)\n1,sadness,sad,so sad\n2,null,null,extra clause\n", r"line 4: expected a document header"),
    ],
)
def test_malformed_input_raises_with_file_and_line(text, message):
    with pytest.raises(CorpusFormatError, match=r"bad\.txt: " + message):
        parse_nustm(text, "bad.txt", language="en", lenient=False)


def test_undecodable_file_names_the_line(tmp_path):
    path = tmp_path / "all_data_pair.txt"
    path.write_bytes(b"1 1\n (1,1)\n1,sadness,sad,\xff\xfe sad\n")
    with pytest.raises(CorpusFormatError, match=r"all_data_pair\.txt: line 3: undecodable bytes"):
        read_nustm_file(path, "zh", lenient=False)


# ---- fold assembly on synthetic folders --------------------------------------------------------------------


def zh_doc(doc_id: str, word: str, listed: str = " (1,1)") -> str:
    return f"{doc_id} 2\n{listed}\n1,happiness,开心,我 很 {word} 开心\n2,null,null,因为 考试 {word}\n"


def write_zh_corpus(root: Path, all_ids: list[str], folds: dict[int, list[str]], extra: str = "") -> Path:
    base = root / ZH_SUBDIR
    base.mkdir(parents=True)
    (base / "all_data_pair.txt").write_text("".join(zh_doc(i, f"w{i}") for i in all_ids), encoding="utf-8")
    for k, ids in folds.items():
        text = "".join(zh_doc(i, f"w{i}") for i in ids if i in all_ids)
        (base / f"fold{k}_test.txt").write_text(text + (extra if k == max(folds) else ""), encoding="utf-8")
    return root


def test_zh_folds_test_next_fold_validation_and_complement_train(tmp_path):
    root = write_zh_corpus(tmp_path, ["1", "2", "3", "4", "5"], {1: ["2"], 2: ["4", "5"], 10: ["1"]})
    dataset = SPECS["ecpe_zh"].build(root, "fold1")
    assert list(dataset) == ["train", "validation", "test"]
    assert dataset["test"]["id"] == ["2"] and dataset["validation"]["id"] == ["4", "5"]
    assert dataset["train"]["id"] == ["1", "3"]
    assert dataset["test"][0]["units"] == ["我很w2开心", "因为考试w2"]
    # fold 10 takes fold 1 as validation
    fold10 = SPECS["ecpe_zh"].build(root, "fold10")
    assert (fold10["test"]["id"], fold10["validation"]["id"], fold10["train"]["id"]) == (["1"], ["2"], ["3", "4", "5"])
    # without the next fold's file, train is the whole complement only when the splits say so
    fold2 = SPECS["ecpe_zh"].build(root, "fold2", splits=["train", "test"])
    assert list(fold2) == ["train", "test"] and fold2["train"]["id"] == ["1", "2", "3"]
    # an explicit choice without validation ignores the next fold's file even when it exists
    fold1 = SPECS["ecpe_zh"].build(root, "fold1", splits=["train", "test"])
    assert fold1["train"]["id"] == ["1", "3", "4", "5"]


def test_zh_missing_validation_fold_is_an_error_not_a_bigger_train_split(tmp_path):
    """Deleting fold2_test.txt used to put fold 1's validation documents into train, with no validation split."""
    from hf_ecpe.data.errors import MissingSplitError

    root = write_zh_corpus(tmp_path, ["1", "2", "3", "4", "5"], {1: ["2"], 2: ["4", "5"], 10: ["1"]})
    (root / ZH_SUBDIR / "fold2_test.txt").unlink()
    with pytest.raises(
        MissingSplitError, match=r"ecpe_zh/fold1: the validation split's file .*fold2_test\.txt"
    ) as err:
        SPECS["ecpe_zh"].build(root, "fold1")
    assert err.value.split == "validation" and err.value.missing_path.endswith("fold2_test.txt")
    assert "--splits train test" in str(err.value)
    with pytest.raises(MissingSplitError, match=r"the validation split was asked for, but its file .*fold2_test"):
        SPECS["ecpe_zh"].build(root, "fold1", splits=["validation", "test"])
    with pytest.raises(ValueError, match=r"unknown split 'dev'; this config has the splits"):
        SPECS["ecpe_zh"].build(root, "fold1", splits=["dev"], lenient=False)


def test_zh_known_duplicate_1807_is_dropped_and_reported(tmp_path):
    duplicate = zh_doc("1807", "w1070")
    root = write_zh_corpus(tmp_path, ["1070", "11", "12"], {9: ["11"], 10: ["12"]}, extra=duplicate)
    report = RepairReport()
    dataset = SPECS["ecpe_zh"].build(root, "fold10", report=report, splits=["train", "test"])
    assert dataset["test"]["id"] == ["12"] and dataset["train"]["id"] == ["1070", "11"]
    assert report.counts["known duplicate document dropped from a fold file"] == 1
    assert "1807 duplicates document 1070" in report.summary()


def test_zh_test_document_missing_from_all_data_raises(tmp_path):
    root = write_zh_corpus(tmp_path, ["1", "2"], {1: ["1"]}, extra=zh_doc("99", "x"))
    with pytest.raises(CorpusFormatError, match=r"fold1_test\.txt: document 99: this test document is missing"):
        SPECS["ecpe_zh"].build(root, "fold1", splits=["train", "test"], lenient=False)
    # 1807 is only excused when it really duplicates document 1070
    root2 = write_zh_corpus(tmp_path / "b", ["1070", "2"], {1: ["2"]}, extra=zh_doc("1807", "other"))
    with pytest.raises(CorpusFormatError, match=r"document 1807: this test document is missing"):
        SPECS["ecpe_zh"].build(root2, "fold1", splits=["train", "test"], lenient=False)


def test_zh_fold_document_differing_from_all_data_raises(tmp_path):
    root = write_zh_corpus(tmp_path, ["1", "2"], {1: []}, extra=zh_doc("2", "changed"))
    with pytest.raises(CorpusFormatError, match=r"fold1_test\.txt: document 2: differs from document 2"):
        SPECS["ecpe_zh"].build(root, "fold1", splits=["train", "test"], lenient=False)


def test_zh_missing_files_and_unknown_config(tmp_path):
    with pytest.raises(FileNotFoundError, match="all_data_pair.txt not found"):
        SPECS["ecpe_zh"].build(tmp_path, "fold1")
    with pytest.raises(ValueError, match="unknown config 'fold11'"):
        SPECS["ecpe_zh"].build(tmp_path, "fold11", lenient=False)


def test_en_fold_files_become_splits(tmp_path):
    base = tmp_path / EN_SUBDIR
    base.mkdir(parents=True)
    doc = "{} 2\n (2, 1),\n1,null,null,the dog ran away\n2,sadness,sad,so we were sad\n"
    (base / "fold3_train.txt").write_text(doc.format(1) + doc.format(2))
    (base / "fold3_val.txt").write_text(doc.format(3))
    (base / "fold3_test.txt").write_text(doc.format(4))
    dataset = SPECS["ecpe_en"].build(tmp_path, "fold3")
    assert {split: ds["id"] for split, ds in dataset.items()} == {
        "train": ["1", "2"],
        "validation": ["3"],
        "test": ["4"],
    }
    (base / "fold3_val.txt").write_text(doc.format(2))
    with pytest.raises(CorpusFormatError, match=r"fold3_val\.txt: document 2: also in the train split"):
        SPECS["ecpe_en"].build(tmp_path, "fold3", lenient=False)
    with pytest.raises(FileNotFoundError, match="fold4_train.txt"):
        SPECS["ecpe_en"].build(tmp_path, "fold4")


def test_registry_and_specs():
    assert get_corpus("ecpe_zh").folder == "ecpe-zh" and get_corpus("ecpe_en").folder == "ecpe-en"
    assert SPECS["ecpe_zh"].configs == FOLD_CONFIGS == tuple(f"fold{k}" for k in range(1, 11))


# ---- real corpora (HF_ECPE_DATA) ----------------------------------------------------------------------------


def distinct_pairs(rows) -> int:
    return sum(len({(p["emotion"], p["cause"]) for p in row["pairs"]}) for row in rows)


def test_real_ecpe_zh_counts(data_root):
    folder = corpus_dir(data_root, "ecpe-zh")
    report = RepairReport()
    rows = read_nustm_file(folder / ZH_SUBDIR / "all_data_pair.txt", "zh", report=report)  # strict mode works
    validate_rows(rows)
    assert len(rows) == 1945 and sum(len(row["units"]) for row in rows) == 28727
    assert distinct_pairs(rows) == 2147  # 2,167 listed; 20 listings repeat a pair for a 2nd annotation
    assert sum(len(row["pairs"]) for row in rows) == 2154  # 7 clauses keep two keywords/categories
    assert report.counts["multi-emotion clause (pair listed once per annotation)"] == 20
    assert report.counts["duplicate pair removed"] == 13
    assert report.counts["mixed multi-emotion clause: unit label = first category"] == 6
    # no unit keeps a space between CJK characters, and every keyword was found exactly
    assert all(p["emotion_span"] != [-1, -1] for row in rows for p in row["pairs"])
    dataset = SPECS["ecpe_zh"].build(folder, "fold1")
    assert {split: ds.num_rows for split, ds in dataset.items()} == {"train": 1553, "validation": 197, "test": 195}
    for split in dataset.values():
        validate_rows(split)


def test_real_ecpe_en_counts(data_root):
    folder = corpus_dir(data_root, "ecpe-en")
    all_path = folder / EN_SUBDIR / "all_data_pair.txt"
    with pytest.raises(CorpusFormatError, match=r"document 1663, clause 3: emotion keyword 'joyfull'"):
        read_nustm_file(all_path, "en", lenient=False)
    report = RepairReport()
    rows = read_nustm_file(all_path, "en", lenient=True, report=report)
    validate_rows(rows)
    assert len(rows) == 2843 and sum(len(row["pairs"]) for row in rows) == 3215 == distinct_pairs(rows)
    assert sum(len(row["units"]) for row in rows) == 21801
    assert sum(report.counts.values()) == 2  # 'joyfull' (doc 1663) and 'Wonderful' (doc 1958)
    dataset = SPECS["ecpe_en"].build(folder, "fold1", lenient=True)
    assert {split: ds.num_rows for split, ds in dataset.items()} == {"train": 2275, "validation": 284, "test": 284}
    assert sum(len(pairs) for pairs in dataset["test"]["pairs"]) == 319
    for split in dataset.values():
        validate_rows(split)


@pytest.mark.slow
def test_real_all_folds_build(data_root):
    zh, en = corpus_dir(data_root, "ecpe-zh"), corpus_dir(data_root, "ecpe-en")
    test_ids_zh: list[str] = []
    for config in FOLD_CONFIGS:
        report = RepairReport()
        dataset = SPECS["ecpe_zh"].build(zh, config, report=report)
        ids = [set(ds["id"]) for ds in dataset.values()]
        assert sum(map(len, ids)) == len(set().union(*ids)) == 1945, config
        test_ids_zh += dataset["test"]["id"]
        dropped = report.counts["known duplicate document dropped from a fold file"]
        assert dropped == (1 if config in ("fold8", "fold9") else 0), config
        dataset = SPECS["ecpe_en"].build(en, config, lenient=True)
        assert {split: ds.num_rows for split, ds in dataset.items()} == {"train": 2275, "validation": 284, "test": 284}
        assert len(set().union(*(set(ds["id"]) for ds in dataset.values()))) == 2843, config
    assert len(test_ids_zh) == len(set(test_ids_zh)) == 1945  # the 10 test folds partition the corpus
