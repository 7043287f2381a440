"""ED-cause: EmpatheticDialogues with utterance-level emotion-cause labels (Gao et al., Findings of EMNLP 2021).

Expected layout (as in ``A-Rain/EmpDialogue_RecEC``; ``data_dir`` is the corpus folder)::

    empdialogue-recec/Data/{train,valid,test}_with_cause.json   JSON lines -> train / validation / test
    empdialogue-recec/emotion/emotion_set.txt                   the 32 labels, one per line (optional)

Each line is ``{"conv_id", "utters": [[token, ...], ...], "context": <one of 32 labels>, "emotion_cause": [i, ...]}``:
utterances are pre-tokenised and lower-cased, ``context`` is the conversation-level emotion of the speaker (the
person who started the conversation), and ``emotion_cause`` holds 0-based indices of the utterances that a
RECCON-trained detector predicted as causes (silver labels, not human annotation).

Conversion:

- units are the tokens joined by one space; speakers alternate ``"speaker"`` (even indices, who starts) and
  ``"listener"`` (odd), as in the authors' ``user_ids``.
- ``conversation_emotion`` (extra column) always holds ``context`` verbatim, one of the 32 labels.
- the emotion utterance is the **last speaker utterance** (the largest even index): the speaker owns the emotion,
  and a RECCON-trained detector searches the causes of a target utterance in its history up to the target itself.
  The data agree: in ``valid_with_cause.json`` no cause index exceeds the last speaker utterance (0 of 4,884 cause
  links; a conversation that ends on a listener turn never lists that turn), and 2,639 of the 2,769 conversations
  list the last speaker utterance itself as a cause (RECCON's frequent self-cause), against 1,356 for the first
  utterance. Pairing the first utterance instead would put 3,528 of the 4,884 causes after their emotion.
  ``emotion_utterance="first"`` in :func:`rows_from_ed_cause_lines` gives that other reading.
- that utterance's ``emotions`` entry is ``normalize_emotion(context)`` (``angry`` -> ``anger``, recorded in the
  report); the others are ``"neutral"``, meaning "not labelled" (ED labels conversations, not utterances).
- one pair per cause index, ``category`` = the normalised context emotion, no spans.
- an index outside the conversation, a label outside the label set, a missing field, a duplicated ``conv_id``
  or an unparsable line is a :class:`CorpusFormatError`. ED-cause has no known noise; the one thing ``lenient``
  changes is an utterance without tokens, which raises in strict mode (the schema and the pipeline refuse empty
  units) and drops its conversation (reported) in lenient mode. A file without a conversation raises.
- split files: ``valid_with_cause.json`` must exist (a missing one raises
  :class:`~hf_ecpe.data.errors.MissingSplitError`); the train and test files are noted when absent (the test
  split is kept for independent evaluation). ``splits=[...]`` builds exactly the named splits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict

from ..errors import CorpusFormatError, read_text
from ..schema import NEUTRAL, dedupe_pairs, features_for, make_pair, normalize_emotion
from .base import CorpusSpec, RepairReport, first_empty_unit, require_rows, select_split_files

# emotion/emotion_set.txt of A-Rain/EmpDialogue_RecEC, in its order (the emotion reasoner's class ids).
ED_EMOTIONS: tuple[str, ...] = (
    "sentimental", "afraid", "proud", "faithful", "terrified", "joyful", "angry", "sad",
    "jealous", "grateful", "prepared", "embarrassed", "excited", "annoyed", "lonely", "ashamed",
    "guilty", "surprised", "nostalgic", "confident", "furious", "disappointed", "caring", "trusting",
    "disgusted", "anticipating", "anxious", "hopeful", "content", "impressed", "apprehensive", "devastated",
)  # fmt: skip

SPLIT_FILES: dict[str, str] = {
    "train": "Data/train_with_cause.json",
    "validation": "Data/valid_with_cause.json",
    "test": "Data/test_with_cause.json",
}
LABEL_FILE = "emotion/emotion_set.txt"
OPTIONAL_SPLITS = ("train", "test")
COLUMNS = ("id", "kind", "language", "units", "speakers", "emotions", "pairs", "conversation_emotion")
EMOTION_UTTERANCE_CHOICES = ("last_speaker", "first")


def read_label_set(path: str | Path) -> tuple[str, ...]:
    """The labels of ``emotion_set.txt`` (one per line, blank lines ignored); duplicates raise."""
    labels = tuple(line.strip() for line in read_text(path).splitlines() if line.strip())
    if not labels:
        raise CorpusFormatError(path, "whole file", "no labels", "expected one emotion label per line")
    seen: set[str] = set()
    for number, label in enumerate(labels, start=1):
        if label in seen:
            raise CorpusFormatError(path, f"label {number}", f"label {label!r} is listed twice")
        seen.add(label)
    return labels


def emotion_utterance_index(n_utterances: int, rule: str = "last_speaker") -> int:
    """Index of the utterance that expresses the conversation emotion: the last even index, or 0 for ``"first"``."""
    if rule not in EMOTION_UTTERANCE_CHOICES:
        raise ValueError(f"emotion_utterance must be one of {EMOTION_UTTERANCE_CHOICES}, got {rule!r}")
    if n_utterances < 1:
        raise ValueError("a conversation needs at least one utterance")
    return 0 if rule == "first" else (n_utterances - 1) - (n_utterances - 1) % 2


def _require(record: dict[str, Any], key: str, path: Path, where: str) -> Any:
    if key not in record:
        raise CorpusFormatError(path, where, f"missing field {key!r} (fields present: {sorted(record)})")
    return record[key]


def _utterances(utters: Any, path: Path, where: str) -> list[str]:
    if not isinstance(utters, list) or not utters:
        raise CorpusFormatError(path, where, f"'utters' must be a non-empty list of token lists, got {utters!r}")
    units = []
    for k, tokens in enumerate(utters):
        if not isinstance(tokens, list) or not all(isinstance(token, str) for token in tokens):
            raise CorpusFormatError(path, where, f"utterance {k} must be a list of string tokens, got {tokens!r}")
        units.append(" ".join(tokens))
    return units


def _cause_indices(causes: Any, n_units: int, path: Path, where: str) -> list[int]:
    if not isinstance(causes, list):
        raise CorpusFormatError(path, where, f"'emotion_cause' must be a list of utterance indices, got {causes!r}")
    for cause in causes:
        if isinstance(cause, bool) or not isinstance(cause, int):
            raise CorpusFormatError(path, where, f"cause index {cause!r} is not an integer")
        if not 0 <= cause < n_units:
            raise CorpusFormatError(
                path, where, f"cause index {cause} is out of range 0..{n_units - 1} (the conversation's utterances)"
            )
    return causes


def rows_from_ed_cause_lines(
    text: str,
    *,
    path: str | Path = "<memory>",
    labels: Sequence[str] = ED_EMOTIONS,
    emotion_utterance: str = "last_speaker",
    report: RepairReport | None = None,
    lenient: bool = True,
) -> list[dict[str, Any]]:
    """Canonical rows from the text of one ``*_with_cause.json`` file (JSON lines), in file order.

    ``emotion_utterance`` picks the utterance paired with the causes: ``"last_speaker"`` (default, see the module
    docstring) or ``"first"``. ``path`` only names the file in error messages.
    """
    path = Path(path)
    report = report if report is not None else RepairReport(announce=True)
    label_set = frozenset(labels)
    rows: list[dict[str, Any]] = []
    seen_ids: dict[str, int] = {}
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {line_number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusFormatError(
                path, f"{where} column {err.colno}", f"invalid JSON ({err.msg})", "is the line truncated?"
            ) from err
        if not isinstance(record, dict):
            raise CorpusFormatError(path, where, f"expected a JSON object, got {type(record).__name__}")
        conv_id = _require(record, "conv_id", path, where)
        if not isinstance(conv_id, str):
            raise CorpusFormatError(path, where, f"'conv_id' must be a string, got {conv_id!r}")
        where = f"line {line_number} (conv_id {conv_id!r})"
        if conv_id in seen_ids:
            raise CorpusFormatError(path, where, f"conv_id already used on line {seen_ids[conv_id]}")
        seen_ids[conv_id] = line_number
        units = _utterances(_require(record, "utters", path, where), path, where)
        empty = first_empty_unit(units)
        if empty is not None:
            problem = f"utterance {empty} has no tokens (the schema and the pipeline refuse empty units)"
            if not lenient:
                raise CorpusFormatError(path, where, problem, "pass lenient=True to drop the conversation (reported)")
            report.add("conversation with an empty utterance dropped (lenient)", f"{path.name} {where}")
            continue
        context = _require(record, "context", path, where)
        if context not in label_set:
            raise CorpusFormatError(
                path,
                where,
                f"context emotion {context!r} is not one of the {len(label_set)} ED labels {sorted(label_set)}",
            )
        causes = _cause_indices(_require(record, "emotion_cause", path, where), len(units), path, where)

        emotion = normalize_emotion(context)
        if emotion != context:
            report.add("emotion label normalised", f"{context!r} -> {emotion!r} ({where})")
        target = emotion_utterance_index(len(units), emotion_utterance)
        emotions = [NEUTRAL] * len(units)
        emotions[target] = emotion
        pairs, removed = dedupe_pairs(make_pair(target, cause, category=emotion) for cause in causes)
        for _ in range(removed):
            report.add("duplicate pair removed", where)
        rows.append(
            {
                "id": conv_id,
                "kind": "conversation",
                "language": "en",
                "units": units,
                "speakers": ["speaker" if k % 2 == 0 else "listener" for k in range(len(units))],
                "emotions": emotions,
                "pairs": pairs,
                "conversation_emotion": context,
            }
        )
    return rows


def build_ed_cause(
    data_dir: str | Path,
    config: str | None = None,
    lenient: bool = True,
    report: RepairReport | None = None,
    splits: list[str] | None = None,
) -> DatasetDict:
    """ED-cause as a canonical ``DatasetDict`` from ``Data/*_with_cause.json`` (see the module docstring).

    The label set comes from ``emotion/emotion_set.txt`` when present, else ``ED_EMOTIONS``.
    """
    config = SPECS["ed_cause"].check_config(config)
    data_dir = Path(data_dir)
    report = report if report is not None else RepairReport(announce=True)
    paths = select_split_files(
        f"ed_cause/{config}",
        {split: data_dir / rel for split, rel in SPLIT_FILES.items()},
        optional=OPTIONAL_SPLITS,
        splits=splits,
        report=report,
    )
    label_file = data_dir / LABEL_FILE
    labels = read_label_set(label_file) if label_file.is_file() else ED_EMOTIONS
    features = features_for(COLUMNS)
    dataset = DatasetDict()
    for split, path in paths.items():
        rows = rows_from_ed_cause_lines(read_text(path), path=path, labels=labels, report=report, lenient=lenient)
        dataset[split] = Dataset.from_list(require_rows(rows, path, "conversations"), features=features)
    return dataset


SPECS: dict[str, CorpusSpec] = {
    "ed_cause": CorpusSpec(
        name="ed_cause",
        folder="empdialogue-recec",
        configs=("default",),
        build=build_ed_cause,
        description=(
            "EmpatheticDialogues conversations (lower-cased, tokenised) with the 32-way conversation emotion "
            "(column `conversation_emotion`) and cause utterances predicted by a RECCON-trained detector (silver "
            "labels) as released by Gao et al. (2021). Pairs link the last speaker utterance to each cause utterance."
        ),
        license="EmpatheticDialogues is CC BY-NC 4.0 (non-commercial research); no licence file in A-Rain/EmpDialogue_RecEC.",
        citation=(
            "@inproceedings{gao-etal-2021-improving-empathetic,\n  title={Improving Empathetic Response Generation by "
            "Recognizing Emotion Cause in Conversations},\n  author={Gao, Jun and Liu, Yuhan and Deng, Haolin and "
            "Wang, Wei and Cao, Yu and Du, Jiachen and Xu, Ruifeng},\n  booktitle={Findings of the Association for "
            "Computational Linguistics: EMNLP 2021},\n  pages={807--819},\n  year={2021}\n}\n"
            "@inproceedings{rashkin-etal-2019-towards,\n  title={Towards Empathetic Open-domain Conversation Models: "
            "A New Benchmark and Dataset},\n  author={Rashkin, Hannah and Smith, Eric Michael and Li, Margaret and "
            "Boureau, Y-Lan},\n  booktitle={Proceedings of ACL},\n  year={2019}\n}"
        ),
    )
}
