"""Span helpers: SemEval-2024 scorer cleaning and token location, char <-> token conversion, substring search."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hf_ecpe.data.spans import (
    char_span_to_token_span,
    clean_span,
    find_char_span,
    locate_token_span,
    token_offsets,
    token_span_to_char_span,
)

# The worked conversation of section 6.1 of the reference-methods document.
U1, U2, U3 = "I lost my job today .", "Oh no , that is terrible !", "But I got a new puppy ."


def official_clean_span(span: str) -> str:
    """The scorer's loop, restated for comparison (it raises IndexError on an all-punctuation span)."""
    while True:
        span = span.strip()
        if span[0] not in string.punctuation and span[-1] not in string.punctuation:
            return span
        if span[0] in string.punctuation:
            span = span[1:]
        if span[-1] in string.punctuation:
            span = span[:-1]


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("I lost my job today .", "I lost my job today"),
        ("  ... there !  ", "there"),
        ('"Hello," she said.', 'Hello," she said'),
        ("don't", "don't"),
        ("(a)", "a"),
        ("plain words", "plain words"),
        ("?!.", ""),
        ("", ""),
        ("   ", ""),
        ("¿qué?", "¿qué"),  # only ASCII punctuation is stripped
    ],
)
def test_clean_span_examples(raw, cleaned):
    assert clean_span(raw) == cleaned


@given(st.text(alphabet=string.ascii_letters[:4] + string.punctuation[:6] + " \t", max_size=20))
def test_clean_span_matches_official_loop_where_it_does_not_crash(text):
    expected = official_clean_span(text) if any(c not in string.punctuation and not c.isspace() for c in text) else ""
    assert clean_span(text) == expected


def test_locate_token_span_worked_conversation():
    assert locate_token_span(U1, "I lost my job today .") == (0, 5)
    assert locate_token_span(U3, "I got a new puppy .") == (1, 6)
    assert locate_token_span(U1, "I lost my job") == (0, 4)
    assert locate_token_span(U2, "terrible") == (5, 6)


def test_locate_token_span_first_match_whole_tokens_and_not_found():
    utterance = "I just ... I just ... I just wanna be married again !"
    assert locate_token_span(utterance, "I just") == (0, 2)
    assert locate_token_span(utterance, "... I just wanna") == (6, 9)  # leading "..." is cleaned away first
    assert locate_token_span(utterance, "marri") is None  # tokens must match whole
    assert locate_token_span(utterance, "married again!") == (10, 12)  # "again!" cleans to "again"
    assert locate_token_span("I said no!", "said no!") is None  # ... but the utterance token stays "no!"
    assert locate_token_span(utterance, "... !") is None  # empty after cleaning (the scorer says [0, 0])
    assert locate_token_span("", "word") is None


def test_token_char_round_trip_on_worked_conversation():
    assert token_span_to_char_span(U1, 0, 5) == (0, len("I lost my job today"))  # the final "." is token 5
    assert token_span_to_char_span(U1, 0, 6) == (0, len(U1))
    assert token_span_to_char_span(U1, 0, 4) == (0, len("I lost my job"))
    start, end = token_span_to_char_span(U3, 1, 6)
    assert U3[start:end] == "I got a new puppy"
    assert char_span_to_token_span(U3, start, end) == (1, 6)


def test_token_span_to_char_span_irregular_whitespace():
    text = "  Oh\tno ,  really  "
    assert token_offsets(text) == [(2, 4), (5, 7), (8, 9), (11, 17)]
    assert token_span_to_char_span(text, 1, 3) == (5, 9)
    assert char_span_to_token_span(text, 5, 9) == (1, 3)


@pytest.mark.parametrize(("start_tok", "end_tok"), [(0, 0), (2, 1), (-1, 2), (0, 7)])
def test_token_span_to_char_span_rejects_bad_spans(start_tok, end_tok):
    with pytest.raises(ValueError, match="whitespace tokens"):
        token_span_to_char_span(U1, start_tok, end_tok)


def test_char_span_to_token_span_alignment_rule():
    # "lost my" = [2, 9); "ost my" starts inside a token, "lost m" ends inside one.
    assert char_span_to_token_span(U1, 2, 9) == (1, 3)
    with pytest.raises(ValueError, match="does not align"):
        char_span_to_token_span(U1, 3, 9)
    with pytest.raises(ValueError, match="does not align"):
        char_span_to_token_span(U1, 2, 8)
    assert char_span_to_token_span(U1, 3, 8, expand=True) == (1, 3)
    # a span with surrounding spaces is not aligned either, but expands to the tokens inside it
    with pytest.raises(ValueError, match="does not align"):
        char_span_to_token_span(U1, 1, 10)
    assert char_span_to_token_span(U1, 1, 10, expand=True) == (1, 3)
    with pytest.raises(ValueError, match="only whitespace"):
        char_span_to_token_span("a   b", 1, 4, expand=True)
    for start, end in [(0, 0), (5, 3), (-1, 2), (0, len(U1) + 1)]:
        with pytest.raises(ValueError, match="not a non-empty span"):
            char_span_to_token_span(U1, start, end)


def test_find_char_span():
    unit = "the cat saw the dog and the bird"
    assert find_char_span(unit, "the") == (0, 3)
    assert find_char_span(unit, "the", near=14) == (12, 15)
    assert find_char_span(unit, "the", near=100) == (24, 27)
    assert find_char_span(unit, "the", near=6) == (0, 3)  # tie between 0 and 12 → the earlier
    assert find_char_span("aaaa", "aa", near=1) == (1, 3)  # overlapping occurrences count
    assert find_char_span(unit, "cow") is None
    assert find_char_span(unit, "") is None


words = st.text(alphabet="ab.,!", min_size=1, max_size=4)
spaces = st.sampled_from([" ", "  ", "\t", "\n", "\u00a0", "\u3000"])


@given(st.lists(st.tuples(words, spaces), max_size=8), spaces)
def test_token_offsets_agree_with_str_split(parts, lead):
    text = lead + "".join(word + space for word, space in parts)
    offsets = token_offsets(text)
    assert [text[s:e] for s, e in offsets] == text.split()


@given(st.lists(words, min_size=1, max_size=8), st.data())
def test_token_char_round_trip_property(tokens, data):
    text = " ".join(tokens)
    start_tok = data.draw(st.integers(0, len(tokens) - 1))
    end_tok = data.draw(st.integers(start_tok + 1, len(tokens)))
    start, end = token_span_to_char_span(text, start_tok, end_tok)
    assert text[start:end] == " ".join(tokens[start_tok:end_tok])
    assert char_span_to_token_span(text, start, end) == (start_tok, end_tok)
