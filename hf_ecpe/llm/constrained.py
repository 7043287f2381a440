"""Grammar-constrained decoding: a ``transformers.LogitsProcessor`` that lets a causal LM write only valid triplets.

The completion grammar is the one :mod:`hf_ecpe.llm.prompts` renders (``render_completion``)::

    completion := "NONE" | line ("\\n" line)*
    line       := "(" field ", " field ", " category ")"
    field      := "U" n  |  "U" n ": " '"' content '"'

with ``n`` the number of a non-blank unit of the input (1-based, no leading zero), ``content`` a piece of that
unit's text **as the prompt shows it** (:func:`~hf_ecpe.llm.prompts.flatten_unit`), JSON-escaped like
:func:`~hf_ecpe.llm.prompts.quote_span` and cut at character boundaries, with at least one non-whitespace
character, and ``category`` one of the labels. End of output (EOS) is allowed only after a complete line or
``NONE``. So :func:`~hf_ecpe.llm.parsing.parse_completion` — unchanged, as strict as ever — finds no malformed
line, no dropped span and no dropped category in a constrained completion (the tests check exactly that).

How it works:

- :class:`TokenVocabulary` (once per tokenizer): the bytes of every token (byte-level BPE exactly; SentencePiece
  ``▁`` and ``<0xNN>`` tokens), sorted, so that the token trie is walked with ``bisect`` on one sorted list.
- :class:`TripletGrammar` (one per prompt): a deterministic automaton over **bytes**. While a span is being
  written its state is the set of end positions, in the unit's escaped bytes, of the text written so far (every
  start at a character boundary), so a token may end in the middle of a character or escape, or carry the
  closing quote and the next separator (``",``, ``", U``): any tokenisation of a valid completion is accepted.
- :class:`RepeatFreeGrammar` (``no_repeat_lines=True``, the default of :func:`make_logits_processor` and
  :class:`~hf_ecpe.llm.inference.EmotionCauseLLM`): the same automaton with the lines written so far in its state;
  a line whose (emotion span, cause span) pair was already written, under any category, is refused at the first
  byte after which no unwritten line can follow (exactly: a prefix is allowed iff some grammatical, unwritten line
  completes it), and once every line has been written only the end of output follows. ``False``: the paper's
  constrained decoding, repeats allowed.
- Allowed tokens of a state: the trie is walked together with the automaton (at each trie node only the bytes the
  state admits are looked up), once per state (cached); EOS is added in accepting states.
- :class:`TripletLogitsProcessor`: the state of each row (sequence or beam) is recomputed from its generated ids
  by one automaton step from the state of the same ids minus the last one (a cache keyed by the prefix, kept for
  one step), so beam search, which reorders rows, and batched left-padded generation both work.
- Budget: with ``max_new_tokens`` a token is allowed only when the shortest completion after it (a fixed finishing
  text per state, tokenised with the fewest tokens) still fits in the tokens left, so a completion is never cut in
  the middle of a line.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from transformers import LogitsProcessor

from .prompts import EMPTY_MARKER, UNIT_PREFIX, flatten_unit, quote_span

# State kinds. A state is a hashable tuple whose first item is its kind:
#   (_START,)                                 first line: "NONE" or "("
#   (_LIT, text: bytes, i: int, next: state)  inside a fixed text, text[i] expected next
#   (_NUM, role: int, digits: bytes)          unit number of field ``role`` (0 emotion, 1 cause)
#   (_SPAN, role, unit: int, ends: frozenset[int], nonblank: bool)  inside a quoted span of unit ``unit`` (0-based)
#   (_LABEL, prefix: bytes)                   inside the category
#   (_END, more: bool)                        accepting: after a line (more lines may follow) or after NONE
#   (_DONE,) after EOS;  (_DEAD,) after a token the grammar does not allow (only EOS is offered then)
_START, _LIT, _NUM, _SPAN, _LABEL, _END, _DONE, _DEAD = range(8)
State = tuple
DONE: State = (_DONE,)
DEAD: State = (_DEAD,)

_QUOTE, _COLON, _COMMA, _CLOSE, _NEWLINE = b'"', b":", b",", b")", b"\n"
#: Marks the bytes of a character that cannot be encoded (a lone surrogate): never valid UTF-8, never matched.
_WALL = 0xFF
_CACHE_LIMIT = 200_000


def _gpt2_byte_decoder() -> dict[str, int]:
    """The inverse of GPT-2's ``bytes_to_unicode`` (the printable stand-ins of byte-level BPE tokens)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    codes, extra = printable[:], 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, codes)}


def _decoder_types(tokenizer: Any) -> set[str]:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return set()
    decoder = json.loads(backend.to_str()).get("decoder") or {}
    found = {decoder.get("type")}
    found.update(d.get("type") for d in decoder.get("decoders", []) or [])
    return {t for t in found if t}


