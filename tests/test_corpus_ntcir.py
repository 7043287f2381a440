"""NTCIR-13 ECA / Gui et al. XML converter, on synthetic XML written here (the corpus is licensed and not available)."""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest

from hf_ecpe.data import CorpusFormatError, validate_rows
from hf_ecpe.data.corpora import RepairReport, get_corpus
from hf_ecpe.data.corpora.ntcir import SPECS, find_ntcir_files, parse_ntcir_xml

NAMESPACE = "http://www.w3.org/2009/10/emotionml"


def clause(
    cid: int,
    text: str,
    cause: str | None = None,
    keyword: str | None = None,
    cause_shift: int = 0,
    keyword_shift: int = 0,
    cause_flag: str | None = None,
) -> str:
    """One <clause>; begin offsets computed from the text (plus an optional error), like the corpus files."""
    parts = [f"<text>{escape(text)}</text>"]
    if cause is not None:
        begin = text.find(cause) + cause_shift if cause in text else 0
        parts.append(f'<cause id="1" begin="{begin}" lenth="{len(cause)}">{escape(cause)}</cause>')
    if keyword is not None:
        begin = text.find(keyword) + keyword_shift
        parts.append(
            f'<keywords keywords-begin="{begin}" keywords-lenth="{len(keyword)}">{escape(keyword)}</keywords>'
        )
    flag_c = cause_flag or ("Y" if cause is not None else "N")
    flag_k = "Y" if keyword is not None else "N"
    return f'<clause id="{cid}" cause="{flag_c}" keywords="{flag_k}">{"".join(parts)}</clause>'


def emotion(doc_id: str, category: str, *clauses: str) -> str:
    return f'<emotion id="{doc_id}"><category name="{category}" value=""/>{"".join(clauses)}</emotion>'


def emotionml(*emotions: str, namespace: bool = False) -> str:
    xmlns = f' xmlns="{NAMESPACE}"' if namespace else ""
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<emotionml{xmlns}>\n' + "\n".join(emotions) + "\n</emotionml>\n"


EN_XML = emotionml(
    emotion(
        "1",
        "happiness",
        clause(1, "When the letter arrived", cause="the letter arrived"),
        clause(2, " she was overjoyed", keyword="overjoyed"),
        clause(3, "and called her mother"),
    ),
    emotion(
        "2",
        "Sad",
        clause(1, "His old dog died last week", cause="His old dog died"),
        clause(2, "and the cat ran off too", cause="the cat ran off"),
        clause(3, "so he felt grief", keyword="grief"),
    ),
)


def span_text(row: dict, pair: dict, key: str) -> str:
    unit = row["units"][pair["cause" if key == "cause_span" else "emotion"]]
    return unit[pair[key][0] : pair[key][1]]


def test_english_xml_conversion():
    report = RepairReport()
    rows = parse_ntcir_xml(EN_XML, "en.xml", language="en", report=report)
    validate_rows(rows)
    assert not report
    first, second = rows
    assert first["id"] == "1" and first["kind"] == "document" and first["language"] == "en"
    assert first["units"] == ["When the letter arrived", "she was overjoyed", "and called her mother"]
    assert first["emotions"] == ["neutral", "happiness", "neutral"] and first["speakers"] == []
    (pair,) = first["pairs"]
    assert (pair["emotion"], pair["cause"], pair["category"]) == (1, 0, "happiness")
    # offsets are read against the clause as written (" she was ...") and moved into the stripped unit
    assert span_text(first, pair, "cause_span") == "the letter arrived"
    assert span_text(first, pair, "emotion_span") == "overjoyed" and pair["emotion_span"] == [8, 17]
    assert second["emotions"] == ["neutral", "neutral", "sadness"]  # "Sad" normalised
    assert [(p["emotion"], p["cause"]) for p in second["pairs"]] == [(2, 0), (2, 1)]
    assert [span_text(second, p, "cause_span") for p in second["pairs"]] == ["His old dog died", "the cat ran off"]


def test_concatenated_namespaced_chinese_documents():
    doc_a = emotionml(
        emotion(
            "7", "anger", clause(1, "他被骗走三万元", cause="被骗走三万元"), clause(2, "十分愤怒", keyword="愤怒")
        ),
        namespace=True,
    )
    doc_b = emotionml(
        emotion("8", "fear", clause(1, "听到巨响后感到害怕", cause="听到巨响", keyword="害怕")), namespace=True
    )
    rows = parse_ntcir_xml(doc_a + doc_b, "zh.xml", language="zh")
    validate_rows(rows)
    assert [row["id"] for row in rows] == ["7", "8"]
    assert rows[0]["pairs"][0]["cause_span"] == [1, 7] and rows[0]["pairs"][0]["emotion_span"] == [2, 4]
    (pair,) = rows[1]["pairs"]  # emotion and cause in the same clause
    assert (pair["emotion"], pair["cause"], pair["category"]) == (0, 0, "fear")
    assert span_text(rows[1], pair, "cause_span") == "听到巨响" and span_text(rows[1], pair, "emotion_span") == "害怕"


