"""What the user pasted → one ``pipeline("emotion-cause")`` input (plain Python, no Gradio).

Three ways to read the box (:data:`INPUT_MODES`):

- ``"text"``: a document. The whole text goes to the pipeline, which splits it into clauses; line breaks are spaces.
- ``"conversation"``: one utterance per non-empty line. When **every** line starts with a speaker prefix
  (``Ann: ...``, ``Dr. Smith: ...``, ``A：...``) the prefixes become ``speakers``; otherwise the lines are kept whole
  (a single ``Note: ...`` line in an unprefixed conversation is text, not a speaker).
- ``"auto"`` (the default): a conversation when there are at least two non-empty lines and they are not one
  hard-wrapped paragraph (:func:`looks_hard_wrapped`); else a document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

INPUT_MODES = ("auto", "text", "conversation")

#: ``Speaker: utterance``: a name of 1–32 characters that starts with a letter and holds no colon, then ``:`` and a
#: space (or a full-width ``：``), then the utterance. "10:30 we met" and "http://x" are not prefixes.
SPEAKER_PREFIX = re.compile(r"^\s*(?P<speaker>[^\W\d_][^:：\n]{0,31}?)\s*(?::\s+|：\s*)(?P<utterance>\S.*)$")
#: A line that ends a sentence (so the next line may start a new utterance).
_SENTENCE_END = re.compile(r"""[.!?;…。！？；)"'”’»\]]\s*$""")


class InputError(ValueError):
    """The pasted text cannot be read (empty, or only blank lines): the message says what to paste."""


@dataclass(frozen=True)
class ParsedInput:
    """One pasted input as the pipeline takes it.

    ``kind`` is ``"document"`` (``pipeline_input`` is the text) or ``"conversation"`` (``pipeline_input`` is
    ``{"utterances": [...], "speakers": [...]}``, speakers only when every line had a prefix); ``text`` is the
    document's text (the pipeline's character offsets index it), ``None`` for conversations.
    """

    kind: str
    pipeline_input: Any
    text: str | None = None
    utterances: list[str] = field(default_factory=list)
    speakers: list[str] | None = None

    def describe(self) -> str:
        """One line saying how the input was read, e.g. ``conversation of 3 utterances (speakers Ann, Ben)``."""
        if self.kind == "document":
            return "text (split into clauses)"
        count = len(self.utterances)
        line = f"conversation of {count} utterance{'s' if count != 1 else ''}"
        if self.speakers:
            line += f" (speakers {', '.join(dict.fromkeys(self.speakers))})"
        return line


def split_speaker(line: str) -> tuple[str, str] | None:
    """``(speaker, utterance)`` when ``line`` starts with a speaker prefix (:data:`SPEAKER_PREFIX`), else ``None``."""
    match = SPEAKER_PREFIX.match(line)
    if match is None:
        return None
    return match.group("speaker").strip(), match.group("utterance").strip()


def looks_hard_wrapped(lines: list[str]) -> bool:
    """Whether ``lines`` read as one paragraph broken mid-sentence: some line ends without sentence punctuation and
    the next one starts with a lower-case letter (``"she was furious that\\nthe airline ..."``)."""
    for line, following in zip(lines, lines[1:]):
        if not _SENTENCE_END.search(line) and following[:1].islower():
            return True
    return False


def parse_input(text: str, mode: str = "auto") -> ParsedInput:
    """Read the pasted ``text`` as ``mode`` (one of :data:`INPUT_MODES`; see the module docstring).

    Raises :class:`InputError` for text without any non-blank line and ``ValueError`` for an unknown mode.
    """
    if mode not in INPUT_MODES:
        raise ValueError(f"unknown input mode {mode!r}; choose one of {list(INPUT_MODES)}")
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise InputError("Paste a text or a conversation (one utterance per line) first.")
    if mode == "auto":
        mode = "conversation" if len(lines) >= 2 and not looks_hard_wrapped(lines) else "text"
    if mode == "text":
        document = " ".join(lines)
        return ParsedInput(kind="document", pipeline_input=document, text=document)
    prefixed = [split_speaker(line) for line in lines]
    if all(prefixed):
        speakers = [speaker for speaker, _ in prefixed]
        utterances = [utterance for _, utterance in prefixed]
        return ParsedInput(
            kind="conversation",
            pipeline_input={"utterances": utterances, "speakers": speakers},
            utterances=utterances,
            speakers=speakers,
        )
    return ParsedInput(kind="conversation", pipeline_input={"utterances": lines}, utterances=lines)


__all__ = ["INPUT_MODES", "SPEAKER_PREFIX", "InputError", "ParsedInput", "looks_hard_wrapped", "parse_input"]