def token_bytes(tokenizer: Any) -> list[bytes | None]:
    """The bytes each token id adds to the decoded text (``None`` for special tokens), index = token id.

    Exact for byte-level BPE (GPT-2, Llama-3, Qwen, SmolLM2); ``▁`` → space and ``<0xNN>`` → byte for SentencePiece
    vocabularies; other tokenizers fall back to ``convert_tokens_to_string`` of the single token."""
    size = len(tokenizer)
    tokens = tokenizer.convert_ids_to_tokens(list(range(size)))
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    added = {}
    for index, added_token in (getattr(tokenizer, "added_tokens_decoder", {}) or {}).items():
        if getattr(added_token, "special", False):
            special.add(index)
        else:
            added[index] = str(added_token)
    kinds = _decoder_types(tokenizer)
    byte_level = "ByteLevel" in kinds
    byte_decoder = _gpt2_byte_decoder() if byte_level else {}
    out: list[bytes | None] = []
    for index, token in enumerate(tokens):
        if index in special or token is None:
            out.append(None)
        elif index in added:
            out.append(added[index].encode("utf-8"))
        elif byte_level:
            try:
                out.append(bytes(byte_decoder[ch] for ch in token))
            except KeyError:  # not a byte-level symbol string: take it as text
                out.append(token.encode("utf-8"))
        elif len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
            out.append(bytes([int(token[3:5], 16)]))
        elif "Metaspace" in kinds or "Replace" in kinds or token.startswith("▁"):
            out.append(token.replace("▁", " ").encode("utf-8"))
        else:
            out.append(tokenizer.convert_tokens_to_string([token]).encode("utf-8"))
    return [b if b else None for b in out]


class TokenVocabulary:
    """The vocabulary as bytes, sorted for trie walks (build once per tokenizer; shared by every grammar).

    Args:
        tokenizer: the generation tokenizer.
        eos_token_ids: the ids that end a completion (e.g. ``<|im_end|>`` and ``eos_token_id``).
    """

    def __init__(self, tokenizer: Any, eos_token_ids: Sequence[int]) -> None:
        pieces = token_bytes(tokenizer)
        self.size = len(pieces)
        self.eos_token_ids = tuple(dict.fromkeys(int(i) for i in eos_token_ids))
        if not self.eos_token_ids:
            raise ValueError("constrained decoding needs at least one end-of-output token id (eos_token_ids)")
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_token_id = int(pad) if pad is not None else self.eos_token_ids[0]
        ids_of: dict[bytes, list[int]] = {}
        for index, piece in enumerate(pieces):
            if piece is not None and index not in self.eos_token_ids:
                ids_of.setdefault(piece, []).append(index)
        self.ids_of = ids_of
        self.tokens = sorted(ids_of)  # trie nodes are ranges of this list
        self.max_token_bytes = max(map(len, self.tokens), default=0)
        self.single_bytes = frozenset(t[0] for t in self.tokens if len(t) == 1)

    def walk(self, grammar: Grammar, state: State) -> dict[int, State]:
        """Every non-EOS token the grammar allows in ``state`` → the state after it (trie walk with bisect)."""
        tokens, ids_of = self.tokens, self.ids_of
        out: dict[int, State] = {}
        stack = [(state, b"", 0, len(tokens))]
        while stack:
            current, prefix, lo, hi = stack.pop()
            if prefix and tokens[lo] == prefix:  # a token ends here (shortest first in its range)
                for index in ids_of[prefix]:
                    out[index] = current
                lo += 1
                if lo >= hi:
                    continue
            for byte, after in grammar.transitions(current).items():
                key = prefix + bytes((byte,))
                start = bisect.bisect_left(tokens, key, lo, hi)
                if start >= hi or not tokens[start].startswith(key):
                    continue
                stop = bisect.bisect_left(tokens, prefix + bytes((byte + 1,)), start, hi) if byte < 255 else hi
                stack.append((after, key, start, stop))
        return out

    def fewest_tokens(self, text: bytes) -> tuple[int, int | None]:
        """(fewest tokens that spell ``text`` exactly, the first of them); ``(inf-like, None)`` when impossible."""
        n = len(text)
        best = [0] * (n + 1)
        first: list[int | None] = [None] * (n + 1)
        impossible = 1 << 30
        for k in range(n - 1, -1, -1):
            best[k] = impossible
            for length in range(1, min(self.max_token_bytes, n - k) + 1):
                ids = self.ids_of.get(text[k : k + length])
                if ids is not None and best[k + length] + 1 < best[k]:
                    best[k], first[k] = best[k + length] + 1, ids[0]
        return best[0], first[0]


