"""Span helpers shared by corpus builders and span metrics.

Two coordinate systems meet here:

- **character spans** ``(start, end)``: half-open offsets into a unit's text, the canonical form in our rows;
- **whitespace-token spans** ``(start_tok, end_tok)``: half-open, 0-based offsets into ``text.split()``, the form
  the official SemEval-2024 Task 3 scorer (``NUSTM/SemEval-2024_ECAC``, ``CodaLab/evaluation/evaluate.py``) uses.

:func:`clean_span` and :func:`locate_token_span` reproduce that scorer's ``clean_span`` and ``get_span_position``,
except where the scorer crashes (an all-punctuation span) or returns the ambiguous ``[0, 0]`` (span not found):
we return ``""`` and ``None`` there and let the caller decide.
"""

from __future__ import annotations

import string

PUNCTUATION = frozenset(string.punctuation)


def clean_span(text: str) -> str:
    """Strip surrounding whitespace and leading/trailing ASCII punctuation, repeatedly, until stable.

    ``"  I realize I am totally naked ."`` → ``"I realize I am totally naked"``; ``"... there !"`` → ``"there"``.
    Only the ends are touched (``"don't"`` stays). A text made only of punctuation becomes ``""`` (the official
    scorer raises ``IndexError`` on it).
    """
    span = text
    while True:
        span = span.strip()
        if not span:
            return ""
        if span[0] not in PUNCTUATION and span[-1] not in PUNCTUATION:
            return span
        if span[0] in PUNCTUATION:
            span = span[1:]
        if span and span[-1] in PUNCTUATION:
            span = span[:-1]


def token_offsets(text: str) -> list[tuple[int, int]]:
    """Character ``[start, end)`` of every whitespace token of ``text``, aligned with ``text.split()``."""
    offsets: list[tuple[int, int]] = []
    start: int | None = None
    for i, char in enumerate(text):
        if char.isspace():
            if start is not None:
                offsets.append((start, i))
                start = None
        elif start is None:
            start = i
    if start is not None:
        offsets.append((start, len(text)))
    return offsets


def locate_token_span(utterance: str, span_text: str) -> tuple[int, int] | None:
    """The official scorer's ``get_span_position`` on ``clean_span(span_text)``.

    Returns the 0-based ``[start, end)`` whitespace-token offsets of the FIRST place where the tokens of the cleaned
    span equal a run of the utterance's tokens, or ``None`` when there is none or the cleaned span is empty (the
    scorer gives ``[0, 0]`` in both cases).
    """
    span_tokens = clean_span(span_text).split()
    if not span_tokens:
        return None
    tokens = utterance.split()
    width = len(span_tokens)
    for start in range(len(tokens) - width + 1):
        if tokens[start : start + width] == span_tokens:
            return start, start + width
    return None


def token_span_to_char_span(utterance: str, start_tok: int, end_tok: int) -> tuple[int, int]:
    """Whitespace-token span ``[start_tok, end_tok)`` → character span from its first token's start to its last's end.

    Raises ``ValueError`` unless ``0 <= start_tok < end_tok <= number of tokens``.
    """
    offsets = token_offsets(utterance)
    if not 0 <= start_tok < end_tok <= len(offsets):
        raise ValueError(
            f"token span [{start_tok}, {end_tok}) is not a non-empty span of the {len(offsets)} whitespace tokens "
            f"of {utterance!r}"
        )
    return offsets[start_tok][0], offsets[end_tok - 1][1]


def char_span_to_token_span(utterance: str, start: int, end: int, *, expand: bool = False) -> tuple[int, int]:
    """Character span ``[start, end)`` → whitespace-token span ``[start_tok, end_tok)``.

    By default the span must align with token boundaries: ``start`` at a token's first character and ``end`` just
    after a token's last one, else ``ValueError``. With ``expand=True`` it is rounded outward to every token it
    overlaps (a span covering only whitespace still raises). Inverse of :func:`token_span_to_char_span`.
    """
    if not 0 <= start < end <= len(utterance):
        raise ValueError(
            f"character span [{start}, {end}) is not a non-empty span of a text of length {len(utterance)}"
        )
    offsets = token_offsets(utterance)
    covered = [k for k, (tok_start, tok_end) in enumerate(offsets) if tok_start < end and start < tok_end]
    if not covered:
        raise ValueError(f"character span [{start}, {end}) of {utterance!r} covers only whitespace")
    first, last = covered[0], covered[-1]
    if not expand and (offsets[first][0] != start or offsets[last][1] != end):
        raise ValueError(
            f"character span [{start}, {end}) = {utterance[start:end]!r} does not align with whitespace tokens of "
            f"{utterance!r} (nearest aligned span: [{offsets[first][0]}, {offsets[last][1]}); pass expand=True to "
            "round outward)"
        )
    return first, last + 1


def find_char_span(unit: str, span_text: str, *, near: int | None = None) -> tuple[int, int] | None:
    """Exact substring search: ``[start, end)`` of ``span_text`` in ``unit``, or ``None`` when absent or empty.

    Without ``near`` the first occurrence; with ``near`` the occurrence whose start is closest to character ``near``
    (ties → the earlier one). Overlapping occurrences are considered.
    """
    if not span_text:
        return None
    starts: list[int] = []
    position = unit.find(span_text)
    while position != -1:
        starts.append(position)
        if near is None:
            break
        position = unit.find(span_text, position + 1)
    if not starts:
        return None
    best = starts[0] if near is None else min(starts, key=lambda s: (abs(s - near), s))
    return best, best + len(span_text)


__all__ = [
    "PUNCTUATION",
    "char_span_to_token_span",
    "clean_span",
    "find_char_span",
    "locate_token_span",
    "token_offsets",
    "token_span_to_char_span",
]
