"""Versioned instruction template for span-level emotion–cause–category triplet extraction with a chat LLM.

The prompt (one user message) holds a task description, five rules, a five-step workflow, the label set, the output
grammar and the input, whose units (clauses or utterances) are numbered ``U1``, ``U2``, ... so that every span in
the answer is tied to one unit. The completion (one assistant message) follows a strict line grammar::

    (U3: "so happy", U1: "I passed the exam", joy)
    (U5, U4, sadness)

one triplet ``(emotion unit: "emotion span", cause unit: "cause span", category)`` per line, in gold order, or the
single line ``NONE`` when the input expresses no emotion with a cause. Spans are written as JSON string literals
(``json.dumps(span, ensure_ascii=False)``: ``"`` and ``\\`` escaped, nothing else), so a span containing quotes or
commas is unambiguous, while the line stays short and readable. A span that is a **whole unit** (the unit text
without its surrounding whitespace) is written as the bare unit number (``U5`` above): SemEval-2024 has no emotion
spans (the emotion is the whole utterance) and ECPE causes are whole clauses, so copying them would double the
length of a completion (SemEval train: 237 → 141 tokens on average with SmolLM2's tokenizer) and give a small model
twice as many chances to corrupt a copy, for no information.

Why lines and not a JSON array: a 135M model fine-tuned for a few hundred steps often stops early or drops a
bracket; with one triplet per line a truncated or broken line costs that triplet only (the parser counts it as
malformed and keeps the others), whereas one missing ``]`` invalidates a whole JSON answer. The explicit unit
number makes a span that occurs in several units unambiguous and lets the metric use character offsets.

Changing the wording, the rules or the grammar must bump :data:`PROMPT_VERSION` (it is written to model cards and
benchmark outputs, so results stay comparable).

Instruction ablation (Li et al. 2025, §4: task description only, then + rules, then + workflow): ``build_prompt(...,
instruction=...)`` with one of :data:`INSTRUCTIONS`. ``"workflow"`` (the default, :data:`DEFAULT_INSTRUCTION`) is
the full prompt above, text unchanged; ``"rules"`` leaves out the workflow; ``"task"`` leaves out rules and workflow
and states the empty marker in the output format instead (rule 5 otherwise carries it). Label set, output format and
input are in every variant, so the completion grammar and the parser are the same. The variant is recorded next to
the prompt version (``instruction`` in SFT metrics, model cards and benchmark outputs).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

PROMPT_VERSION = "2"
#: The whole completion when there is no triplet.
EMPTY_MARKER = "NONE"
#: Prefix of a unit number in prompt and completion (``U1`` is the first unit).
UNIT_PREFIX = "U"

TASK_DESCRIPTION = (
    "You extract emotion-cause triplets from a {kind}. A triplet links an emotion expression (a span of text that "
    "conveys an emotion) to the cause of that emotion (a span of text describing what triggered it) and names the "
    "emotion category."
)

RULES = (
    "Follow the output format exactly: one triplet per line, nothing else.",
    "Copy every span verbatim from the input unit it comes from; never modify, shorten, translate or correct the text.",
    "When there are several triplets, output every triplet separately on its own line.",
    "Use only the listed categories.",
    f"If the input expresses no emotion with a cause, output exactly {EMPTY_MARKER}.",
)

WORKFLOW = (
    "Find the emotion expressions and the units they are in.",
    "For each emotion, find the spans that cause it (in the same unit or in an earlier or later one).",
    "Link each emotion expression to each of its causes.",
    "Assign the emotion category of each link.",
    "Format each link as one output line.",
)

OUTPUT_FORMAT = (
    f'({UNIT_PREFIX}<emotion unit number>: "<emotion span>", {UNIT_PREFIX}<cause unit number>: "<cause span>", '
    "<category>)\n"
    f"A span that is a whole {{unit_word}} is written as its number alone, e.g. ({UNIT_PREFIX}2, {UNIT_PREFIX}1, "
    "<category>)."
)

#: Instruction variants of the ablation, each one adding a block to the previous one.
INSTRUCTIONS = ("task", "rules", "workflow")
#: The full prompt (task description, rules and workflow).
DEFAULT_INSTRUCTION = "workflow"
#: Output-format line of the ``"task"`` variant, which has no rule 5 to state the empty marker.
TASK_ONLY_EMPTY_LINE = f"If the input expresses no emotion with a cause, output exactly {EMPTY_MARKER}."

_LINE_BREAKS = {ord(c): " " for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}
_KIND_WORDS = {"document": ("document", "clause"), "conversation": ("conversation", "utterance")}


def quote_span(span: str) -> str:
    """A span as it appears in a completion: a JSON string literal (non-ASCII kept)."""
    return json.dumps(span, ensure_ascii=False)


def flatten_unit(unit: str) -> str:
    """``unit`` with each line break character replaced by one space (length and offsets unchanged)."""
    return unit.translate(_LINE_BREAKS)


def format_units(units: Sequence[str], speakers: Sequence[str] | None = None) -> str:
    """``U1: text`` lines (``U1 (speaker): text`` in conversations).

    Unit text is kept verbatim except that line breaks become spaces (:func:`flatten_unit`, same length), so the
    parser can check copied spans against the very text the model saw and character offsets stay valid."""
    if speakers is not None and len(speakers) not in (0, len(units)):
        raise ValueError(f"got {len(speakers)} speakers for {len(units)} units; give one speaker per unit or none")
    lines = []
    for k, unit in enumerate(units):
        if not isinstance(unit, str):
            raise TypeError(f"unit {k} must be a str, got {type(unit).__name__}")
        speaker = f" ({speakers[k]})" if speakers else ""
        lines.append(f"{UNIT_PREFIX}{k + 1}{speaker}: {flatten_unit(unit)}")
    return "\n".join(lines)


def build_prompt(
    units: Sequence[str],
    labels: Sequence[str],
    *,
    speakers: Sequence[str] | None = None,
    kind: str = "document",
    instruction: str = DEFAULT_INSTRUCTION,
) -> str:
    """The user message for one document (``kind="document"``) or conversation (``kind="conversation"``).

    ``instruction``: ``"task"`` (task description only), ``"rules"`` (+ rules) or ``"workflow"`` (+ rules and
    workflow, the default); see the module docstring."""
    if kind not in _KIND_WORDS:
        raise ValueError(f"kind must be one of {sorted(_KIND_WORDS)}, got {kind!r}")
    if instruction not in INSTRUCTIONS:
        raise ValueError(f"instruction must be one of {list(INSTRUCTIONS)}, got {instruction!r}")
    if not labels:
        raise ValueError("labels is empty: give the emotion categories of the corpus (e.g. ['anger', 'joy'])")
    text_word, unit_word = _KIND_WORDS[kind]
    level = INSTRUCTIONS.index(instruction)
    blocks = [TASK_DESCRIPTION.format(kind=text_word), f"Categories: {', '.join(labels)}"]
    if level >= 1:
        blocks.append("Rules:\n" + "\n".join(f"{k}. {rule}" for k, rule in enumerate(RULES, 1)))
    if level >= 2:
        blocks.append("Workflow:\n" + "\n".join(f"{k}. {step}" for k, step in enumerate(WORKFLOW, 1)))
    output_format = OUTPUT_FORMAT.format(unit_word=unit_word) + ("" if level else f"\n{TASK_ONLY_EMPTY_LINE}")
    blocks.append(f"Output format (one line per triplet, spans in double quotes):\n{output_format}")
    blocks.append(f"The {text_word} ({len(units)} {unit_word}s, numbered):\n{format_units(units, speakers)}")
    return "\n\n".join(blocks)


def whole_unit_span(unit: str) -> list[int]:
    """``[start, end)`` of the whole unit without its surrounding whitespace (empty for a blank unit)."""
    start = len(unit) - len(unit.lstrip())
    return [start, max(start, len(unit.rstrip()))]


def is_whole_unit(unit: str, start: int, end: int) -> bool:
    """True when ``unit[start:end]`` is the whole unit without its surrounding whitespace (written bare)."""
    return end > start and [start, end] == whole_unit_span(unit)


def render_field(unit_index: int, units: Sequence[str], start: int, end: int) -> str:
    """One span field of a completion line: ``U<n>: "<span>"``, or ``U<n>`` for a whole unit (0-based index).

    The span is cut from the unit as the prompt shows it (:func:`flatten_unit`: line breaks → spaces, same offsets),
    so a span never carries a line break such as U+0085 into the one-line-per-triplet grammar."""
    unit = flatten_unit(units[unit_index])
    if is_whole_unit(unit, start, end):
        return f"{UNIT_PREFIX}{unit_index + 1}"
    return f"{UNIT_PREFIX}{unit_index + 1}: {quote_span(unit[start:end])}"


def render_triplet(triplet: Mapping[str, Any], units: Sequence[str]) -> str:
    """One completion line for a triplet dict (``emotion_unit``, ``emotion_start``, ... ``category``; 0-based)."""
    emotion = render_field(triplet["emotion_unit"], units, triplet["emotion_start"], triplet["emotion_end"])
    cause = render_field(triplet["cause_unit"], units, triplet["cause_start"], triplet["cause_end"])
    return f"({emotion}, {cause}, {triplet['category']})"


def render_completion(triplets: Sequence[Mapping[str, Any]], units: Sequence[str]) -> str:
    """The assistant message: one line per triplet (order kept, exact duplicates dropped), or :data:`EMPTY_MARKER`."""
    lines = list(dict.fromkeys(render_triplet(t, units) for t in triplets))
    return "\n".join(lines) if lines else EMPTY_MARKER


def to_messages(prompt: str, completion: str | None = None) -> dict[str, list[dict[str, str]]]:
    """A conversational prompt–completion row (TRL format); without ``completion`` only ``{"prompt": [...]}``."""
    row: dict[str, list[dict[str, str]]] = {"prompt": [{"role": "user", "content": prompt}]}
    if completion is not None:
        row["completion"] = [{"role": "assistant", "content": completion}]
    return row


__all__ = [
    "DEFAULT_INSTRUCTION",
    "EMPTY_MARKER",
    "INSTRUCTIONS",
    "OUTPUT_FORMAT",
    "PROMPT_VERSION",
    "RULES",
    "TASK_DESCRIPTION",
    "UNIT_PREFIX",
    "WORKFLOW",
    "build_prompt",
    "flatten_unit",
    "format_units",
    "is_whole_unit",
    "quote_span",
    "render_completion",
    "render_field",
    "render_triplet",
    "to_messages",
    "whole_unit_span",
]