class _Unit:
    """One unit's span text as a completion shows it: escaped bytes with character boundaries and blank flags."""

    def __init__(self, text: str) -> None:
        shown = flatten_unit(text)
        pieces = []
        for ch in shown:
            try:
                pieces.append(quote_span(ch)[1:-1].encode("utf-8"))
            except UnicodeEncodeError:  # a lone surrogate: cannot be generated as valid UTF-8
                pieces.append(bytes((_WALL,)))
        self.shown = shown
        self.escaped = b"".join(pieces)
        self.wall = [piece == bytes((_WALL,)) for piece in pieces]
        n, chars = len(self.escaped), len(pieces)
        self.char_of = [0] * (n + 1)  # byte position → index of the character that contains it (chars at the end)
        self.boundary = [False] * (n + 1)
        self.char_end = [0] * chars
        position = 0
        for c, piece in enumerate(pieces):
            self.boundary[position] = True
            for k in range(len(piece)):
                self.char_of[position + k] = c
            position += len(piece)
            self.char_end[c] = position
        self.char_of[n], self.boundary[n] = chars, True
        # first non-blank character at or after each character (chars: none); what the parser's .strip() keeps
        self.first_nonblank = [-1] * (chars + 1)
        for c in range(chars - 1, -1, -1):
            self.first_nonblank[c] = c if not shown[c].isspace() else self.first_nonblank[c + 1]
        self.blank = [ch.isspace() for ch in shown]
        self.starts = frozenset(p for p in range(n) if self.boundary[p] and self.first_nonblank[self.char_of[p]] >= 0)
        self.nonblank_text = bool(shown.strip())
        self.longest_finish = max(
            (self.char_end[self.first_nonblank[self.char_of[p]]] - p for p in range(n) if self._alive(p)), default=0
        )

    def _alive(self, position: int) -> bool:
        return self.first_nonblank[self.char_of[position]] >= 0

    def finish(self, ends: frozenset[int], nonblank: bool) -> bytes:
        """The shortest (then smallest) bytes that bring some end in ``ends`` to a closable point."""
        best: bytes | None = None
        for p in ends:
            if nonblank:
                stop = p if self.boundary[p] else self.char_end[self.char_of[p]]
            else:
                stop = self.char_end[self.first_nonblank[self.char_of[p]]]
            piece = self.escaped[p:stop]
            if best is None or (len(piece), piece) < (len(best), best):
                best = piece
        assert best is not None
        return best


