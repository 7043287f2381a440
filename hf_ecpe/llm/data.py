"""Canonical rows (:mod:`hf_ecpe.data.schema`) → conversational prompt–completion rows for TRL's ``SFTTrainer``.

Triplets of a row come from its ``pairs``; a corpus that gives only one of the two spans gets the whole unit
(stripped of surrounding whitespace) as the other one:

- ``semeval2024_ecac`` (subtask 1): cause span as annotated; emotion span = the **whole emotion utterance** (the
  corpus has no emotion span; the SemEval scorer only checks the emotion utterance, so nothing finer is defined).
- ``ecpe_en`` / ``ecpe_zh``: emotion span = the emotion keyword; cause span = the whole cause clause.
- ``ntcir_eca``: both spans as annotated. ``ecf``/``reccon``-style rows without spans: both whole units.

The label set comes from the corpus (:func:`corpus_labels`), not from the split, so a label missing from a small
split still appears in the prompt. Rows keep no other columns (TRL rewrites datasets; keep gold rows separately for
generation-based evaluation, see :func:`hf_ecpe.llm.inference.EmotionCauseLLM.evaluate`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..data.schema import NEUTRAL, NO_SPAN, validate_row
from .prompts import DEFAULT_INSTRUCTION, build_prompt, render_completion, to_messages, whole_unit_span


def corpus_labels(name: str) -> tuple[str, ...]:
    """The emotion categories a pair can carry in corpus ``name`` (no ``neutral``)."""
    if name in ("semeval2024_ecac", "ecf"):
        from ..data.corpora.ecf import CAUSE_EMOTIONS

        return tuple(CAUSE_EMOTIONS)
    if name in ("ecpe_en", "ecpe_zh", "ntcir_eca"):
        from ..data.corpora.ecpe import ECPE_EMOTIONS

        return tuple(ECPE_EMOTIONS)
    raise ValueError(
        f"no fixed label set for corpus {name!r}; pass labels= explicitly or use labels_from_rows(rows) "
        "(known: semeval2024_ecac, ecf, ecpe_en, ecpe_zh, ntcir_eca)"
    )


def labels_from_rows(rows: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """Sorted categories seen in the rows' pairs and non-neutral unit emotions (for corpora without a fixed set)."""
    labels: set[str] = set()
    for row in rows:
        labels.update(p["category"] for p in row["pairs"] if p["category"])
        labels.update(e for e in row["emotions"] if e and e != NEUTRAL)
    return tuple(sorted(labels))


