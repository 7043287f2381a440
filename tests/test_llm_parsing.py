"""Completion parser: tolerant of form noise, strict about content, round-trips rendered gold (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hf_ecpe.llm.parsing import find_span, parse_completion
from hf_ecpe.llm.prompts import render_completion

LABELS = ("anger", "joy", "sadness", "happiness")
UNITS = ["I lost my job today .", "Oh no , that is terrible !", 'But I\'m getting a "puppy" .']


def _triplet(eu, es, ee, cu, cs, ce, category):
    return dict(
        emotion_unit=eu,
        emotion_start=es,
        emotion_end=ee,
        cause_unit=cu,
        cause_start=cs,
        cause_end=ce,
        category=category,
    )


def test_exact_rendering_parses():
    gold = [_triplet(1, 16, 24, 0, 0, 13, "sadness"), _triplet(2, 4, 25, 2, 0, 3, "joy")]
    result = parse_completion(render_completion(gold, UNITS), UNITS, LABELS)
    assert result.triplets == gold and result.well_formed
    assert result.counts() == dict(
        lines=2, malformed_lines=0, dropped_spans=0, dropped_categories=0, duplicates=0, empty_marker=0
    )


def test_form_noise_is_tolerated():
    noisy = "\n".join(
        [
            "  1. U2: 'terrible' ; [1] “I lost my job”; Sadness.",
            '- (utterance 3 "I\'m getting a "puppy"", U3 = "But", \'happy\')',
            '* (U2: "  terrible ", U1: "I lost my job", sadness',  # duplicate of line 1, no closing parenthesis
            "",
        ]
    )
    result = parse_completion(noisy, UNITS, LABELS)
    assert result.triplets == [_triplet(1, 16, 24, 0, 0, 13, "sadness"), _triplet(2, 4, 25, 2, 0, 3, "happiness")]
    assert result.duplicates == 1 and result.malformed_lines == 0 and result.lines == 3


def test_content_is_strict_and_counted():
    text = "\n".join(
        [
            '(U2: "terrible", U1: "I lost my jobs", sadness)',  # cause not verbatim
            '(U9: "terrible", U1: "I lost", sadness)',  # unit out of range
            '(U2: "terrible", U1: "I lost", rage)',  # category outside the label set
            "Sure! Here are the triplets:",  # chatter
            '(U2: "terrible", sadness)',  # missing field
            "none",
        ]
    )
    result = parse_completion(text, UNITS, LABELS)
    assert result.triplets == []
    assert (result.dropped_spans, result.dropped_categories, result.malformed_lines) == (2, 1, 2)
    assert result.empty_marker and not result.well_formed


def test_missing_unit_number_is_inferred():
    result = parse_completion('("terrible", "I lost my job", sadness)', UNITS, LABELS)
    assert result.triplets == [_triplet(1, 16, 24, 0, 0, 13, "sadness")]


def test_empty_marker_and_blank_output():
    assert parse_completion("NONE", UNITS, LABELS).well_formed
    assert parse_completion(" `none`. ", UNITS, LABELS).empty_marker
    blank = parse_completion("  \n ", UNITS, LABELS)
    assert not blank.well_formed and blank.lines == 0
    with pytest.raises(TypeError, match="as a str"):
        parse_completion(None, UNITS, LABELS)  # type: ignore[arg-type]


def test_find_span_prefers_whole_tokens():
    assert find_span("It is I who won", "I") == (6, 7)  # not the "I" inside "It"
    assert find_span("Isaac is", "Is") == (0, 2)  # no occurrence keeps whole words: the first one
    assert find_span("a cat,cat", "cat") == (2, 5)
    assert find_span("我很开心因为考试通过了", "开心") == (2, 4)
    assert find_span("abc", "") is None and find_span("abc", "x") is None


def test_no_eval_of_model_output():
    payload = "(U1: \"__import__('os').system('echo hacked')\", U1: \"I\", joy)"
    result = parse_completion(payload, UNITS, LABELS)
    assert result.triplets == [] and result.dropped_spans == 1


# -- property-based -------------------------------------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@st.composite
def _example(draw):
    units = draw(st.lists(_text, min_size=1, max_size=4))
    triplets = []
    for _ in range(draw(st.integers(0, 4))):
        spans = []
        for _side in range(2):
            unit = draw(st.integers(0, len(units) - 1))
            text = units[unit]
            start = draw(st.integers(0, len(text) - 1))
            end = draw(st.integers(start + 1, len(text)))
            span = text[start:end]
            # the span is identified by its text: keep spans that are unique in their unit and have no outer spaces
            assume(span.strip() == span and text.find(span) == start and text.find(span, start + 1) == -1)
            spans += [unit, start, end]
        triplets.append(_triplet(*spans, draw(st.sampled_from(LABELS))))
    unique = list({tuple(t.values()): t for t in triplets}.values())
    return units, unique


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(_example())
def test_render_parse_roundtrip(example):
    units, gold = example
    result = parse_completion(render_completion(gold, units), units, LABELS)
    assert result.triplets == gold
    assert result.well_formed and result.dropped_spans == result.dropped_categories == result.malformed_lines == 0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.lists(_text, min_size=1, max_size=3))
def test_random_noise_never_crashes(text, units):
    result = parse_completion(text, units, LABELS)
    for t in result.triplets:  # whatever survives is verbatim and in range
        assert units[t["emotion_unit"]].replace("\n", " ")[t["emotion_start"] : t["emotion_end"]].strip()
        assert 0 <= t["cause_start"] < t["cause_end"] <= len(units[t["cause_unit"]])
        assert t["category"] in LABELS
    assert result.lines >= result.malformed_lines + len(result.triplets)


_line_pieces = st.sampled_from(
    [
        '(U1: "',
        '", U2: "',
        '", joy)',
        "(U2, ",
        "U1, joy)",
        "[2]",
        "U",
        "1",
        ":",
        ",",
        '"',
        "'",
        "“",
        "(",
        ")",
        "\\",
        "\n",
        " ",
        "NONE",
        "joy",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_line_pieces, st.text(max_size=5)), max_size=40))
def test_adversarial_grammar_fragments_never_crash(pieces):
    units = ["I was so happy", "because I passed the exam ."]
    result = parse_completion("".join(pieces), units, LABELS)
    assert all(t["category"] == "joy" for t in result.triplets)
