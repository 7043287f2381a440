"""One pipeline / predictor input → ``(units, speakers)``: the input normalisation shared by every backend.

Accepted documents (a ``list`` is always a batch, handled by the caller):

- ``str``: a document, split into clauses with :func:`hf_ecpe.data.clauses.split_clauses` (``language``,
  auto-detected by default). Empty or whitespace-only text has no clause → no units.
- ``{"clauses": [...]}`` / ``{"units": [...]}``: units given by the caller, kept as they are.
- ``{"utterances": [...], "speakers": [...]}``: a conversation; ``speakers`` is optional.
- ``{"text": "..."}``: same as a plain string.

Errors name the problem: a list of units given as a string, a non-string unit or speaker, an empty or whitespace-only
unit, text that is not valid Unicode (a lone surrogate), speakers of another length than the utterances, unknown keys
→ ``TypeError`` / ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ACCEPTED_KEYS = ("text", "clauses", "units", "utterances", "speakers")
#: Keys of canonical rows (hf_ecpe.data.schema) a document dict may also carry: ignored (``id`` is passed through by
#: the pipelines), so that a corpus split (a ``datasets.Dataset``) can be given as it is.
ROW_KEYS = ("id", "kind", "language", "emotions", "pairs", "background_cause", "cause_types", "conversation_emotion")


def check_text(text: str, where: str) -> str:
    """``text`` unchanged, or a ``ValueError`` when it cannot be encoded as UTF-8 (e.g. a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        bad = text[err.start : err.end]
        raise ValueError(
            f"{where} is not valid text: it contains {bad!r} at character {err.start} (a lone surrogate, e.g. from "
            "a broken decoding); fix or remove it, e.g. text.encode('utf-8', 'replace').decode('utf-8')"
        ) from None
    return text


def check_units(units: Any, key: str) -> list[str]:
    """``units`` as a list of non-empty strings, or a ``TypeError`` / ``ValueError`` naming the bad entry."""
    if isinstance(units, str):
        raise TypeError(
            f"{key!r} must be a list of strings, got a single string. Pass the text itself (or {{'text': ...}}) to "
            f"have it split into clauses, or wrap it: {{{key!r}: [text]}}."
        )
    if not isinstance(units, (list, tuple)):
        raise TypeError(f"{key!r} must be a list of strings, got {type(units).__name__}")
    for index, unit in enumerate(units):
        if not isinstance(unit, str):
            raise TypeError(f"{key}[{index}] must be a string, got {type(unit).__name__}: {unit!r:.60}")
        if not unit.strip():
            raise ValueError(
                f"{key}[{index}] is empty or whitespace only; every unit needs text (pair indices refer to the list "
                "you pass, so empty units are not dropped silently — remove them yourself)."
            )
        check_text(unit, f"{key}[{index}]")
    return list(units)


def _split(text: str, language: str | None) -> tuple[list[str], list[list[int]]]:
    """The clauses of raw ``text`` and their ``[start, end)`` character offsets in it."""
    from hf_ecpe.data.clauses import clause_spans, collapse_whitespace

    spans = clause_spans(check_text(text, "the text"), language)
    return [collapse_whitespace(text[start:end]) for start, end in spans], [[start, end] for start, end in spans]


def normalise_input(inputs: Any, language: str | None = None) -> tuple[list[str], list[str] | None]:
    """One document → ``(units, speakers)``; raises ``TypeError`` / ``ValueError`` for malformed inputs."""
    units, speakers, _ = normalise_input_with_offsets(inputs, language)
    return units, speakers


def normalise_input_with_offsets(
    inputs: Any, language: str | None = None
) -> tuple[list[str], list[str] | None, list[list[int]] | None]:
    """One document → ``(units, speakers, offsets)``, as :func:`normalise_input`.

    ``offsets`` (raw text only, else ``None``): per unit its ``[start, end)`` in the text, from the splitter itself
    (:func:`hf_ecpe.data.clauses.clause_spans`), so each unit maps to its own characters even when the text repeats
    a clause or has runs of whitespace: ``text[start:end]`` with its whitespace runs collapsed is the unit.
    """
    if isinstance(inputs, str):
        units, offsets = _split(inputs, language)
        return units, None, offsets
    if isinstance(inputs, Mapping):
        unknown = sorted(set(inputs) - set(ACCEPTED_KEYS) - set(ROW_KEYS))
        if unknown:
            raise ValueError(
                f"unknown input key(s) {unknown}; a document is a string or a dict with one of 'text', 'clauses', "
                "'units' or 'utterances' (plus optional 'speakers'; the other columns of canonical rows are ignored)"
            )
        given = [key for key in ("text", "clauses", "units", "utterances") if key in inputs]
        if len(given) != 1:
            raise ValueError(
                f"a document dict needs exactly one of 'text', 'clauses', 'units', 'utterances'; got {given or 'none'}"
            )
        key = given[0]
        speakers = inputs.get("speakers")
        if isinstance(speakers, (list, tuple)) and len(speakers) == 0:  # canonical documents have speakers []
            speakers = None
        if key == "text":
            if not isinstance(inputs["text"], str):
                raise TypeError(f"'text' must be a string, got {type(inputs['text']).__name__}")
            if speakers is not None:
                raise ValueError("'speakers' goes with 'utterances', not with 'text'")
            units, offsets = _split(inputs["text"], language)
            return units, None, offsets
        units = check_units(inputs[key], key)
        if speakers is None:
            return units, None, None
        if key == "clauses":
            raise ValueError("'speakers' goes with 'utterances' (a conversation), not with 'clauses'")
        if isinstance(speakers, str) or not isinstance(speakers, (list, tuple)):
            raise TypeError(f"'speakers' must be a list of strings, got {type(speakers).__name__}")
        if len(speakers) != len(units):
            raise ValueError(f"got {len(speakers)} speakers for {len(units)} {key}; give one speaker per unit")
        for index, speaker in enumerate(speakers):
            if not isinstance(speaker, str):
                raise TypeError(f"speakers[{index}] must be a string, got {type(speaker).__name__}")
            check_text(speaker, f"speakers[{index}]")
        return units, list(speakers), None
    if isinstance(inputs, (list, tuple)):
        raise TypeError(
            "a document inside a batch must be a string or a dict; a list of clauses must be given as "
            "{'clauses': [...]} (a bare list is read as a batch of documents)"
        )
    raise TypeError(f"a document must be a string or a dict, got {type(inputs).__name__}")


__all__ = ["ACCEPTED_KEYS", "ROW_KEYS", "check_text", "check_units", "normalise_input", "normalise_input_with_offsets"]
