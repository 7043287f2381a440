"""Sentiment lexicons for the A2Net / RankCP reference decoding (``lexicon_based_extraction``).

The reference decoding keeps a document's top-1 pair always and its 2nd and 3rd pair only when P(pair) > 0.5 **and**
the emotion clause is a *sentiment* clause. RankCP / A2Net decide that with a list of clause numbers per document
(``data/sentimental_clauses.pkl``: the clauses that contain a word of the ANTUSD lexicon), shipped here as
``ecpe-zh/derived/sentimental_clauses.json`` (document id → 1-based clause numbers). For other corpora a word list
gives the same kind of mask from the text (CJK entries match as substrings, others as whole words, case-insensitive;
the matcher of ``pipeline("emotion-cause", lexicon=...)``).

Both kinds answer :meth:`Lexicon.unit_mask` for a canonical row (``id`` + ``units``); the trainer's metrics
(``EcpeTrainingArguments.decode_lexicon``), ``scripts.evaluate --lexicon`` and the recipes load them with
:func:`load_lexicon`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The RankCP / A2Net clause lexicon of the Chinese ECPE corpus, relative to the data root (``$HF_ECPE_DATA``).
ECPE_ZH_CLAUSE_LEXICON = "ecpe-zh/derived/sentimental_clauses.json"


class Lexicon:
    """A sentiment lexicon: which units of a document count as sentiment units."""

    source: str | None = None

    def unit_mask(self, row: Mapping[str, Any]) -> list[bool]:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class ClauseLexicon(Lexicon):
    """Sentiment units listed per document id (RankCP / A2Net ``sentimental_clauses``).

    Args:
        clauses: document id (as a string) → 0-based indices of its sentiment units.
        source: where it was read from (for messages).
    """

    clauses: dict[str, frozenset[int]]
    source: str | None = None

    @classmethod
    def from_one_based(cls, mapping: Mapping[Any, Iterable[int]], source: str | None = None) -> ClauseLexicon:
        """From the reference's form: ``{doc_id: [1-based clause numbers]}``."""
        clauses = {}
        for doc_id, numbers in mapping.items():
            numbers = list(numbers)
            if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in numbers):
                raise ValueError(
                    f"clause lexicon {source or ''}: document {doc_id!r} lists {numbers!r}; expected 1-based clause "
                    "numbers"
                )
            clauses[str(doc_id)] = frozenset(n - 1 for n in numbers)
        return cls(clauses, source)

    def unit_mask(self, row: Mapping[str, Any]) -> list[bool]:
        doc_id = row.get("id")
        units = row["units"]
        if doc_id is None or str(doc_id) not in self.clauses:
            raise ValueError(
                f"the clause lexicon {self.source or ''} has no entry for document id {doc_id!r}: a clause lexicon is "
                "keyed by the document ids of the corpus it was built for (ecpe_zh for sentimental_clauses.json); "
                "use a word list for other corpora"
            )
        listed = self.clauses[str(doc_id)]
        beyond = sorted(i + 1 for i in listed if i >= len(units))
        if beyond:
            raise ValueError(
                f"the clause lexicon {self.source or ''} lists clause(s) {beyond} of document {doc_id!r}, which has "
                f"{len(units)} units: the lexicon belongs to another version of the corpus"
            )
        return [index in listed for index in range(len(units))]


@dataclass
class WordLexicon(Lexicon):
    """Sentiment words: a unit is a sentiment unit when it contains one of them."""

    words: frozenset[str] = field(default_factory=frozenset)
    source: str | None = None

    def unit_mask(self, row: Mapping[str, Any]) -> list[bool]:
        from hf_ecpe.pipelines.emotion_cause import lexicon_mask_for

        return lexicon_mask_for(list(row["units"]), self.words)


def resolve_lexicon_path(value: str | os.PathLike, data_root: str | os.PathLike | None = None) -> Path:
    """``value`` as given when it exists, else relative to ``data_root`` (default ``$HF_ECPE_DATA``, else
    ``../shared/data``)."""
    path = Path(value)
    if path.is_file():
        return path
    root = Path(data_root) if data_root is not None else Path(os.environ.get("HF_ECPE_DATA", "../shared/data"))
    if not path.is_absolute() and (root / path).is_file():
        return root / path
    raise FileNotFoundError(
        f"lexicon {value}: no such file (also looked under the data root {root}; set HF_ECPE_DATA or give a path)"
    )


def load_lexicon(value: Any, data_root: str | os.PathLike | None = None) -> Lexicon | None:
    """A :class:`Lexicon` from a setting: ``None`` / ``"none"`` → None; a :class:`Lexicon` as is; a set / list of
    words → :class:`WordLexicon`; a mapping → :class:`ClauseLexicon` (1-based clause numbers per document id); a path
    (see :func:`resolve_lexicon_path`) to a JSON object (clause lexicon), a JSON list (words) or a text file with one
    word per line."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
        return None
    if isinstance(value, Lexicon):
        return value
    if isinstance(value, Mapping):
        return ClauseLexicon.from_one_based(value)
    if isinstance(value, (set, frozenset, list, tuple)):
        return _words(value, None)
    path = resolve_lexicon_path(value, data_root)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        data = json.loads(text)
        if isinstance(data, Mapping):
            return ClauseLexicon.from_one_based(data, source=str(value))
        if isinstance(data, list):
            return _words(data, str(value))
        raise ValueError(f"lexicon {path}: expected a JSON object (clause lexicon) or a list (words)")
    return _words([line.strip() for line in text.splitlines()], str(value))


def _words(values: Iterable[Any], source: str | None) -> WordLexicon:
    words = [value for value in values if value != ""]
    if any(not isinstance(word, str) for word in words):
        raise TypeError(f"a word lexicon holds strings; got {[w for w in words if not isinstance(w, str)][:3]!r}")
    return WordLexicon(frozenset(word.strip() for word in words if word.strip()), source)


__all__ = [
    "ECPE_ZH_CLAUSE_LEXICON",
    "ClauseLexicon",
    "Lexicon",
    "WordLexicon",
    "load_lexicon",
    "resolve_lexicon_path",
]