class TripletGrammar:
    """The completion grammar of one prompt as a byte automaton (see the module docstring).

    Args:
        units: the unit texts of the prompt (as given to ``build_prompt``; line breaks are flattened here too).
        labels: the categories the completion may use (must be single tokens of the parser's category pattern).
    """

    def __init__(self, units: Sequence[str], labels: Sequence[str]) -> None:
        if not labels:
            raise ValueError("labels is empty: constrained decoding needs the categories the completion may use")
        for label in labels:
            if not isinstance(label, str) or not label.strip() or label != label.strip():
                raise ValueError(f"category {label!r} must be a non-blank string without surrounding whitespace")
            if any(ch in label for ch in "\"'“”‘’,;|()") or len(label.splitlines()) != 1:
                raise ValueError(f"category {label!r} contains a character the completion parser reads as syntax")
        self.units = [_Unit(u) for u in units]
        self.labels = tuple(dict.fromkeys(label.encode("utf-8") for label in labels))
        self.numbers = {str(k + 1).encode(): k for k, u in enumerate(self.units) if u.nonblank_text}
        self._transitions: dict[State, dict[int, State]] = {}
        self._finish: dict[State, bytes] = {}
        digits = max((len(n) for n in self.numbers), default=1)
        label_bytes = max(len(label) for label in self.labels)
        longest = max((u.longest_finish for u in self.units), default=0)
        #: An upper bound on the bytes of any state's finishing text (budget checks are skipped above it).
        self.max_finish_bytes = longest + 2 * digits + label_bytes + 16
        self.alphabet = frozenset(b'NONE(U0123456789:, ")\n' + b"".join(self.labels))
        self.alphabet |= frozenset(b for u in self.units for b in u.escaped)

    # -- automaton -------------------------------------------------------------------------------------------------

    def initial(self) -> State:
        return (_START,)

    @staticmethod
    def accepting(state: State) -> bool:
        return state[0] == _END

    def _after_field(self, role: int, sep: bytes) -> State:
        """The rest of a line after a field: ``sep`` then the cause field (role 0) or the category (role 1)."""
        if role == 0:
            return (_LIT, sep + b"U", 0, (_NUM, 1, b""))
        return (_LIT, sep, 0, (_LABEL, b""))

    def _span(self, role: int, unit: int) -> State:
        return (_SPAN, role, unit, self.units[unit].starts, False)

    def transitions(self, state: State) -> dict[int, State]:
        """Next byte → next state for every byte the grammar allows after ``state`` (cached)."""
        found = self._transitions.get(state)
        if found is None:
            found = self._compute_transitions(state)
            if len(self._transitions) > _CACHE_LIMIT:
                self._transitions.clear()
            self._transitions[state] = found
        return found

    def _lit(self, text: bytes, i: int, after: State) -> State:
        return after if i >= len(text) else (_LIT, text, i, after)

    def _compute_transitions(self, state: State) -> dict[int, State]:
        kind = state[0]
        if kind == _START:
            out = {EMPTY_MARKER.encode()[0]: self._lit(EMPTY_MARKER.encode(), 1, (_END, False))}
            if self.numbers:
                out[ord("(")] = (_LIT, UNIT_PREFIX.encode(), 0, (_NUM, 0, b""))
            return out
        if kind == _LIT:
            _, text, i, after = state
            return {text[i]: self._lit(text, i + 1, after)}
        if kind == _NUM:
            _, role, digits = state
            out = {}
            for number in self.numbers:
                if len(number) > len(digits) and number.startswith(digits):
                    nxt = digits + number[len(digits) : len(digits) + 1]
                    out[nxt[-1]] = (_NUM, role, nxt)
            if digits in self.numbers:
                unit = self.numbers[digits]
                out[_COLON[0]] = (_LIT, b' "', 0, self._span(role, unit))
                out[_COMMA[0]] = self._after_field(role, b" ")
            return out
        if kind == _SPAN:
            return self._span_transitions(state)
        if kind == _LABEL:
            prefix = state[1]
            out = {}
            for label in self.labels:
                if len(label) > len(prefix) and label.startswith(prefix):
                    out[label[len(prefix)]] = (_LABEL, label[: len(prefix) + 1])
            if prefix in self.labels:
                out[_CLOSE[0]] = (_END, True)
            return out
        if kind == _END and state[1]:
            return {_NEWLINE[0]: (_LIT, b"(" + UNIT_PREFIX.encode(), 0, (_NUM, 0, b""))}
        return {}

    def _span_transitions(self, state: State) -> dict[int, State]:
        _, role, index, ends, nonblank = state
        unit = self.units[index]
        text, n = unit.escaped, len(unit.escaped)
        grouped: dict[int, list[int]] = {}
        for p in ends:
            if p < n and text[p] != _WALL:
                grouped.setdefault(text[p], []).append(p + 1)
        out: dict[int, State] = {}
        for byte, moved in grouped.items():
            first = moved[0]
            now_nonblank = nonblank
            if unit.boundary[first] and not nonblank:  # a character was completed: is it the first non-blank one?
                now_nonblank = not unit.blank[unit.char_of[first] - 1]
            if not now_nonblank:
                moved = [p for p in moved if unit._alive(p)]
                if not moved:
                    continue
            out[byte] = (_SPAN, role, index, frozenset(moved), now_nonblank)
        some = next(iter(ends))
        if nonblank and unit.boundary[some]:  # at a character boundary (the same for every end) with text: close
            out[_QUOTE[0]] = self._after_field(role, b", ")
        return out

    # -- shortest completion ---------------------------------------------------------------------------------------

    def finish(self, state: State) -> bytes:
        """The shortest (then smallest) text that completes the output from ``state``; its suffixes are the finishing
        texts of the states along it, which keeps the budget rule consistent."""
        found = self._finish.get(state)
        if found is None:
            found = self._compute_finish(state)
            if len(self._finish) > _CACHE_LIMIT:
                self._finish.clear()
            self._finish[state] = found
        return found

    def _smallest(self, options: list[bytes]) -> bytes:
        return min(options, key=lambda b: (len(b), b))

    def _compute_finish(self, state: State) -> bytes:
        kind = state[0]
        if kind == _START:
            return EMPTY_MARKER.encode()
        if kind == _LIT:
            _, text, i, after = state
            return text[i:] + self.finish(after)
        if kind == _NUM:
            _, role, digits = state
            number = self._smallest([n for n in self.numbers if n.startswith(digits)])
            return number[len(digits) :] + self.finish(self._after_field(role, b", "))
        if kind == _SPAN:
            _, role, index, ends, nonblank = state
            rest = self.units[index].finish(ends, nonblank)
            return rest + _QUOTE + self.finish(self._after_field(role, b", "))
        if kind == _LABEL:
            prefix = state[1]
            label = self._smallest([la for la in self.labels if la.startswith(prefix)])
            return label[len(prefix) :] + _CLOSE
        return b""


#: A field of a line as the parser locates it: (0-based unit index, the span text without its surrounding
#: whitespace). A bare ``U<n>`` is the whole unit's stripped text, the same key as its quoted copy.
FieldKey = tuple[int, str]


