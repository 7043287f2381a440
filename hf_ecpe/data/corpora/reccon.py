"""RECCON (DailyDialog, IEMOCAP) and MECAD: conversations annotated with utterance-level cause evidence.

Both corpora use the RECCON JSON layout: one object mapping a dialogue id to ``[[turn, turn, ...]]`` (a list that
holds one list of turns). Each turn has ``turn`` (1-based position), ``speaker``, ``utterance`` and ``emotion``;
a non-neutral turn may carry ``expanded emotion cause evidence`` (1-based turn numbers of its cause utterances, or
``"b"`` for a background cause that lies outside the conversation) and, in RECCON, the aligned
``expanded emotion cause span`` (the cause span text, an exact substring of its cause utterance; ``"b"`` for a
background cause). MECAD adds ``cause_type`` (one per emotion turn: event, opinion, emotional_influence,
self_reflection or greeting) and multimodal fields that we do not use (``video``, ``cause_modality``,
``confidence``, ``annotator_name``). The unexpanded keys ``emotion cause evidence`` / ``emotion cause span`` (and the
README's plural ``expanded emotion cause spans``) are read when the expanded keys are absent.

Expected layout (as in the authors' repositories; ``data_dir`` is the corpus folder)::

    reccon/data/original_annotation/dailydialog_{train,valid,test}.json   config "dailydialog"
    reccon/data/original_annotation/iemocap_test.json                     config "iemocap" (test only)
    mecad/data/MECAD/{train,valid,test}_data_pair.json                    config "default"

Conversion (0-based indices everywhere):

- one pair per (emotion turn, cause turn, span): ``cause_span`` is the character ``[start, end)`` of the span text
  inside the cause utterance (its first occurrence when it occurs more than once, recorded in the report);
  ``category`` is the emotion turn's label. MECAD has no spans (``[-1, -1]``) and one pair per (emotion, cause).
- ``"b"`` evidence sets the per-unit flag ``background_cause`` and makes no pair.
- exact duplicate pairs (the same cause turn and span listed twice) are removed and counted in the report.
- labels go through :func:`hf_ecpe.data.schema.normalize_emotion` (``happy`` → ``happiness``, ``happines`` →
  ``happiness``; each mapping is counted in the report) and must then belong to the config's label set.
  ``excited`` occurs twice in RECCON-DailyDialog train although it is an IEMOCAP label, not one of DailyDialog's
  seven: strict mode keeps it as annotated (the schema keeps genuine labels) and reports it; ``lenient=True``
  repairs it to ``happiness`` (its Ekman class) and reports that. Any other unknown label is a CorpusFormatError.
- a span that is not a substring of its cause utterance, or evidence on a neutral turn, raises in strict mode;
  ``lenient=True`` keeps the pair without a span / drops the evidence, and reports it.
- an utterance without text (``""`` or whitespace) raises in strict mode (the schema and the pipeline refuse empty
  units); ``lenient=True`` drops its dialogue and reports it.
- split files: RECCON-DailyDialog needs its train and valid files (a missing one raises
  :class:`~hf_ecpe.data.errors.MissingSplitError` naming it); its test file, withheld for independent evaluation,
  is noted when absent. MECAD needs ``valid_data_pair.json`` (no train split is public; train and test are noted
  when absent). ``splits=[...]`` builds exactly the named splits. A file without a dialogue (``{}``) raises.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict

from ..errors import CorpusFormatError, read_text
from ..schema import NEUTRAL, NO_SPAN, dedupe_pairs, features_for, make_pair, normalize_emotion
from .base import CorpusSpec, RepairReport, first_empty_unit, require_rows, select_split_files

EVIDENCE_KEYS = ("expanded emotion cause evidence", "emotion cause evidence")
SPAN_KEYS = ("expanded emotion cause span", "expanded emotion cause spans", "emotion cause span")
BACKGROUND_EVIDENCE = "b"

EKMAN_LABELS = frozenset({NEUTRAL, "happiness", "surprise", "anger", "sadness", "disgust", "fear"})
# IEMOCAP's categorical labels after normalize_emotion (RECCON-IE: happy, sad, angry, excited, frustrated, neutral).
IEMOCAP_LABELS = EKMAN_LABELS | {"excited", "frustrated"}

RECCON_SPLIT_FILES: dict[str, dict[str, str]] = {
    "dailydialog": {
        "train": "data/original_annotation/dailydialog_train.json",
        "validation": "data/original_annotation/dailydialog_valid.json",
        "test": "data/original_annotation/dailydialog_test.json",
    },
    "iemocap": {"test": "data/original_annotation/iemocap_test.json"},
}
MECAD_SPLIT_FILES: dict[str, dict[str, str]] = {
    "default": {
        "train": "data/MECAD/train_data_pair.json",
        "validation": "data/MECAD/valid_data_pair.json",
        "test": "data/MECAD/test_data_pair.json",
    }
}
# Splits the public releases withhold: their absence is noted in the report; any other missing split file raises.
OPTIONAL_SPLITS: dict[str, tuple[str, ...]] = {
    "reccon/dailydialog": ("test",),
    "reccon/iemocap": (),
    "mecad/default": ("train", "test"),
}


@dataclass(frozen=True)
class AnnotationScheme:
    """What differs between the RECCON-layout corpora.

    ``labels``: the canonical label set; ``label_repairs``: known out-of-set labels and their lenient repair;
    ``has_spans``: whether evidence comes with span texts; ``has_cause_types``: whether emotion turns carry
    ``cause_type`` (emitted as the ``cause_types`` column, aligned with ``pairs``).
    """

    name: str
    language: str
    labels: frozenset[str]
    label_repairs: Mapping[str, str] = field(default_factory=dict)
    has_spans: bool = True
    has_cause_types: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        extras = ("background_cause", "cause_types") if self.has_cause_types else ("background_cause",)
        return ("id", "kind", "language", "units", "speakers", "emotions", "pairs", *extras)


SCHEMES: dict[str, AnnotationScheme] = {
    "reccon/dailydialog": AnnotationScheme(
        "RECCON-DailyDialog", "en", EKMAN_LABELS, label_repairs={"excited": "happiness"}
    ),
    "reccon/iemocap": AnnotationScheme("RECCON-IEMOCAP", "en", IEMOCAP_LABELS),
    "mecad/default": AnnotationScheme("MECAD", "zh", EKMAN_LABELS, has_spans=False, has_cause_types=True),
}


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def load_annotation_json(path: str | Path) -> dict[str, Any]:
    """Parse one RECCON-layout file. Truncated/invalid JSON, a duplicated key (which ``json`` would silently
    overwrite) or a top level that is not an object raise :class:`CorpusFormatError`."""
    path = Path(path)
    text = read_text(path)
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as err:
        raise CorpusFormatError(
            path, f"line {err.lineno} column {err.colno}", f"invalid JSON ({err.msg})", "is the file truncated?"
        ) from err
    except _DuplicateKey as err:
        raise CorpusFormatError(
            path, f"key {err.key!r}", "the key appears twice in one JSON object (a later copy would overwrite it)"
        ) from err
    if not isinstance(data, dict):
        raise CorpusFormatError(
            path, "top level", f"expected an object mapping dialogue ids to [[turn, ...]], got {type(data).__name__}"
        )
    return data


class _Converter:
    """Turns the parsed JSON of one file into canonical rows (see the module docstring)."""

    def __init__(self, scheme: AnnotationScheme, path: str | Path, lenient: bool, report: RepairReport):
        self.scheme, self.path, self.lenient, self.report = scheme, Path(path), lenient, report

    def error(self, where: str, problem: str, hint: str = "") -> CorpusFormatError:
        return CorpusFormatError(self.path, where, problem, hint)

    def field(self, turn: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
        if key not in turn:
            raise self.error(where, f"missing field {key!r} (fields present: {sorted(turn)})")
        value = turn[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise self.error(where, f"field {key!r} must be of type {kind.__name__}, got {value!r}")
        return value

    def turns(self, dialogue_id: str, value: Any) -> list[dict[str, Any]]:
        where = f"dialogue {dialogue_id!r}"
        if not (isinstance(value, list) and len(value) == 1 and isinstance(value[0], list)):
            raise self.error(where, "expected [[turn, turn, ...]] (a list holding one list of turns)")
        turns = value[0]
        if not turns:
            raise self.error(where, "the dialogue has no turns")
        for position, turn in enumerate(turns, start=1):
            if not isinstance(turn, dict):
                raise self.error(f"{where}, turn {position}", f"expected an object, got {type(turn).__name__}")
        return turns

    def emotion(self, raw: str, where: str) -> str:
        label = normalize_emotion(raw)
        if label != raw.strip().lower():
            self.report.add("emotion label normalised", f"{raw!r} -> {label!r} ({where})")
        if label in self.scheme.labels:
            return label
        if label in self.scheme.label_repairs:
            if self.lenient:
                repaired = self.scheme.label_repairs[label]
                self.report.add("emotion label repaired (lenient)", f"{label!r} -> {repaired!r} ({where})")
                return repaired
            self.report.add(f"emotion label outside the {self.scheme.name} label set kept", f"{label!r} ({where})")
            return label
        raise self.error(
            where,
            f"emotion {raw!r} is not one of the {self.scheme.name} labels {sorted(self.scheme.labels)}",
            "fix the label in the file",
        )

    def locate_span(self, span_text: Any, unit: str, where: str) -> list[int]:
        if not isinstance(span_text, str) or not span_text:
            raise self.error(where, f"cause span must be a non-empty string, got {span_text!r}")
        start = unit.find(span_text)
        if start >= 0:
            if unit.find(span_text, start + 1) >= 0:
                self.report.add("cause span occurs twice in its utterance: first occurrence used", where)
            return [start, start + len(span_text)]
        stripped = span_text.strip()
        if self.lenient and stripped and unit.find(stripped) >= 0:
            start = unit.find(stripped)
            self.report.add("cause span stripped of surrounding whitespace (lenient)", where)
            return [start, start + len(stripped)]
        if self.lenient:
            self.report.add("cause span not found: pair kept without a span (lenient)", f"{span_text!r} ({where})")
            return list(NO_SPAN)
        raise self.error(
            where,
            f"cause span {span_text!r} is not a substring of its cause utterance {unit!r}",
            "fix the span, or pass lenient=True to keep the pair without a span",
        )

    def evidence(self, turn: Mapping[str, Any], where: str) -> tuple[list[Any], list[Any] | None] | None:
        """``(evidence, spans)`` of a turn (spans ``None`` for corpora without spans), or ``None`` if it has none."""
        key = next((k for k in EVIDENCE_KEYS if k in turn), None)
        if key is None:
            return None
        evidence = turn[key]
        if not isinstance(evidence, list):
            raise self.error(where, f"{key!r} must be a list, got {evidence!r}")
        if not self.scheme.has_spans:
            return evidence, None
        span_key = next((k for k in SPAN_KEYS if k in turn), None)
        if span_key is None:
            raise self.error(where, f"{key!r} is given without its spans (one of {list(SPAN_KEYS)})")
        spans = turn[span_key]
        if not isinstance(spans, list) or len(spans) != len(evidence):
            raise self.error(where, f"{span_key!r} must be a list aligned with {key!r}: {spans!r} vs {evidence!r}")
        return evidence, spans

    def dialogue(self, dialogue_id: str, value: Any) -> dict[str, Any] | None:
        """The canonical row of one dialogue, or ``None`` when lenient mode drops it (reported)."""
        turns = self.turns(dialogue_id, value)
        utterances = [
            self.field(turn, "utterance", str, f"dialogue {dialogue_id!r}, turn {position}")
            for position, turn in enumerate(turns, start=1)
        ]
        empty = first_empty_unit(utterances)
        if empty is not None:
            where = f"dialogue {dialogue_id!r}, turn {empty + 1}"
            if not self.lenient:
                raise self.error(
                    where,
                    f"the utterance has no text ({utterances[empty]!r}); the schema and the pipeline refuse empty units",
                    "fix the file, or pass lenient=True to drop the dialogue (reported)",
                )
            self.report.add("dialogue with an empty utterance dropped (lenient)", f"{self.path.name}: {where}")
            return None
        units, speakers, emotions = [], [], []
        for position, turn in enumerate(turns, start=1):
            where = f"dialogue {dialogue_id!r}, turn {position}"
            number = self.field(turn, "turn", int, where)
            if number != position:
                raise self.error(where, f"turn numbers must count 1, 2, 3, ... in order; found {number}")
            units.append(self.field(turn, "utterance", str, where))
            speakers.append(self.field(turn, "speaker", str, where))
            emotions.append(self.emotion(self.field(turn, "emotion", str, where), where))

        background = [False] * len(turns)
        pairs: list[dict[str, Any]] = []
        cause_type_of: dict[int, str] = {}
        for index, turn in enumerate(turns):
            where = f"dialogue {dialogue_id!r}, turn {index + 1}"
            found = self.evidence(turn, where)
            if found is None:
                continue
            evidence, spans = found
            if emotions[index] == NEUTRAL:
                if not self.lenient:
                    raise self.error(
                        where, f"a neutral turn carries cause evidence {evidence!r}", "pass lenient=True to drop it"
                    )
                self.report.add("cause evidence on a neutral turn dropped (lenient)", where)
                continue
            if self.scheme.has_cause_types:
                cause_type_of[index] = self.field(turn, "cause_type", str, where)
            for k, entry in enumerate(evidence):
                if entry == BACKGROUND_EVIDENCE:
                    background[index] = True
                    continue
                if isinstance(entry, bool) or not isinstance(entry, int):
                    raise self.error(where, f"evidence entry {entry!r} is neither a 1-based turn number nor 'b'")
                if not 1 <= entry <= len(turns):
                    raise self.error(
                        where, f"evidence turn {entry} is out of range 1..{len(turns)} (the dialogue's turns)"
                    )
                cause = entry - 1
                span = NO_SPAN
                if spans is not None:
                    span = self.locate_span(spans[k], units[cause], f"{where}, evidence turn {entry}")
                pairs.append(make_pair(index, cause, cause_span=span, category=emotions[index]))

        pairs, removed = dedupe_pairs(pairs)
        for _ in range(removed):
            self.report.add("duplicate pair removed", f"dialogue {dialogue_id!r}")
        row: dict[str, Any] = {
            "id": dialogue_id,
            "kind": "conversation",
            "language": self.scheme.language,
            "units": units,
            "speakers": speakers,
            "emotions": emotions,
            "pairs": pairs,
            "background_cause": background,
        }
        if self.scheme.has_cause_types:
            row["cause_types"] = [cause_type_of[pair["emotion"]] for pair in pairs]
        return row


def rows_from_annotation(
    data: Mapping[str, Any],
    scheme: AnnotationScheme | str,
    *,
    path: str | Path = "<memory>",
    lenient: bool = True,
    report: RepairReport | None = None,
) -> list[dict[str, Any]]:
    """Canonical rows from the parsed JSON of one RECCON-layout file, in file order.

    ``scheme`` is an :class:`AnnotationScheme` or a key of ``SCHEMES`` (``"reccon/dailydialog"``,
    ``"reccon/iemocap"``, ``"mecad/default"``); ``path`` only names the file in error messages.
    """
    scheme = SCHEMES[scheme] if isinstance(scheme, str) else scheme
    converter = _Converter(scheme, path, lenient, report if report is not None else RepairReport(announce=True))
    rows = (converter.dialogue(dialogue_id, value) for dialogue_id, value in data.items())
    return [row for row in rows if row is not None]


def _build(
    corpus: str,
    split_files: Mapping[str, Mapping[str, str]],
    data_dir: str | Path,
    config: str | None,
    lenient: bool,
    report: RepairReport | None,
    splits: list[str] | None = None,
) -> DatasetDict:
    config = SPECS[corpus].check_config(config)
    scheme = SCHEMES[f"{corpus}/{config}"]
    data_dir = Path(data_dir)
    report = report if report is not None else RepairReport(announce=True)
    paths = select_split_files(
        f"{corpus}/{config}",
        {split: data_dir / rel for split, rel in split_files[config].items()},
        optional=OPTIONAL_SPLITS[f"{corpus}/{config}"],
        splits=splits,
        report=report,
    )
    features = features_for(scheme.columns)
    dataset = DatasetDict()
    for split, path in paths.items():
        rows = rows_from_annotation(load_annotation_json(path), scheme, path=path, lenient=lenient, report=report)
        dataset[split] = Dataset.from_list(require_rows(rows, path, "dialogues"), features=features)
    return dataset


def build_reccon(
    data_dir: str | Path,
    config: str | None = None,
    lenient: bool = True,
    report: RepairReport | None = None,
    splits: list[str] | None = None,
) -> DatasetDict:
    """RECCON ``dailydialog`` (train/validation/test) or ``iemocap`` (test) as a canonical ``DatasetDict``."""
    return _build("reccon", RECCON_SPLIT_FILES, data_dir, config, lenient, report, splits)


def build_mecad(
    data_dir: str | Path,
    config: str | None = None,
    lenient: bool = True,
    report: RepairReport | None = None,
    splits: list[str] | None = None,
) -> DatasetDict:
    """MECAD (``default`` config; splits from ``{train,valid,test}_data_pair.json``) with ``cause_types``."""
    return _build("mecad", MECAD_SPLIT_FILES, data_dir, config, lenient, report, splits)


SPECS: dict[str, CorpusSpec] = {
    "reccon": CorpusSpec(
        name="reccon",
        folder="reccon",
        configs=("dailydialog", "iemocap"),
        build=build_reccon,
        description=(
            "RECCON: emotion cause in conversations. DailyDialog (RECCON-DD) and IEMOCAP (RECCON-IE) dialogues "
            "with utterance-level cause evidence and cause spans (character offsets into the cause utterance); "
            "background causes ('b') are the per-utterance flag `background_cause`."
        ),
        license=(
            "Research only. No licence file in declare-lab/RECCON; DailyDialog text is CC BY-NC-SA 4.0, IEMOCAP "
            "text is under the USC SAIL release agreement."
        ),
        citation=(
            "@article{poria2021reccon,\n  title={Recognizing Emotion Cause in Conversations},\n"
            "  author={Poria, Soujanya and Majumder, Navonil and Hazarika, Devamanyu and Ghosal, Deepanway and "
            "Bhardwaj, Rishabh and Jian, Samson Yu Bai and Hong, Pengfei and Ghosh, Romila and Roy, Abhinaba and "
            "Chhaya, Niyati and Gelbukh, Alexander and Mihalcea, Rada},\n"
            "  journal={Cognitive Computation},\n  year={2021}\n}"
        ),
    ),
    "mecad": CorpusSpec(
        name="mecad",
        folder="mecad",
        configs=("default",),
        build=build_mecad,
        description=(
            "MECAD: Chinese multimodal conversations from TV series (built on M3ED) with utterance-level emotions, "
            "cause utterances and a cause type per emotion utterance (column `cause_types`, aligned with `pairs`). "
            "Text only; no cause spans."
        ),
        license="Research only. No licence file in redifinition/M3HG; the text comes from Chinese TV series via M3ED.",
        citation=(
            "@inproceedings{liang2025m3hg,\n  title={M3HG: Multimodal, Multi-scale, and Multi-type Node Heterogeneous "
            "Graph for Emotion Cause Triplet Extraction in Conversations},\n"
            "  author={Liang, Qiao and Shen, Ying and Chen, Tiantian and Zhang, Lin},\n"
            "  booktitle={Findings of the Association for Computational Linguistics: ACL 2025},\n"
            "  pages={11416--11431},\n  year={2025}\n}"
        ),
    ),
}
