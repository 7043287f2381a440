"""Prompt-based data augmentation with auxiliary span labelling (after Li et al. 2025).

1. **Mark** (:func:`mark_row`): every annotated span of a canonical row is wrapped in its unit as
   ``[Emotion 1 (joy)]{so happy}`` / ``[Cause 1 (joy)]{I passed the exam}`` (the number is the pair, the category
   is part of the tag). Spans that overlap in a unit (a SemEval emotion span is the whole utterance, so it contains
   any cause span of that utterance) form one block whose tag lists all of them
   (``[Emotion 1 (joy) + Cause 1 (joy)]{...}``); the block is kept verbatim as a whole.
2. **Rewrite**: a generator (any callable ``list[prompt] -> list[text]``, or :class:`TransformersGenerator` around
   a causal LM) is asked to rewrite the unmarked context of the numbered units, keeping every marked block and tag.
3. **Parse back and filter** (:func:`parse_rewrite`, :func:`augment_rows`), each rejection counted by reason:
   ``malformed`` (units missing, extra or unnumbered), ``span_changed`` (a block missing, altered, moved to another
   unit, or a new one invented), ``category_changed`` (a tag's category or role altered), ``length`` (the new text
   length is outside ``length_bounds`` × the original), ``similarity`` (``difflib`` ratio to the original text
   outside ``similarity_bounds``: too close is a copy, too far is a drifted text), ``duplicate`` (same text as the
   original or an earlier augmentation). The report gives the yield (kept / attempted).

Kept rows are canonical rows (id ``<id>#aug<k>``) whose spans are re-located in the rewritten units; a span the
corpus did not annotate (``[-1, -1]``, e.g. a SemEval emotion span) stays ``[-1, -1]``.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..data.schema import NO_SPAN, make_pair
from .prompts import flatten_unit, whole_unit_span

Generator = Callable[[list[str]], list[str]]

REWRITE_INSTRUCTION = (
    "Rewrite the {kind} below into a new, natural {kind} with the same meaning and emotions.\n"
    "Rules:\n"
    "1. Keep every marked span exactly as it is, with its marker: [tag]{{text}} must appear unchanged.\n"
    "2. Keep each marked span in the line with the same number (U1, U2, ...).\n"
    "3. Output the same number of lines, each starting with its number as in the input (U1: ...).\n"
    "4. Change only the unmarked words: paraphrase them, add or remove details.\n"
    "5. Output only the rewritten lines.\n\n"
    "{lines}"
)
_MARK = re.compile(r"\[([^\[\]{}]+)\]\{([^{}]*)\}")
_LINE = re.compile(r"^\s*U(\d+)\s*(?:\([^)]*\))?\s*:\s?(.*)$", re.IGNORECASE)


@dataclass
class MarkedRow:
    """A row with its spans marked: ``marked_units`` (text with ``[tag]{span}`` blocks) and, per block tag, the
    spans it holds: ``blocks[tag] = (unit, block_start, block_end, [(pair, role, offset_in_block, length)])``."""

    row: Mapping[str, Any]
    marked_units: list[str]
    blocks: dict[str, tuple[int, int, int, list[tuple[int, str, int, int]]]]


def _pair_spans(row: Mapping[str, Any]) -> list[tuple[int, str, int, int, int]]:
    """(pair, role, unit, start, end) of every pair's emotion and cause span (missing → whole unit)."""
    spans = []
    for k, pair in enumerate(row["pairs"]):
        for role, unit_key, span_key in (("Emotion", "emotion", "emotion_span"), ("Cause", "cause", "cause_span")):
            unit = int(pair[unit_key])
            span = list(pair[span_key])
            if span == NO_SPAN:
                span = whole_unit_span(row["units"][unit])
            spans.append((k, role, unit, span[0], span[1]))
    return spans


def mark_row(row: Mapping[str, Any]) -> MarkedRow | None:
    """Wrap the row's spans in ``[tag]{...}`` markers; ``None`` when a unit contains ``{``/``}``/``[``/``]`` (the
    markers would be ambiguous) or the row has no pair."""
    if not row["pairs"] or any(ch in unit for unit in row["units"] for ch in "{}[]"):
        return None
    by_unit: dict[int, list[tuple[int, str, int, int]]] = {}
    for pair, role, unit, start, end in _pair_spans(row):
        by_unit.setdefault(unit, []).append((start, end, pair, role))
    marked = list(row["units"])
    blocks: dict[str, tuple[int, int, int, list[tuple[int, str, int, int]]]] = {}
    for unit, spans in by_unit.items():
        spans.sort()
        merged: list[list[Any]] = []  # [start, end, members]
        for start, end, pair, role in spans:
            if merged and start < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
                merged[-1][2].append((start, end, pair, role))
            else:
                merged.append([start, end, [(start, end, pair, role)]])
        text = row["units"][unit]
        pieces, cursor = [], 0
        for start, end, members in merged:
            names = list(
                dict.fromkeys(f"{role} {pair + 1} ({row['pairs'][pair]['category']})" for _, _, pair, role in members)
            )
            tag = " + ".join(names)
            if tag in blocks:  # the same span used twice in one unit cannot happen after merging; be explicit
                return None
            blocks[tag] = (unit, start, end, [(pair, role, s - start, e - s) for s, e, pair, role in members])
            pieces += [text[cursor:start], f"[{tag}]{{{text[start:end]}}}"]
            cursor = end
        marked[unit] = "".join(pieces) + text[cursor:]
    return MarkedRow(row, marked, blocks)