class RepeatFreeGrammar:
    """:class:`TripletGrammar` without repeated lines: the same automaton interface (``initial``, ``accepting``,
    ``transitions``, ``finish``, ``alphabet``, ``max_finish_bytes``), over states ``(grammar state, written,
    emotion, cause, span_len)``.

    A line's key is its (emotion field, cause field) as :func:`~hf_ecpe.llm.parsing.parse_completion` locates them
    (:data:`FieldKey`; the category is left out), so a line that was written before is refused, and so is the same
    span pair under another category (in SemEval-2024, where the emotion is a whole utterance, that is: a cause
    span already used for the same emotion–cause utterance pair). ``U2``, ``U2: "whole text"`` and
    ``U2: " whole text"`` are one field. No gold triplet set of the SemEval-2024 (subtask 1) or ECPE-en training
    data repeats a key.

    Exact: a byte is allowed iff the output after it can still be completed into a grammatical completion whose
    lines all have different keys. ``written`` (frozenset of ``(emotion key, cause key)``) holds the finished
    lines, ``emotion`` / ``cause`` the keys of the fields closed in the current line, ``span_len`` the escaped bytes
    of the span being written (its start is ``end - span_len`` for every end of the grammar state). A field in
    progress is alive iff some key it can still become is not blocked: an emotion key is blocked when it has been
    written with every cause key of the input, a cause key when it has been written with the line's emotion. When
    every line has been written, the only continuation after a line is the end of output. ``finish`` is the shortest
    (then smallest) completion without a repeat, so the budget rule of :class:`TripletLogitsProcessor` holds.
    """

    def __init__(self, grammar: TripletGrammar) -> None:
        self.grammar = grammar
        self.alphabet = grammar.alphabet
        widest = max((len(u.escaped) for u in grammar.units), default=0)
        digits = max((len(n) for n in grammar.numbers), default=1)
        # a finish is at most: rest of the emotion field, ", U", a whole cause field, ", ", a label, ")"
        self.max_finish_bytes = 2 * (widest + digits) + max(len(label) for label in grammar.labels) + 24
        self._transitions: dict[State, dict[int, State]] = {}
        self._finish: dict[State, bytes] = {}
        self._blocked: dict[tuple, frozenset[FieldKey]] = {}
        self._keys: set[FieldKey] = set()  # distinct field keys of the input, enumerated as far as needed
        self._key_source = (key for unit in range(len(grammar.units)) for key in self._unit_keys(unit))
        self._causes: list[tuple[bytes, FieldKey]] = []  # every cause field, shortest (then smallest) first
        self._cause_source = self._completions((_NUM, 1, b""), 0)
        self._tail = grammar.finish(grammar._after_field(1, b", "))  # ", " + smallest label + ")"

    def initial(self) -> State:
        return (self.grammar.initial(), frozenset(), None, None, 0)

    @staticmethod
    def accepting(state: State) -> bool:
        return isinstance(state[0], tuple) and state[0][0] == _END

    # -- keys ------------------------------------------------------------------------------------------------------

    def _unit_keys(self, index: int) -> Iterator[FieldKey]:
        """Every key a field of unit ``index`` can have (the whole unit first; repeats possible)."""
        unit = self.grammar.units[index]
        if not unit.nonblank_text:
            return
        yield (index, unit.shown.strip())
        for i, blank in enumerate(unit.blank):
            if blank or unit.wall[i]:
                continue
            for j in range(i + 1, len(unit.blank) + 1):
                if unit.wall[j - 1]:
                    break
                if not unit.blank[j - 1]:
                    yield (index, unit.shown[i:j])

    def _count_keys(self, limit: int) -> int:
        """The number of distinct field keys of the input, or ``limit`` when there are at least that many."""
        while len(self._keys) < limit:
            key = next(self._key_source, None)
            if key is None:
                break
            self._keys.add(key)
        return min(len(self._keys), limit)

    def _closed_key(self, state: State, span_len: int) -> FieldKey:
        """The key of the field that ``state`` closes (a complete unit number, or a span at a closable point)."""
        if state[0] == _NUM:
            index = self.grammar.numbers[state[2]]
            return (index, self.grammar.units[index].shown.strip())
        _, _, index, ends, _ = state
        unit, end = self.grammar.units[index], next(iter(ends))
        return (index, unit.shown[unit.char_of[end - span_len] : unit.char_of[end]].strip())

    def _reachable(self, state: State, span_len: int) -> Iterator[FieldKey]:
        """The keys the field in progress in ``state`` (a ``_NUM`` or ``_SPAN`` state) can still get."""
        if state[0] == _NUM:
            for number, index in self.grammar.numbers.items():
                if number.startswith(state[2]):
                    yield from self._unit_keys(index)
            return
        _, _, index, ends, nonblank = state
        unit = self.grammar.units[index]
        for end in sorted(ends):
            first, current = unit.char_of[end - span_len], unit.char_of[end]
            if nonblank and unit.boundary[end]:
                yield (index, unit.shown[first:current].strip())
            has_text = nonblank
            for k in range(current + 1, len(unit.blank) + 1):  # character k - 1 completed
                if unit.wall[k - 1]:
                    break
                has_text = has_text or not unit.blank[k - 1]
                if has_text:
                    yield (index, unit.shown[first:k].strip())

    def _exhausted(self, written: frozenset) -> frozenset[FieldKey]:
        """Emotion keys already written with every cause key (no line can start with them any more)."""
        found = self._blocked.get((written,))
        if found is None:
            counts: dict[FieldKey, int] = {}
            for emotion, _ in written:
                counts[emotion] = counts.get(emotion, 0) + 1
            total = self._count_keys(max(counts.values()) + 1) if counts else 1
            found = frozenset(e for e, count in counts.items() if count >= total)
            self._blocked[(written,)] = found
        return found

    def _taken(self, written: frozenset, emotion: FieldKey) -> frozenset[FieldKey]:
        """Cause keys already written with ``emotion``."""
        found = self._blocked.get((written, emotion))
        if found is None:
            found = frozenset(c for e, c in written if e == emotion)
            if len(self._blocked) > _CACHE_LIMIT // 10:
                self._blocked.clear()
            self._blocked[(written, emotion)] = found
        return found

    # -- automaton -------------------------------------------------------------------------------------------------

    def transitions(self, state: State) -> dict[int, State]:
        """Next byte → next state for every byte allowed after ``state`` (cached)."""
        found = self._transitions.get(state)
        if found is None:
            found = {}
            for byte, after in self.grammar.transitions(state[0]).items():
                moved = self._move(state, byte, after)
                if moved is not None:
                    found[byte] = moved
            if len(self._transitions) > _CACHE_LIMIT:
                self._transitions.clear()
            self._transitions[state] = found
        return found

    def _move(self, state: State, byte: int, after: State) -> State | None:
        """The state after ``byte`` (the grammar's next state ``after``), or ``None`` when it is not alive."""
        base, written, emotion, cause, span_len = state
        kind = base[0]
        if (kind == _SPAN and after[0] != _SPAN) or (kind == _NUM and byte == _COMMA[0]):  # a field is closed
            key = self._closed_key(base, span_len)
            if base[1] == 0:
                return None if key in self._exhausted(written) else (after, written, key, None, 0)
            return None if (emotion, key) in written else (after, written, emotion, key, 0)
        if kind == _LABEL and after[0] == _END:  # the line is complete
            return (after, written | {(emotion, cause)}, None, None, 0)
        moved = (after, written, emotion, cause, span_len + 1 if kind == _SPAN else 0)
        return moved if self._alive(moved) else None

    def _field(self, state: State) -> State:
        """The state a literal leads to (the state itself when it is not a literal)."""
        while state[0] == _LIT:
            state = state[3]
        return state

    def _alive(self, state: State) -> bool:
        """True when the field in progress (if any) can still get a key that completes an unwritten line."""
        base, written, emotion, _, span_len = state
        target = self._field(base)
        if target[0] not in (_NUM, _SPAN):
            return True
        blocked = self._exhausted(written) if target[1] == 0 else self._taken(written, emotion)
        return not blocked or any(key not in blocked for key in self._reachable(target, span_len))

    # -- shortest completion ---------------------------------------------------------------------------------------

    def _completions(self, state: State, span_len: int) -> Iterator[tuple[bytes, FieldKey]]:
        """``(rest of the field, its key)`` for every way to finish the field in progress in ``state`` (a literal
        before it, a unit number or a span), shortest (then smallest) first; the rest ends after the unit number
        or the closing quote."""
        if state[0] == _LIT:
            prefix = state[1][state[2] :]
            return ((prefix + rest, key) for rest, key in self._completions(state[3], 0))
        if state[0] == _NUM:
            streams = [
                self._unit_completions(state[1], index, number[len(state[2]) :])
                for number, index in self.grammar.numbers.items()
                if number.startswith(state[2])
            ]
            return heapq.merge(*streams, key=lambda item: (len(item[0]), item[0]))
        return self._span_completions(state, span_len)

    def _unit_completions(self, role: int, index: int, digits: bytes) -> Iterator[tuple[bytes, FieldKey]]:
        """The fields of unit ``index`` after its remaining unit-number ``digits``: bare, then quoted spans."""
        yield digits, (index, self.grammar.units[index].shown.strip())
        for text, key in self._span_completions(self.grammar._span(role, index), 0):
            yield digits + b': "' + text, key

    def _span_completions(self, state: State, span_len: int) -> Iterator[tuple[bytes, FieldKey]]:
        _, _, index, ends, _ = state
        unit = self.grammar.units[index]
        escaped, ends = unit.escaped, sorted(ends)
        for length in range(len(escaped) - ends[0] + 1):
            found: dict[bytes, FieldKey] = {}
            for end in ends:
                stop = end + length
                if stop > len(escaped):
                    break
                piece = escaped[end:stop]
                if not unit.boundary[stop] or _WALL in piece or piece in found:
                    continue
                text = unit.shown[unit.char_of[end - span_len] : unit.char_of[stop]].strip()
                if text:
                    found[piece] = (index, text)
            for piece in sorted(found):
                yield piece + _QUOTE, found[piece]

    def _first_cause(self, taken: frozenset[FieldKey]) -> bytes:
        """The shortest (then smallest) cause field whose key is not in ``taken``."""
        for k in itertools.count():
            if k == len(self._causes):
                self._causes.append(next(self._cause_source))
            text, key = self._causes[k]
            if key not in taken:
                return text
        raise AssertionError("unreachable")

    def finish(self, state: State) -> bytes:
        """The shortest (then smallest) text that completes the output from ``state`` without a repeated line."""
        found = self._finish.get(state)
        if found is None:
            found = self._compute_finish(state)
            if len(self._finish) > _CACHE_LIMIT:
                self._finish.clear()
            self._finish[state] = found
        return found

    def _compute_finish(self, state: State) -> bytes:
        base, written, emotion, _, span_len = state
        target = self._field(base)
        if not written or target[0] not in (_NUM, _SPAN):
            return self.grammar.finish(base)  # nothing can be blocked
        if target[1] == 1:
            taken = self._taken(written, emotion)
            for rest, key in self._completions(base, span_len):
                if key not in taken:
                    return rest + self._tail
            raise AssertionError(f"no completion from a live state {state}")
        # emotion field in progress: the best (emotion rest, first free cause) pair; ", U" + cause + tail follow
        exhausted, shortest_cause = self._exhausted(written), len(self._first_cause(frozenset()))
        best: bytes | None = None
        best_rest = 0
        for rest, key in self._completions(base, span_len):
            if best is not None:
                least = len(rest) + 3 + shortest_cause  # no later candidate is shorter
                if least > len(best) or (least == len(best) and len(rest) == best_rest):  # same length: bytes lose
                    break
            if key in exhausted:
                continue
            candidate = rest + b", U" + self._first_cause(self._taken(written, key))
            if best is None or (len(candidate), candidate) < (len(best), best):
                best, best_rest = candidate, len(rest)
        if best is None:
            raise AssertionError(f"no completion from a live state {state}")
        return best + self._tail


