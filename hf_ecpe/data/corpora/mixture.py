"""``emotion_cause_mix``: the training mixture of the embedded default model — English documents and conversations
with emotion–cause pairs, plus negatives (text without any pair), in one label vocabulary.

Built from the corpus folders under ``HF_ECPE_DATA`` (``data_dir`` is that root, not one corpus folder):

- **documents**: ECPE-en fold 1 (``ecpe-en``): train / validation as they are;
- **conversations**: RECCON-DD (``reccon``) and ECF 1.0 (``ecf``) train splits; 10 % of each train split's
  conversations (chosen by a seeded shuffle of the conversation ids) become the mixture's validation part, so the
  official dev splits stay untouched for reporting. SemEval-2024 is left out: its conversations overlap ECF's test.
- **negatives** (``kind`` kept, no pair, every emotion ``neutral``):
  GoEmotions comments labelled only ``neutral`` (``goemotions``; Apache-2.0), each split into clauses — 1,500 from
  train into the mixture's train, 300 from dev into its validation; and *neutral windows* of the conversational
  train splits: maximal runs of ≥ 3 consecutive utterances that are neutral and take part in no pair (the model learns
  that talk without emotion has no cause), at most one per conversation.
- **labels**: every emotion label is mapped to :data:`hf_ecpe.data.schema.BASIC_EMOTIONS` (``happiness`` → ``joy``
  ...), so the category head has one vocabulary; pair categories follow.

Splits: ``train``, ``validation`` (the selection split: checkpoint and decision threshold), and ``test`` = ECPE-en
fold-1 test (the benchmark reports each corpus's own dev/test split separately with ``scripts.evaluate``).

Config ``joined`` (the training inputs of the second default, built to look like the text users bring): the same
rows, but in ``train`` and ``validation`` (``test`` is untouched)

- **joined inputs**: half of each source's rows (seeded) are not kept alone but concatenated, in groups of
  2–6 documents or 2–4 conversations of the same corpus, into one long input with every pair re-indexed
  (:func:`join_rows`) — many units, many pairs, pairs far from the start;
- **paragraphs of emotion sentences**: every ECPE-en pair whose emotion and cause clauses lie at most
  ``SNIPPET_MAX_SPAN`` clauses apart becomes a *snippet* (its clauses from the first to the last of the two, plus
  every other pair inside them; :func:`emotion_snippets`) — causes before, at and after their emotion as in the
  corpus — and 1–8 snippets with 0–2 neutral GoEmotions comments between them form one paragraph
  (:func:`snippet_paragraphs`);
- **more negatives**: ``JOINED_NEGATIVE_COMMENTS`` neutral comments instead of ``NEGATIVE_COMMENTS``.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict

from ..errors import CorpusFormatError
from ..schema import FEATURES, NEUTRAL, basic_emotion
from .base import CorpusSpec, RepairReport

GOEMOTIONS_NEUTRAL = "27"  # index of "neutral" in goemotions/data/original/labels.txt
NEGATIVE_COMMENTS = {"train": 1500, "validation": 300}
JOINED_NEGATIVE_COMMENTS = {"train": 3000, "validation": 400}
#: ``joined`` config: group sizes (inclusive) per kind of input, share of rows joined, snippet reach, paragraph size.
JOIN_SIZES = {"document": (2, 6), "conversation": (2, 4)}
JOINED_SHARE = 0.5
SNIPPET_MAX_SPAN = 2
PARAGRAPH_SNIPPETS = (1, 8)
PARAGRAPH_NEUTRALS = (0, 2)
HELD_OUT_SHARE = 0.1
MIN_NEUTRAL_WINDOW = 3
SEED = 13


def _basic_row(row: dict[str, Any], corpus: str) -> dict[str, Any]:
    row = {key: row[key] for key in FEATURES}
    row["id"] = f"{corpus}/{row['id']}"  # ids are unique within a corpus only
    row["emotions"] = [basic_emotion(label) for label in row["emotions"]]
    row["pairs"] = [{**pair, "category": basic_emotion(pair.get("category") or "")} for pair in row["pairs"]]
    for pair in row["pairs"]:
        if pair["category"] == NEUTRAL:  # a pair's category is its emotion unit's
            pair["category"] = row["emotions"][pair["emotion"]]
    return row


def _build(root: Path, name: str, config: str, lenient: bool, report: RepairReport | None) -> DatasetDict:
    from . import get_corpus

    spec = get_corpus(name)
    folder = spec.locate(root)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"emotion_cause_mix needs the {name} corpus at {folder}; set HF_ECPE_DATA / --data_dir to the folder "
            f"that holds '{spec.folder}/'"
        )
    return spec.build(folder, config, lenient=lenient, report=report, splits=["train", "validation"])


def neutral_windows(row: dict[str, Any], min_length: int = MIN_NEUTRAL_WINDOW) -> list[dict[str, Any]]:
    """Runs of ≥ ``min_length`` consecutive neutral utterances that are in no pair, as conversations of their own
    (``id`` ``<id>/neutral-<start>``, no pairs); the first run only."""
    in_pair = {index for pair in row["pairs"] for index in (pair["emotion"], pair["cause"])}
    quiet = [label == NEUTRAL and index not in in_pair for index, label in enumerate(row["emotions"])]
    start = None
    for index, ok in enumerate([*quiet, False]):
        if ok and start is None:
            start = index
        elif not ok and start is not None:
            if index - start >= min_length:
                return [slice_row(row, start, index, f"{row['id']}/neutral-{start}")]
            start = None
    return []


def slice_row(row: dict[str, Any], start: int, stop: int, row_id: str) -> dict[str, Any]:
    """Units ``start:stop`` of ``row`` as a row of its own (``id`` ``row_id``), with the pairs that lie wholly inside
    them, re-indexed; the inverse of :func:`join_rows`."""
    inside = [p for p in row["pairs"] if start <= p["emotion"] < stop and start <= p["cause"] < stop]
    return {
        "id": row_id,
        "kind": row["kind"],
        "language": row["language"],
        "units": row["units"][start:stop],
        "speakers": row["speakers"][start:stop] if row["speakers"] else [],
        "emotions": row["emotions"][start:stop],
        "pairs": [{**p, "emotion": p["emotion"] - start, "cause": p["cause"] - start} for p in inside],
    }


def join_rows(rows: list[dict[str, Any]], row_id: str) -> dict[str, Any]:
    """One input made of ``rows`` one after the other: units, speakers and emotions concatenated, every pair's unit
    indices shifted by the units before it (its character spans are within a unit and stay). All rows must be of the
    same kind; speakers are kept as they are (a conversation's names stay its own)."""
    kinds = {row["kind"] for row in rows}
    if len(kinds) != 1:
        raise ValueError(f"join_rows: rows of one kind only, got {sorted(kinds)}")
    joined: dict[str, Any] = {
        "id": row_id,
        "kind": rows[0]["kind"],
        "language": rows[0]["language"],
        "units": [],
        "speakers": [],
        "emotions": [],
        "pairs": [],
    }
    for row in rows:
        offset = len(joined["units"])
        if row["kind"] == "conversation" and len(row["speakers"]) != len(row["units"]):
            raise ValueError(
                f"join_rows: {row['id']} has {len(row['speakers'])} speakers for {len(row['units'])} units"
            )
        joined["units"] += row["units"]
        joined["speakers"] += row["speakers"]
        joined["emotions"] += row["emotions"]
        joined["pairs"] += [
            {**pair, "emotion": pair["emotion"] + offset, "cause": pair["cause"] + offset} for pair in row["pairs"]
        ]
    return joined


def joined_inputs(
    rows: list[dict[str, Any]], rng: random.Random, sizes: tuple[int, int], share: float = JOINED_SHARE
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(alone, joined)``: a seeded ``share`` of ``rows`` concatenated in groups of ``sizes[0]..sizes[1]``
    (:func:`join_rows`, id ``joined/<first id>+<n - 1>``), the rest kept alone; every row is used exactly once."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    cut = round(share * len(rows))
    picked, alone = order[:cut], sorted(order[cut:])
    joined = []
    start = 0
    while start < len(picked):
        size = rng.randint(*sizes)
        group = [rows[index] for index in picked[start : start + size]]
        joined.append(join_rows(group, f"joined/{group[0]['id']}+{len(group) - 1}"))
        start += size
    return [rows[index] for index in alone], joined


def emotion_snippets(row: dict[str, Any], max_span: int = SNIPPET_MAX_SPAN) -> list[dict[str, Any]]:
    """Short documents cut from ``row`` around its pairs: for each pair with ``|emotion - cause| <= max_span``, the
    clauses from the first to the last of the two, with every pair of ``row`` that lies inside them (re-indexed);
    a snippet is skipped when a pair crosses its border (it would lose half of it), and each span is cut once."""
    snippets, seen = [], set()
    for pair in row["pairs"]:
        start, end = sorted((pair["emotion"], pair["cause"]))
        if end - start > max_span or (start, end) in seen:
            continue
        seen.add((start, end))
        crossing = [p for p in row["pairs"] if (start <= p["emotion"] <= end) != (start <= p["cause"] <= end)]
        if not crossing:
            snippets.append(slice_row(row, start, end + 1, f"{row['id']}/snippet-{start}-{end}"))
    return snippets


def snippet_paragraphs(
    snippets: list[dict[str, Any]], neutrals: list[dict[str, Any]], rng: random.Random
) -> list[dict[str, Any]]:
    """Paragraphs of ``PARAGRAPH_SNIPPETS`` snippets (each used once, seeded order) with ``PARAGRAPH_NEUTRALS``
    neutral documents inserted at random places between them (:func:`join_rows`)."""
    order = list(range(len(snippets)))
    rng.shuffle(order)
    paragraphs, start = [], 0
    while start < len(order):
        size = rng.randint(*PARAGRAPH_SNIPPETS)
        parts = [snippets[index] for index in order[start : start + size]]
        if neutrals:
            for _ in range(rng.randint(*PARAGRAPH_NEUTRALS)):
                parts.insert(rng.randint(0, len(parts)), neutrals[rng.randrange(len(neutrals))])
        paragraphs.append(join_rows(parts, f"paragraph/{parts[0]['id']}+{len(parts) - 1}"))
        start += size
    return paragraphs


def goemotions_neutral(path: Path, limit: int, seed: int) -> list[dict[str, Any]]:
    """Up to ``limit`` GoEmotions comments labelled only ``neutral``, split into clauses, as documents without
    pairs (seeded sample)."""
    from ..clauses import split_clauses

    if not path.is_file():
        raise FileNotFoundError(f"emotion_cause_mix needs {path} (GoEmotions, in ../shared/data/goemotions)")
    comments = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line_number, fields in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if len(fields) != 3:
                raise CorpusFormatError(path, f"line {line_number}", f"expected text, labels, id; got {fields!r:.80}")
            text, labels, comment_id = fields
            if labels == GOEMOTIONS_NEUTRAL and "[NAME]" not in text and len(text.split()) >= 4:
                comments.append((comment_id, text))
    random.Random(seed).shuffle(comments)
    rows = []
    for comment_id, text in comments:
        units = [unit for unit in split_clauses(text, "en") if unit.strip()]
        if not units:
            continue
        rows.append(
            {
                "id": f"goemotions/{comment_id}",
                "kind": "document",
                "language": "en",
                "units": units,
                "speakers": [],
                "emotions": [NEUTRAL] * len(units),
                "pairs": [],
            }
        )
        if len(rows) == limit:
            break
    return rows


def build_mixture(
    data_dir: str | Path,
    config: str = "default",
    lenient: bool = True,
    report: RepairReport | None = None,
    splits: list[str] | None = None,
) -> DatasetDict:
    """The mixture (see the module docstring) from the corpora root ``data_dir``. The component corpora are built
    with their known noise repaired (``lenient=True``, as their default dataset scripts do; ``False`` refuses it)."""
    root = Path(data_dir)
    rng = random.Random(SEED)
    parts: dict[str, list[dict[str, Any]]] = {"train": [], "validation": [], "test": []}
    documents = _build(root, "ecpe_en", "fold1", lenient, report)
    parts["train"] += [_basic_row(row, "ecpe_en") for row in documents["train"]]
    parts["validation"] += [_basic_row(row, "ecpe_en") for row in documents["validation"]]
    from . import get_corpus

    ecpe = get_corpus("ecpe_en")
    test = ecpe.build(ecpe.locate(root), "fold1", lenient=lenient, report=report, splits=["test"])
    parts["test"] += [_basic_row(row, "ecpe_en") for row in test["test"]]
    for name, corpus_config in (("reccon", "dailydialog"), ("ecf", "default")):
        rows = [_basic_row(row, name) for row in _build(root, name, corpus_config, lenient, report)["train"]]
        order = sorted(range(len(rows)), key=lambda i: rows[i]["id"])
        rng.shuffle(order)
        held_out = set(order[: max(1, round(HELD_OUT_SHARE * len(rows)))])
        for index, row in enumerate(rows):
            split = "validation" if index in held_out else "train"
            parts[split].append(row)
            parts[split] += neutral_windows(row)
    goemotions = root / "goemotions" / "data" / "original"
    negatives = JOINED_NEGATIVE_COMMENTS if config == "joined" else NEGATIVE_COMMENTS
    for split, file in (("train", "train.tsv"), ("validation", "dev.tsv")):
        comments = goemotions_neutral(goemotions / file, negatives[split], SEED)
        if config == "joined":
            parts[split] = _joined_split(parts[split], comments, random.Random(f"{SEED}/{split}"))
        parts[split] += comments
    wanted = splits or list(parts)
    return DatasetDict({split: Dataset.from_list(parts[split], features=FEATURES) for split in wanted})


def _joined_split(
    rows: list[dict[str, Any]], neutral_comments: list[dict[str, Any]], rng: random.Random
) -> list[dict[str, Any]]:
    """The ``joined`` config's rows of one split (see the module docstring) from the ``default`` rows."""
    out: list[dict[str, Any]] = []
    paragraphs = snippet_paragraphs(
        [snippet for row in rows if row["id"].startswith("ecpe_en/") for snippet in emotion_snippets(row)],
        neutral_comments,
        rng,
    )
    for source in ("ecpe_en/", "reccon/", "ecf/"):
        own = [row for row in rows if row["id"].startswith(source) and "/neutral-" not in row["id"]]
        alone, joined = joined_inputs(own, rng, JOIN_SIZES[own[0]["kind"]] if own else (2, 2))
        out += alone + joined
    out += [row for row in rows if "/neutral-" in row["id"]]
    return out + paragraphs


SPECS: dict[str, CorpusSpec] = {
    "emotion_cause_mix": CorpusSpec(
        name="emotion_cause_mix",
        folder="",
        configs=("default", "joined"),
        build=build_mixture,
        description="The embedded default's training mixture: ECPE-en fold 1 documents, RECCON-DD and ECF train "
        "conversations (10 % held out for selection), GoEmotions neutral comments and neutral conversation windows "
        "as negatives; labels in BASIC_EMOTIONS. Config 'joined': half the rows concatenated into long inputs, paragraphs of ECPE-en emotion snippets with neutral comments, more negatives.",
        license="Inherits the component corpora's terms: research use only (ECPE-en, RECCON/DailyDialog CC BY-NC-SA, "
        "ECF GPL-3.0 research use); GoEmotions Apache-2.0. Do not redistribute.",
    ),
}

__all__ = [
    "SPECS",
    "build_mixture",
    "emotion_snippets",
    "goemotions_neutral",
    "join_rows",
    "joined_inputs",
    "neutral_windows",
    "slice_row",
    "snippet_paragraphs",
]
