"""Parse an LLM completion (grammar in :mod:`hf_ecpe.llm.prompts`) back into checked triplets.

Tolerant of form, strict about content:

- form noise that is accepted: blank lines, surrounding whitespace, list numbering or bullets (``1.``, ``2)``,
  ``-``, ``*``), missing outer parentheses, a trailing ``,``/``;``/``.``, unit markers written ``U3``, ``u3``,
  ``[3]``, ``Unit 3``, ``Utterance 3``, ``Clause 3``, ``3``, or left out, ``:``/``=`` after the unit or none, spans
  in JSON double quotes, curly quotes or single quotes (an unescaped ``"`` inside a span is recovered when the line
  still has the triplet structure), ``;`` or ``|`` instead of ``,`` between the fields, a quoted category, any case
  of the category and :func:`hf_ecpe.data.schema.normalize_emotion` spellings (``happy`` → ``happiness``) when
  the result is in the label set, whitespace around a span (stripped), the empty marker in any case. A field that
  is a unit marker alone (``U3``, ``[3]``, ``Utterance 3``; a bare ``3`` is not enough) means the whole unit
  without its surrounding whitespace (the grammar's short form).
- content that is rejected (the triplet is dropped and counted): a span that does not occur verbatim in its unit
  (``dropped_spans``; an out-of-range unit number, or a bare unit that is blank, counts here too), a category
  outside the label set (``dropped_categories``). A line that has no triplet structure is counted in ``malformed_lines``. The text is
  never evaluated as code (no ``eval``/``literal_eval``; spans are decoded with ``json.loads`` of one string
  literal, falling back to the raw characters).

A span occurring several times in its unit maps to the first occurrence that starts and ends on whitespace-token
boundaries, else the first that does not cut a word, else the first one (so a SemEval gold span, located by
whitespace-token matching, is recovered exactly). When the unit number is missing, the first unit containing the
span is used. Duplicate triplets are removed (counted in ``duplicates``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..data.schema import normalize_emotion
from .prompts import EMPTY_MARKER, flatten_unit, whole_unit_span

_BULLET = re.compile(r"^\s*(?:[-*•]+|\d{1,3}\s*[.)]|\(\d{1,3}\)|#\d{1,3}[.:)]?)\s+")
_UNIT_WORD = r"(?:u|unit|utterance|clause)\s*#?\s*"
_SEP = r"\s*[,;|]\s*"
_CATEGORY = r"[\"'“”‘’]?\s*(?P<category>[^\s\"'“”‘’,;|()][^\"“”,;|()]*?)\s*[\"'“”‘’]?"


def _json_span(group: str) -> str:
    """A JSON string literal (quotes included in the group; decoded with ``json.loads``)."""
    return rf'(?P<{group}>"(?:[^"\\]|\\.)*")'


def _loose_span(group: str) -> str:
    """Text between any pair of quotes, mismatched too (quotes excluded); backtracking finds the field split."""
    return rf"[\"'“‘「](?P<{group}>.*?)[\"'”’」]"


def _field(role: str, span: Callable[[str], str]) -> str:
    """A span field: ``U3: "span"`` (unit marker optional) or a bare unit ``U3`` / ``[3]`` (marker required)."""
    quoted = rf"(?:\[\s*)?(?:{_UNIT_WORD})?(?P<{role}_unit>\d{{1,4}})?\s*\]?\s*[:=]?\s*{span(f'{role}_span')}"
    bare = rf"(?:\[\s*|{_UNIT_WORD})(?P<{role}_whole>\d{{1,4}})\s*\]?"
    return rf"(?:{quoted}|{bare})"


def _line_pattern(span: Callable[[str], str]) -> re.Pattern[str]:
    return re.compile(
        rf"^{_field('emotion', span)}{_SEP}{_field('cause', span)}{_SEP}{_CATEGORY}$", re.IGNORECASE | re.DOTALL
    )


_STRICT_LINE = _line_pattern(_json_span)
_LOOSE_LINE = _line_pattern(_loose_span)


@dataclass
class ParseResult:
    """Triplets recovered from one completion, and what was dropped on the way.

    ``triplets``: dicts with ``emotion_unit``, ``emotion_start``, ``emotion_end``, ``cause_unit``, ``cause_start``,
    ``cause_end`` (0-based unit index, ``[start, end)`` character offsets into that unit) and ``category``.
    """

    triplets: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0
    malformed_lines: int = 0
    dropped_spans: int = 0
    dropped_categories: int = 0
    duplicates: int = 0
    empty_marker: bool = False

    @property
    def well_formed(self) -> bool:
        """True when every non-blank line parsed (valid or content-rejected triplet, or the empty marker) and the
        completion was not blank."""
        return self.malformed_lines == 0 and self.lines > 0

    def counts(self) -> dict[str, int]:
        """The counters as a dict (for logging and aggregation)."""
        data = asdict(self)
        data.pop("triplets")
        data["empty_marker"] = int(self.empty_marker)
        return data


def _decode_span(raw: str, json_literal: bool) -> str:
    if json_literal:
        try:
            value = json.loads(raw)
            if isinstance(value, str):
                return value
        except json.JSONDecodeError:
            pass
        return raw[1:-1]
    return raw


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def find_span(unit: str, span: str) -> tuple[int, int] | None:
    """``[start, end)`` of ``span`` in ``unit`` by the occurrence preference in the module docstring, or ``None``."""
    if not span:
        return None
    starts = []
    position = unit.find(span)
    while position != -1:
        starts.append(position)
        position = unit.find(span, position + 1)
    if not starts:
        return None
    end_of = len(span)

    def on_whitespace(s: int) -> bool:
        e = s + end_of
        return (s == 0 or unit[s - 1].isspace()) and (e == len(unit) or unit[e].isspace())

    def keeps_words(s: int) -> bool:
        e = s + end_of
        left_ok = s == 0 or not (_is_word(unit[s - 1]) and _is_word(unit[s]))
        right_ok = e == len(unit) or not (_is_word(unit[e - 1]) and _is_word(unit[e]))
        return left_ok and right_ok

    for accept in (on_whitespace, keeps_words):
        for s in starts:
            if accept(s):
                return s, s + end_of
    return starts[0], starts[0] + end_of


def _match_line(line: str) -> tuple[re.Match[str], bool] | None:
    match = _STRICT_LINE.match(line)
    if match:
        return match, True
    match = _LOOSE_LINE.match(line)
    return (match, False) if match else None


def _clean_line(line: str) -> str:
    line = _BULLET.sub("", line.strip(), count=1).strip()
    line = line.rstrip(",;. ").strip()
    if line.startswith("(") and line.endswith(")"):
        line = line[1:-1].strip()
    elif line.startswith("(") and line.count("(") > line.count(")"):  # a missing closing parenthesis
        line = line[1:].strip()
    return line


def resolve_category(raw: str, labels: Sequence[str]) -> str | None:
    """The label of ``labels`` that ``raw`` names (case-insensitive, or via ``normalize_emotion``), else ``None``."""
    by_key = {label.lower(): label for label in labels}
    key = raw.strip().lower()
    if key in by_key:
        return by_key[key]
    return by_key.get(normalize_emotion(key))


def parse_completion(text: str, units: Sequence[str], labels: Sequence[str]) -> ParseResult:
    """Parse one completion against the input ``units`` (the unit texts shown in the prompt) and the label set.

    Never raises on model output (any string is accepted); raises ``TypeError`` when ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_completion expects the generated text as a str, got {type(text).__name__}")
    shown = [flatten_unit(unit) for unit in units]
    result = ParseResult()
    seen: set[tuple] = set()
    for raw_line in text.splitlines():
        if not raw_line.strip():
            continue
        result.lines += 1
        line = _clean_line(raw_line)
        if line.strip("\"'`*. ").upper() == EMPTY_MARKER:
            result.empty_marker = True
            continue
        matched = _match_line(line)
        if matched is None:
            result.malformed_lines += 1
            continue
        match, json_literal = matched
        located = [_locate_field(match, role, json_literal, shown) for role in ("emotion", "cause")]
        category = resolve_category(match["category"], labels)
        dropped = False
        for where in located:
            if where is None:
                result.dropped_spans += 1
                dropped = True
        if category is None:
            result.dropped_categories += 1
            dropped = True
        if dropped:
            continue
        (eu, es, ee), (cu, cs, ce) = located
        key = (eu, es, ee, cu, cs, ce, category)
        if key in seen:
            result.duplicates += 1
            continue
        seen.add(key)
        result.triplets.append(
            {
                "emotion_unit": eu,
                "emotion_start": es,
                "emotion_end": ee,
                "cause_unit": cu,
                "cause_start": cs,
                "cause_end": ce,
                "category": category,
            }
        )
    return result


def _locate_field(
    match: re.Match[str], role: str, json_literal: bool, units: Sequence[str]
) -> tuple[int, int, int] | None:
    """(unit index, start, end) of the ``role`` field of a matched line, or ``None`` when it is not in the input."""
    whole = match[f"{role}_whole"]
    if whole is not None:
        index = int(whole) - 1
        if not 0 <= index < len(units) or not units[index].strip():
            return None
        return index, *whole_unit_span(units[index])
    span = flatten_unit(_decode_span(match[f"{role}_span"], json_literal)).strip()  # compared with the text shown
    return _locate(span, match[f"{role}_unit"], units)


def _locate(span: str, unit_no: str | None, units: Sequence[str]) -> tuple[int, int, int] | None:
    if not span:
        return None
    if unit_no is not None:
        index = int(unit_no) - 1
        if not 0 <= index < len(units):
            return None
        where = find_span(units[index], span)
        return None if where is None else (index, *where)
    for index, unit in enumerate(units):
        where = find_span(unit, span)
        if where is not None:
            return (index, *where)
    return None


__all__ = ["ParseResult", "find_span", "parse_completion", "resolve_category"]