#: Either automaton (the processor and the helpers below use only their shared interface).
Grammar = TripletGrammar | RepeatFreeGrammar


class TripletLogitsProcessor(LogitsProcessor):
    """Masks the tokens that would leave the completion grammar, per row (see the module docstring).

    Args:
        vocabulary: the tokenizer's :class:`TokenVocabulary`.
        grammars: one :class:`TripletGrammar` (or :class:`RepeatFreeGrammar`) per prompt of the batch (rows ``b * num_beams ... + num_beams - 1``
            of ``input_ids`` belong to prompt ``b``).
        prompt_length: the (left-padded) prompt length of the batch; ids after it are the generated ones.
        max_new_tokens: the generation budget; when given, a completion always finishes within it.

    Call: ``(input_ids (rows, length), scores (rows, vocab)) -> scores`` with disallowed tokens set to ``-inf``.
    ``seconds`` / ``steps`` / ``row_steps`` accumulate the time spent here (the constraint's overhead).
    """

    def __init__(
        self,
        vocabulary: TokenVocabulary,
        grammars: Sequence[Grammar],
        prompt_length: int,
        max_new_tokens: int | None = None,
    ) -> None:
        if not grammars:
            raise ValueError("TripletLogitsProcessor needs one grammar per prompt, got none")
        self.vocabulary = vocabulary
        self.grammars = list(grammars)
        self.prompt_length = int(prompt_length)
        self.max_new_tokens = max_new_tokens
        self._states: dict[tuple[int, tuple[int, ...]], State] = {}
        self._walks: list[dict[State, dict[int, State]]] = [{} for _ in self.grammars]
        self._allowed: list[dict[tuple[State, int | None], Any]] = [{} for _ in self.grammars]
        self._fewest: list[dict[State, tuple[int, int | None]]] = [{} for _ in self.grammars]
        self._bounds = [g.max_finish_bytes if g.alphabet <= vocabulary.single_bytes else None for g in self.grammars]
        self.seconds = 0.0
        self.steps = 0
        self.row_steps = 0

    # -- per-row state -----------------------------------------------------------------------------------------

    def _walk(self, g: int, state: State) -> dict[int, State]:
        found = self._walks[g].get(state)
        if found is None:
            found = self.vocabulary.walk(self.grammars[g], state)
            if len(self._walks[g]) > _CACHE_LIMIT // 10:
                self._walks[g].clear()
            self._walks[g][state] = found
        return found

    def step(self, g: int, state: State, token: int) -> State:
        """The state of prompt ``g``'s grammar after ``token``."""
        if state[0] in (_DONE, _DEAD):
            return DONE
        if token in self.vocabulary.eos_token_ids:
            return DONE if self.grammars[g].accepting(state) else DEAD
        return self._walk(g, state).get(token, DEAD)

    def state_of(self, g: int, generated: Sequence[int]) -> State:
        """The state after the generated ids ``generated`` of prompt ``g`` (cached by prefix)."""
        key = (g, tuple(generated))
        found = self._states.get(key)
        if found is not None:
            return found
        parent = self._states.get((g, key[1][:-1])) if generated else None
        if parent is not None:
            return self.step(g, parent, generated[-1])
        state = self.grammars[g].initial()
        for token in generated:
            state = self.step(g, state, token)
        return state

    def _fewest_tokens(self, g: int, state: State) -> tuple[int, int | None]:
        found = self._fewest[g].get(state)
        if found is None:
            found = self.vocabulary.fewest_tokens(self.grammars[g].finish(state))
            self._fewest[g][state] = found
        return found

    def allowed(self, g: int, state: State, remaining: int | None = None) -> torch.Tensor:
        """Token ids (1-D long tensor) allowed in ``state`` with ``remaining`` tokens of budget left (this one
        included)."""
        bound = self._bounds[g]
        if remaining is not None and bound is not None and remaining - 1 >= bound:
            remaining = None  # every finishing text fits: no budget check needed
        key = (state, remaining)
        found = self._allowed[g].get(key)
        if found is not None:
            return found
        vocab = self.vocabulary
        if state[0] in (_DONE, _DEAD):
            ids = list(dict.fromkeys([*vocab.eos_token_ids, vocab.pad_token_id]))
        else:
            walk = self._walk(g, state)
            if remaining is None:
                ids = list(walk)
            else:
                ids = [t for t, after in walk.items() if self._fewest_tokens(g, after)[0] <= remaining - 1]
            if self.grammars[g].accepting(state):
                ids += list(vocab.eos_token_ids)
            if not ids:  # the budget is shorter than any completion: follow the shortest one
                first = self._fewest_tokens(g, state)[1]
                ids = [first] if first is not None else list(vocab.eos_token_ids)
        found = torch.tensor(ids, dtype=torch.long)
        if len(self._allowed[g]) > _CACHE_LIMIT // 10:
            self._allowed[g].clear()
        self._allowed[g][key] = found
        return found

    # -- LogitsProcessor ---------------------------------------------------------------------------------------

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        began = time.perf_counter()
        rows = input_ids.shape[0]
        if rows % len(self.grammars):
            raise ValueError(f"{rows} rows for {len(self.grammars)} prompts: rows must be prompts × num_beams")
        beams = rows // len(self.grammars)
        generated = input_ids[:, self.prompt_length :].tolist()
        remaining = None if self.max_new_tokens is None else self.max_new_tokens - len(generated[0])
        states: dict[tuple[int, tuple[int, ...]], State] = {}
        banned = torch.ones(scores.shape, dtype=torch.bool, device="cpu")
        for row, ids in enumerate(generated):
            g = row // beams
            key = (g, tuple(ids))
            state = states.get(key)
            if state is None:
                state = self.state_of(g, ids)
                states[key] = state
            banned[row, self.allowed(g, state, remaining)] = False
        self._states = states
        result = scores.masked_fill(banned.to(scores.device), float("-inf"))
        self.seconds += time.perf_counter() - began
        self.steps += 1
        self.row_steps += rows
        return result