def rewrite_prompt(marked: MarkedRow) -> str:
    """The rewrite instruction for one marked row."""
    kind = "conversation" if marked.row.get("kind") == "conversation" else "text"
    lines = "\n".join(f"U{k + 1}: {flatten_unit(unit)}" for k, unit in enumerate(marked.marked_units))
    return REWRITE_INSTRUCTION.format(kind=kind, lines=lines)


def parse_rewrite(text: str, marked: MarkedRow) -> tuple[dict[str, Any] | None, str]:
    """A generated rewrite → (new canonical row, ``"ok"``) or (``None``, rejection reason)."""
    row = marked.row
    n = len(row["units"])
    lines: dict[int, str] = {}
    for raw in text.splitlines():
        if not raw.strip():
            continue
        match = _LINE.match(raw)
        if match is None or not 1 <= int(match.group(1)) <= n or int(match.group(1)) - 1 in lines:
            return None, "malformed"
        lines[int(match.group(1)) - 1] = match.group(2).strip()
    if len(lines) != n or any(not lines[k] for k in range(n)):
        return None, "malformed"
    expected_tags = {tag: info for tag, info in marked.blocks.items()}
    found: dict[str, tuple[int, int, int]] = {}
    units = []
    for k in range(n):
        pieces, cursor, new_unit = [], 0, ""
        for match in _MARK.finditer(lines[k]):
            tag, body = " ".join(match.group(1).split()), match.group(2)
            pieces.append(lines[k][cursor : match.start()])
            new_unit = "".join(pieces)
            if tag not in expected_tags:
                return None, "category_changed" if _same_roles(tag, expected_tags) else "span_changed"
            unit, start, end, _members = expected_tags[tag]
            if tag in found or unit != k or body != row["units"][unit][start:end]:
                return None, "span_changed"
            found[tag] = (k, len(new_unit), len(new_unit) + len(body))
            pieces.append(body)
            cursor = match.end()
        pieces.append(lines[k][cursor:])
        unit_text = " ".join("".join(pieces).split())
        if "".join(pieces) != unit_text:  # whitespace was normalised: re-locate blocks after the same normalisation
            return None, "malformed"
        units.append(unit_text)
    if set(found) != set(expected_tags):
        return None, "span_changed"
    new_pairs: list[dict[str, Any] | None] = [None] * len(row["pairs"])
    spans: dict[tuple[int, str], list[int]] = {}
    for tag, (_unit, start, _end) in found.items():
        for pair, role, offset, length in expected_tags[tag][3]:
            spans[(pair, role)] = [start + offset, start + offset + length]
    for k, pair in enumerate(row["pairs"]):
        emotion_span = spans[(k, "Emotion")] if list(pair["emotion_span"]) != NO_SPAN else NO_SPAN
        cause_span = spans[(k, "Cause")] if list(pair["cause_span"]) != NO_SPAN else NO_SPAN
        new_pairs[k] = make_pair(
            pair["emotion"], pair["cause"], cause_span=cause_span, emotion_span=emotion_span, category=pair["category"]
        )
    new_row = {key: (list(value) if isinstance(value, list) else value) for key, value in row.items()}
    new_row.update(units=units, pairs=new_pairs)
    return new_row, "ok"


def _same_roles(tag: str, expected: Mapping[str, Any]) -> bool:
    strip = re.compile(r"\s*\([^)]*\)")
    return strip.sub("", tag) in {strip.sub("", t) for t in expected}


@dataclass
class AugmentationReport:
    """Counts of one augmentation run; ``rejected`` by reason (see module docstring)."""

    attempted: int = 0
    kept: int = 0
    unmarkable_rows: int = 0
    rejected: Counter = field(default_factory=Counter)
    #: The first rejected outputs (``id``, ``reason``, ``output`` cut to 400 characters), to see what went wrong.
    rejected_examples: list[dict[str, str]] = field(default_factory=list)

    @property
    def yield_rate(self) -> float:
        """kept / attempted (0.0 when nothing was attempted)."""
        return self.kept / self.attempted if self.attempted else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempted": self.attempted,
            "kept": self.kept,
            "yield": self.yield_rate,
            "unmarkable_rows": self.unmarkable_rows,
            "rejected": dict(self.rejected),
            "rejected_examples": list(self.rejected_examples),
        }