def row_triplets(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The gold triplets of one canonical row (missing spans → whole unit, see module docstring), deduplicated.

    A pair without a category takes the emotion unit's label; a pair with neither raises ``ValueError``."""
    units = row["units"]
    triplets: dict[tuple, dict[str, Any]] = {}
    for k, pair in enumerate(row["pairs"]):
        emotion, cause = int(pair["emotion"]), int(pair["cause"])
        emotion_span = list(pair["emotion_span"])
        cause_span = list(pair["cause_span"])
        if emotion_span == NO_SPAN:
            emotion_span = whole_unit_span(units[emotion])
        if cause_span == NO_SPAN:
            cause_span = whole_unit_span(units[cause])
        category = pair["category"] or (row["emotions"][emotion] if row.get("emotions") else "")
        if not category or category == NEUTRAL:
            raise ValueError(f"row {row.get('id')!r}, pair {k}: no emotion category; a triplet needs one")
        triplet = {
            "emotion_unit": emotion,
            "emotion_start": emotion_span[0],
            "emotion_end": emotion_span[1],
            "cause_unit": cause,
            "cause_start": cause_span[0],
            "cause_end": cause_span[1],
            "category": category,
        }
        triplets.setdefault(tuple(triplet.values()), triplet)
    return list(triplets.values())


def row_prompt(row: Mapping[str, Any], labels: Sequence[str], instruction: str = DEFAULT_INSTRUCTION) -> str:
    """The user message for one canonical row (``instruction``: the prompt variant, see :func:`build_prompt`)."""
    speakers = row.get("speakers") or None
    return build_prompt(
        row["units"], labels, speakers=speakers, kind=row.get("kind", "document"), instruction=instruction
    )


def to_prompt_completion(
    row: Mapping[str, Any], labels: Sequence[str], *, validate: bool = True, instruction: str = DEFAULT_INSTRUCTION
) -> dict[str, Any]:
    """One canonical row → ``{"prompt": [user message], "completion": [assistant message]}``.

    Raises ``ValueError`` when a gold category is not in ``labels`` (the prompt would forbid the gold answer)."""
    if validate:
        validate_row(row)
    triplets = row_triplets(row)
    unknown = sorted({t["category"] for t in triplets} - set(labels))
    if unknown:
        raise ValueError(f"row {row.get('id')!r}: categories {unknown} are not in the label set {list(labels)}")
    return to_messages(row_prompt(row, labels, instruction), render_completion(triplets, row["units"]))


def build_sft_dataset(
    rows: Iterable[Mapping[str, Any]], labels: Sequence[str], instruction: str = DEFAULT_INSTRUCTION
):
    """A ``datasets.Dataset`` of conversational prompt–completion rows (columns ``prompt``, ``completion``)."""
    from datasets import Dataset

    records = [to_prompt_completion(row, labels, instruction=instruction) for row in rows]
    if not records:
        raise ValueError("no rows to convert; the SFT dataset would be empty")
    return Dataset.from_list(records)


def completion_token_budget(
    rows: Iterable[Mapping[str, Any]], labels: Sequence[str], tokenizer: Any, margin: int = 16
) -> int:
    """Tokens of the longest gold completion of ``rows`` plus ``margin``: a generation budget that lets the model
    write every gold answer of these rows (a smaller one cuts answers short, which the parser counts as malformed)."""
    lengths = [
        len(tokenizer(render_completion(row_triplets(row), row["units"]), add_special_tokens=False)["input_ids"])
        for row in rows
    ]
    if not lengths:
        raise ValueError("completion_token_budget() got no rows")
    return max(lengths) + margin


def load_corpus_rows(
    name: str, data_root: str | Path, config: str | None = None, split: str = "train", *, lenient: bool = True
):
    """Canonical rows of one split of corpus ``name`` under ``data_root`` (``HF_ECPE_DATA``).

    ``lenient=True`` (default) repairs the corpora's known, documented noise (e.g. ECPE-en keywords misspelt in
    their clause) instead of raising; see the corpus modules."""
    from ..data.corpora import get_corpus

    spec = get_corpus(name)
    dataset = spec.build(spec.locate(data_root), spec.check_config(config), lenient=lenient)
    if split not in dataset:
        raise ValueError(f"{name}: no split {split!r}; available: {list(dataset)}")
    return dataset[split]


def _pair(emotion: int, cause: int, cause_span: Sequence[int], emotion_span: Sequence[int], category: str):
    from ..data.schema import make_pair

    return make_pair(emotion, cause, cause_span=cause_span, emotion_span=emotion_span, category=category)


def tiny_examples() -> list[dict[str, Any]]:
    """Six synthetic canonical rows (our own sentences) with both spans annotated, for CI and smoke tests."""
    rows = [
        ("doc", ["I was so happy", "because I passed the exam ."], [(0, 1, "so happy", "I passed the exam", "joy")]),
        ("doc", ["She cried all night", "after her dog died ."], [(0, 1, "cried", "her dog died", "sadness")]),
        ("doc", ["The bus was late again ."], []),
        (
            "conv",
            ["I lost my job today .", "Oh no , that is terrible !"],
            [(1, 0, "terrible", "I lost my job", "sadness")],
        ),
        (
            "conv",
            ["They cancelled the game !", "I am so angry about it ."],
            [(1, 0, "so angry", "cancelled the game", "anger")],
        ),
        (
            "conv",
            ["Look , snow in July !", "Wow , I did not expect that ."],
            [(1, 0, "Wow", "snow in July", "surprise")],
        ),
    ]
    out = []
    for k, (kind, units, spans) in enumerate(rows):
        pairs, emotions = [], ["neutral"] * len(units)
        for e, c, e_text, c_text, category in spans:
            e_start, c_start = units[e].index(e_text), units[c].index(c_text)
            pairs.append(_pair(e, c, [c_start, c_start + len(c_text)], [e_start, e_start + len(e_text)], category))
            emotions[e] = category
        conversation = kind == "conv"
        out.append(
            {
                "id": f"tiny-{k}",
                "kind": "conversation" if conversation else "document",
                "language": "en",
                "units": units,
                "speakers": ["A", "B"][: len(units)] if conversation else [],
                "emotions": emotions,
                "pairs": pairs,
            }
        )
    return out


#: The labels of :func:`tiny_examples`.
TINY_LABELS = ("anger", "joy", "sadness", "surprise")

__all__ = [
    "TINY_LABELS",
    "build_sft_dataset",
    "completion_token_budget",
    "corpus_labels",
    "labels_from_rows",
    "load_corpus_rows",
    "row_prompt",
    "row_triplets",
    "tiny_examples",
    "to_prompt_completion",
]