def test_document_without_cause_keeps_no_pairs():
    xml = emotionml(emotion("3", "surprise", clause(1, "what a surprise", keyword="surprise")))
    (row,) = parse_ntcir_xml(xml, language="en")
    assert row["pairs"] == [] and row["emotions"] == ["surprise"]


@pytest.mark.parametrize("shift", [1, 2, -1, -2])
def test_off_by_a_few_offsets_strict_raises_lenient_relocates(shift):
    xml = emotionml(
        emotion(
            "5",
            "fear",
            clause(1, "the storm broke the windows", cause="broke the windows", cause_shift=shift),
            clause(2, "they were scared", keyword="scared"),
        )
    )
    with pytest.raises(
        CorpusFormatError, match=r"x\.xml: emotion 5, clause 1, cause: span text 'broke the windows'.*lenient"
    ):
        parse_ntcir_xml(xml, "x.xml", language="en", lenient=False)
    report = RepairReport()
    (row,) = parse_ntcir_xml(xml, "x.xml", language="en", lenient=True, report=report)
    assert span_text(row, row["pairs"][0], "cause_span") == "broke the windows"
    assert report.counts["span offset repaired (lenient)"] == 1


def test_relocation_picks_occurrence_nearest_to_begin_and_keyword_repairs():
    text = "sad news , sad news again"
    xml = emotionml(
        emotion("6", "sadness", clause(1, text, cause="sad news", keyword="sad", keyword_shift=1)),
    ).replace('begin="0" lenth="8"', 'begin="13" lenth="8"')  # nearest occurrence: the second one, at 11
    report = RepairReport()
    (row,) = parse_ntcir_xml(xml, language="en", lenient=True, report=report)
    assert row["pairs"][0]["cause_span"] == [11, 19] and row["pairs"][0]["emotion_span"] == [0, 3]
    assert report.counts["span offset repaired (lenient)"] == 2


def test_negative_begin_and_absent_span_text():
    xml = emotionml(
        emotion(
            "9",
            "anger",
            clause(1, "the referee cheated", cause="the referee cheated"),
            clause(2, "fans were angry", keyword="angry"),
        )
    ).replace('begin="0"', 'begin="-1"')
    report = RepairReport()
    (row,) = parse_ntcir_xml(xml, language="en", lenient=True, report=report)
    assert row["pairs"][0]["cause_span"] == [0, 19] and report.counts["span offset repaired (lenient)"] == 1
    absent = xml.replace(">the referee cheated</cause>", ">the coach lied</cause>")
    report = RepairReport()
    (row,) = parse_ntcir_xml(absent, language="en", lenient=True, report=report)
    assert row["pairs"][0]["cause_span"] == [-1, -1] and row["pairs"][0]["emotion_span"] == [10, 15]
    assert report.counts["span text not in its clause (lenient)"] == 1


def test_mangled_closing_tag():
    xml = emotionml(
        emotion("4", "happiness", clause(1, "we won", cause="we won"), clause(2, "so happy", keyword="happy"))
    )
    mangled = xml.replace("we won</text>", "we won?/text>")
    with pytest.raises(CorpusFormatError, match=r"m\.xml: line 3: mangled closing tag '\?/text>'.*lenient=True"):
        parse_ntcir_xml(mangled, "m.xml", language="en", lenient=False)
    report = RepairReport()
    assert parse_ntcir_xml(mangled, "m.xml", language="en", lenient=True, report=report) == parse_ntcir_xml(
        xml, language="en"
    )
    assert report.counts["closing tag restored (lenient)"] == 1


def test_noise_dropped_in_lenient_mode():
    xml = emotionml(
        emotion(
            "1",
            "fear",
            clause(1, "   "),
            clause(2, "a dog barked", cause="a dog barked"),
            clause(3, "she was afraid", keyword="afraid"),
        ),
        emotion("2", "fear", clause(1, "nothing to see here")),
        emotion("3", "fear"),
    )
    with pytest.raises(CorpusFormatError, match=r"emotion 1, clause 1: the clause has no text"):
        parse_ntcir_xml(xml, language="en", lenient=False)
    report = RepairReport()
    rows = parse_ntcir_xml(xml, language="en", lenient=True, report=report)
    assert [row["id"] for row in rows] == ["1"] and rows[0]["units"][0] == "a dog barked"
    assert rows[0]["pairs"][0]["emotion"] == 1 and rows[0]["pairs"][0]["cause"] == 0
    assert report.counts["empty clause dropped (lenient)"] == 1
    assert report.counts["document dropped (lenient)"] == 2