def _text(units: Sequence[str]) -> str:
    return "\n".join(units)


def augment_rows(
    rows: Sequence[Mapping[str, Any]],
    generator: Generator,
    *,
    num_rewrites: int = 1,
    length_bounds: tuple[float, float] = (0.5, 2.0),
    similarity_bounds: tuple[float, float] = (0.3, 0.97),
    keep_rejected: int = 3,
) -> tuple[list[dict[str, Any]], AugmentationReport]:
    """Rewrite each row with pairs ``num_rewrites`` times and keep the rewrites that pass every filter.

    The report keeps the first ``keep_rejected`` rejected outputs (``rejected_examples``) for inspection.

    ``generator`` receives all prompts of one round at once and must return one text per prompt."""
    report = AugmentationReport()
    marked = []
    for row in rows:
        m = mark_row(row)
        if m is None:
            report.unmarkable_rows += 1 if row["pairs"] else 0
            continue
        marked.append(m)
    seen = {_text(m.row["units"]) for m in marked}
    kept: list[dict[str, Any]] = []
    counters: Counter = Counter()
    for _round in range(num_rewrites):
        prompts = [rewrite_prompt(m) for m in marked]
        outputs = generator(prompts) if prompts else []
        if len(outputs) != len(prompts):
            raise ValueError(
                f"the generator returned {len(outputs)} texts for {len(prompts)} prompts; expected one each"
            )
        for m, output in zip(marked, outputs):
            report.attempted += 1
            new_row, reason = parse_rewrite(output if isinstance(output, str) else "", m)
            if new_row is not None:
                reason = _bounds_check(m.row["units"], new_row["units"], length_bounds, similarity_bounds, seen)
            if reason != "ok":
                report.rejected[reason] += 1
                if len(report.rejected_examples) < keep_rejected:
                    text = output if isinstance(output, str) else repr(output)
                    report.rejected_examples.append({"id": m.row["id"], "reason": reason, "output": text[:400]})
                continue
            counters[m.row["id"]] += 1
            new_row["id"] = f"{m.row['id']}#aug{counters[m.row['id']]}"
            seen.add(_text(new_row["units"]))
            kept.append(new_row)
            report.kept += 1
    return kept, report


def _bounds_check(old: Sequence[str], new: Sequence[str], length_bounds, similarity_bounds, seen: set[str]) -> str:
    old_text, new_text = _text(old), _text(new)
    if new_text in seen:
        return "duplicate"
    ratio = len(new_text) / max(1, len(old_text))
    if not length_bounds[0] <= ratio <= length_bounds[1]:
        return "length"
    similarity = difflib.SequenceMatcher(None, old_text, new_text, autojunk=False).ratio()
    if not similarity_bounds[0] <= similarity <= similarity_bounds[1]:
        return "similarity"
    return "ok"


class TransformersGenerator:
    """A causal LM (+ tokenizer with a chat template) as an augmentation generator: sampled, batched, left-padded."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        max_new_tokens: int = 256,
        temperature: float = 0.8,
        top_p: float = 0.95,
        batch_size: int = 4,
        seed: int = 0,
    ):
        self.model, self.tokenizer = model, tokenizer
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.max_new_tokens, self.temperature, self.top_p, self.batch_size, self.seed = (
            max_new_tokens,
            temperature,
            top_p,
            batch_size,
            seed,
        )

    def __call__(self, prompts: list[str]) -> list[str]:
        import torch

        torch.manual_seed(self.seed)
        outputs: list[str] = []
        for start in range(0, len(prompts), self.batch_size):
            texts = [
                self.tokenizer.apply_chat_template(
                    [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
                )
                for p in prompts[start : start + self.batch_size]
            ]
            batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(
                self.model.device
            )
            with torch.no_grad():
                generated = self.model.generate(
                    **batch, max_new_tokens=self.max_new_tokens, do_sample=True, temperature=self.temperature,
                    top_p=self.top_p, pad_token_id=self.tokenizer.pad_token_id,
                )  # fmt: skip
            new = generated[:, batch["input_ids"].shape[1] :]
            outputs += self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return outputs


__all__ = [
    "REWRITE_INSTRUCTION",
    "AugmentationReport",
    "MarkedRow",
    "TransformersGenerator",
    "augment_rows",
    "mark_row",
    "parse_rewrite",
    "rewrite_prompt",
]
