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
import json
import time
from collections.abc import Sequence
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

    def walk(self, grammar: TripletGrammar, state: State) -> dict[int, State]:
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
        self.escaped = b"".join(pieces)
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


class TripletLogitsProcessor(LogitsProcessor):
    """Masks the tokens that would leave the completion grammar, per row (see the module docstring).

    Args:
        vocabulary: the tokenizer's :class:`TokenVocabulary`.
        grammars: one :class:`TripletGrammar` per prompt of the batch (rows ``b * num_beams ... + num_beams - 1``
            of ``input_ids`` belong to prompt ``b``).
        prompt_length: the (left-padded) prompt length of the batch; ids after it are the generated ones.
        max_new_tokens: the generation budget; when given, a completion always finishes within it.

    Call: ``(input_ids (rows, length), scores (rows, vocab)) -> scores`` with disallowed tokens set to ``-inf``.
    ``seconds`` / ``steps`` / ``row_steps`` accumulate the time spent here (the constraint's overhead).
    """

    def __init__(
        self,
        vocabulary: TokenVocabulary,
        grammars: Sequence[TripletGrammar],
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
):
    """A ``LogitsProcessorList`` with one :class:`TripletLogitsProcessor` for a batch of prompts' units."""
    from transformers import LogitsProcessorList

    grammars = [TripletGrammar(u, labels) for u in units]
    return LogitsProcessorList([TripletLogitsProcessor(vocabulary, grammars, prompt_length, max_new_tokens)])


def state_after(grammar: TripletGrammar, text: str) -> State | None:
    """The automaton state after ``text`` (``None`` when ``text`` leaves the grammar); for tests and debugging."""
    state = grammar.initial()
    for byte in text.encode("utf-8"):
        state = grammar.transitions(state).get(byte)
        if state is None:
            return None
    return state


def is_complete(grammar: TripletGrammar, text: str) -> bool:
    """True when ``text`` is a whole completion of the grammar."""
    state = state_after(grammar, text)
    return state is not None and grammar.accepting(state)


__all__ = [
    "TokenVocabulary",
    "TripletGrammar",
    "TripletLogitsProcessor",
    "is_complete",
    "make_logits_processor",
    "state_after",
    "token_bytes",
]