def test_flag_mismatch_and_repeated_id():
    xml = emotionml(
        emotion(
            "1",
            "fear",
            clause(1, "a dog barked", cause="a dog barked", cause_flag="N"),
            clause(2, "she was afraid", keyword="afraid"),
        ),
        emotion("1", "fear", clause(1, "she was afraid", keyword="afraid")),
    )
    with pytest.raises(CorpusFormatError, match=r"emotion 1, clause 1: cause=\"N\" with 1 <cause> elements"):
        parse_ntcir_xml(xml, language="en", lenient=False)
    report = RepairReport()
    rows = parse_ntcir_xml(xml, language="en", lenient=True, report=report)
    assert [row["id"] for row in rows] == ["1", "1#2"] and len(rows[0]["pairs"]) == 1
    assert report.counts["cause flag disagrees with its elements (lenient)"] == 1
    assert report.counts["repeated emotion id (lenient)"] == 1


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (
            emotionml(emotion("1", "fear", clause(1, "x", keyword="x")))[:-20],
            r"line \d+, column \d+: XML is not well-formed",
        ),
        ("<emotionml></emotionml>", r"file: no documents \(no <emotion> element found\)"),
        (emotionml(emotion("", "fear", clause(1, "x", keyword="x"))), r"<emotion> number 1: missing attribute 'id'"),
        (
            emotionml('<emotion id="4"><clause id="1" cause="N" keywords="N"><text>x</text></clause></emotion>'),
            r"emotion 4: expected one <category name=\.\.\.>, found 0",
        ),
        (
            emotionml(emotion("1", "fear", clause(1, "afraid", keyword="afraid"))).replace(
                'keywords-begin="0"', 'keywords-begin="a"'
            ),
            r"emotion 1, clause 1, keywords: attribute 'keywords-begin' must be an integer, got 'a'",
        ),
        (
            emotionml(emotion("1", "fear", clause(1, "afraid", keyword="afraid"))).replace(
                'keywords="Y"', 'keywords="maybe"'
            ),
            r"emotion 1, clause 1: attribute 'keywords' must be 'Y' or 'N', got 'maybe'",
        ),
        (
            emotionml(emotion("1", "fear", clause(1, "afraid", keyword="afraid"))).replace(
                ">afraid</keywords>", "></keywords>"
            ),
            r"emotion 1, clause 1, keywords: the span element has no text",
        ),
    ],
)
def test_malformed_xml_raises_naming_file_and_place(xml, message):
    with pytest.raises(CorpusFormatError, match=r"bad\.xml: " + message):
        parse_ntcir_xml(xml, "bad.xml", language="en", lenient=True)


def test_build_finds_known_files_single_file_and_encodings(tmp_path):
    task = tmp_path / "13th NTCIR ECA Task"
    task.mkdir()
    (task / "ECA_training_English.xml").write_text(EN_XML, encoding="utf-8")
    (task / "cause_emotion_eng_test.xml").write_text(
        emotionml(
            emotion("10", "fear", clause(1, "a loud bang", cause="a loud bang"), clause(2, "scared", keyword="scared"))
        ),
        encoding="utf-8",
    )
    dataset = SPECS["ntcir_eca"].build(tmp_path, "en")
    assert (
        list(dataset) == ["train", "test"] and dataset["train"]["id"] == ["1", "2"] and dataset["test"]["id"] == ["10"]
    )
    with pytest.raises(FileNotFoundError, match="ECA_training_Chinese.xml"):
        SPECS["ntcir_eca"].build(tmp_path, "zh")
    # one XML file of any name (e.g. the Gui et al. corpus) → train, here declared gb2312
    single = tmp_path / "gui"
    single.mkdir()
    xml = emotionml(
        emotion("1", "happiness", clause(1, "考试通过了", cause="考试通过"), clause(2, "我很开心", keyword="开心"))
    )
    (single / "emotion_cause.xml").write_bytes(xml.replace("UTF-8", "gb2312").encode("gb2312"))
    dataset = SPECS["ntcir_eca"].build(single, "zh")
    assert list(dataset) == ["train"] and dataset["train"][0]["units"] == ["考试通过了", "我很开心"]
    validate_rows(dataset["train"])
    (single / "other.xml").write_text(xml, encoding="utf-8")
    with pytest.raises(FileNotFoundError, match=r"found several XML files \['emotion_cause.xml', 'other.xml'\]"):
        find_ntcir_files(single, "zh")


def test_registry():
    spec = get_corpus("ntcir_eca")
    assert spec.folder == "ntcir-eca" and spec.configs == ("zh", "en")
