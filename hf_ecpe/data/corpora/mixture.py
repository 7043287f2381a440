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
                speakers = row["speakers"][start:index] if row["speakers"] else []
                return [
                    {
                        "id": f"{row['id']}/neutral-{start}",
                        "kind": row["kind"],
                        "language": row["language"],
                        "units": row["units"][start:index],
                        "speakers": speakers,
                        "emotions": [NEUTRAL] * (index - start),
                        "pairs": [],
                    }
                ]
            start = None
    return []


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
    parts["train"] += goemotions_neutral(goemotions / "train.tsv", NEGATIVE_COMMENTS["train"], SEED)
    parts["validation"] += goemotions_neutral(goemotions / "dev.tsv", NEGATIVE_COMMENTS["validation"], SEED)
    wanted = splits or list(parts)
    return DatasetDict({split: Dataset.from_list(parts[split], features=FEATURES) for split in wanted})


SPECS: dict[str, CorpusSpec] = {
    "emotion_cause_mix": CorpusSpec(
        name="emotion_cause_mix",
        folder="",
        configs=("default",),
        build=build_mixture,
        description="The embedded default's training mixture: ECPE-en fold 1 documents, RECCON-DD and ECF train "
        "conversations (10 % held out for selection), GoEmotions neutral comments and neutral conversation windows "
        "as negatives; labels in BASIC_EMOTIONS.",
        license="Inherits the component corpora's terms: research use only (ECPE-en, RECCON/DailyDialog CC BY-NC-SA, "
        "ECF GPL-3.0 research use); GoEmotions Apache-2.0. Do not redistribute.",
    ),
}

__all__ = ["SPECS", "build_mixture", "goemotions_neutral", "neutral_windows"]