def make_logits_processor(
    vocabulary: TokenVocabulary,
    units: Sequence[Sequence[str]],
    labels: Sequence[str],
    prompt_length: int,
    max_new_tokens: int | None = None,
    no_repeat_lines: bool = True,
):
    """A ``LogitsProcessorList`` with one :class:`TripletLogitsProcessor` for a batch of prompts' units.

    ``no_repeat_lines``: refuse a line whose span pair was already written (:class:`RepeatFreeGrammar`); ``False``
    allows repeats (the grammar alone, the paper's constrained decoding)."""
    from transformers import LogitsProcessorList

    grammars: list[Grammar] = [TripletGrammar(u, labels) for u in units]
    if no_repeat_lines:
        grammars = [RepeatFreeGrammar(g) for g in grammars]
    return LogitsProcessorList([TripletLogitsProcessor(vocabulary, grammars, prompt_length, max_new_tokens)])


def state_after(grammar: Grammar, text: str) -> State | None:
    """The automaton state after ``text`` (``None`` when ``text`` leaves the grammar); for tests and debugging."""
    state = grammar.initial()
    for byte in text.encode("utf-8"):
        state = grammar.transitions(state).get(byte)
        if state is None:
            return None
    return state


def is_complete(grammar: Grammar, text: str) -> bool:
    """True when ``text`` is a whole completion of the grammar."""
    state = state_after(grammar, text)
    return state is not None and grammar.accepting(state)


__all__ = [
    "FieldKey",
    "RepeatFreeGrammar",
    "TokenVocabulary",
    "TripletGrammar",
    "TripletLogitsProcessor",
    "is_complete",
    "make_logits_processor",
    "state_after",
    "token_bytes",
]
