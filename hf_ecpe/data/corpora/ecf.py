"""ECF 1.0 (Emotion-Cause-in-Friends) and SemEval-2024 Task 3 (ECF 2.0): conversational emotion–cause pairs.

**ecf** — ``CorpusSpec`` folder ``ecf`` (from ``NUSTM/MECPE``), config ``default``::

    ecf/data/train.txt   -> train        ecf/data/dev.txt -> validation        ecf/data/test.txt -> test
    ecf/derived/video_id_mapping.json    (optional; the JSON form of MECPE's data/video_id_mapping.npy)

Each conversation is a header line ``conv_id n_utts``, a line of 1-based ``(emotion_utt,cause_utt)`` tuples (empty
when the conversation has no pair), then ``n_utts`` lines ``idx | speaker | emotion | text | timestamp``. The
timestamp is not kept. Every pair's ``category`` is the emotion of its emotion utterance; spans are ``[-1, -1]``.

Split files: ``train.txt`` and ``dev.txt`` must exist (a missing one raises
:class:`~hf_ecpe.data.errors.MissingSplitError` naming it); a missing ``test.txt`` (withheld by the release) is
noted in the report. ``splits=[...]`` builds exactly the named splits. A file without a conversation raises, and so
does an utterance without text (strict); ``lenient=True`` drops that conversation and reports it (dropping only the
utterance would shift the ``dia{id}utt{k}`` feature keys below).

Multimodal features: the row ``id`` is ECF's conversation id, so utterance ``k`` (0-based) of row ``id`` is
``dia{id}utt{k+1}`` — the key of ``video_id_mapping.json``, whose value is the row of MECPE's audio/visual feature
tables (row 0 is padding). :func:`utterance_feature_keys` and :func:`load_video_id_mapping` do this.

**semeval2024_ecac** — folder ``ecf2-semeval2024`` (from ``NUSTM/SemEval-2024_ECAC``), configs ``subtask1`` and
``subtask2``. Files ``data/Subtask_{1,2}_{train,trial,test}.json`` → splits ``train`` / ``validation`` (the trial
file of the practice phase, when a user has one; the public repository has none) / ``test``. Each file is a list of
``{"conversation_ID", "conversation": [{"utterance_ID", "text", "speaker", "emotion", ...}], "emotion-cause_pairs"}``.

- ``subtask1``: pairs ``["3_surprise", "1_I realize I am totally naked ."]`` (emotion utterance 3 with category
  surprise, cause text in utterance 1). The cause text is located exactly as the official scorer does
  (:func:`~hf_ecpe.data.spans.locate_token_span`: ``clean_span`` strips leading/trailing punctuation, then the first
  whitespace-token match); the ``cause_span`` is the character extent of those tokens, so converting it back with
  :func:`~hf_ecpe.data.spans.char_span_to_token_span` gives the scorer's gold token positions. Each span changed by
  the punctuation stripping is counted in the report (``cause span punctuation stripped``). A span with no token
  match is an error; ``lenient=True`` falls back to a plain substring match, else drops the pair (both reported).
- The train file must exist; the trial and test files (absent from the public repository) are noted when absent.
  Utterances without text are handled as in ECF 1.0; a file without a conversation raises.
- ``subtask2``: pairs ``["3_surprise", "1"]``. When ``Subtask_2_<split>.json`` is absent (its train file is over the
  size limit of many mirrors) the split is derived from ``Subtask_1_<split>.json`` by dropping the spans and
  de-duplicating utterance pairs (reported). Caveat: that keeps only pairs whose cause has a text span — 9,256
  utterance pairs for the train file, whereas the official ``Subtask_2_train.json`` is ECF 1.0 with its 9,794 pairs
  (visual/acoustic-only causes included).

Row ids are the ``conversation_ID``s; the train file numbers conversations as ECF 1.0 does, so the feature keys
above apply to it too (the features do not cover the SemEval test conversations).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict

from ..errors import CorpusFormatError, read_text
from ..schema import (
    FEATURES,
    NEUTRAL,
    NO_SPAN,
    SchemaError,
    dedupe_pairs,
    features_for,
    from_one_based,
    make_pair,
    normalize_emotion,
)
from ..spans import clean_span, find_char_span, locate_token_span, token_span_to_char_span
from .base import CorpusSpec, RepairReport, first_empty_unit, require_rows, select_split_files

# Ekman's six emotions plus neutral: the label set of ECF 1.0 and ECF 2.0.
ECF_EMOTIONS = (NEUTRAL, "anger", "disgust", "fear", "joy", "sadness", "surprise")
CAUSE_EMOTIONS = ECF_EMOTIONS[1:]

ECF_SPLIT_FILES = {"train": "train.txt", "validation": "dev.txt", "test": "test.txt"}
SEMEVAL_SPLIT_NAMES = {"train": "train", "validation": "trial", "test": "test"}
# Splits the public releases withhold (ECF 1.0's test set is kept for independent evaluation; the SemEval repository
# has no trial file and no test labels): their absence is noted, the absence of any other split file raises.
ECF_OPTIONAL_SPLITS = ("test",)
SEMEVAL_OPTIONAL_SPLITS = ("validation", "test")

_HEADER = re.compile(r"^\s*(\d+)\s+(\d+)\s*$")
_PAIR = r"\(\s*(\d+)\s*,\s*(\d+)\s*\)"
_PAIRS_LINE = re.compile(rf"^\s*(?:{_PAIR}(?:\s*,\s*{_PAIR})*)?\s*$")
_LENIENT_HINT = (
    "refused because this build is strict (--strict / lenient=False); the default, lenient=True, repairs it and "
    "records the repair in the report"
)


def _rows_to_dataset(rows: list[dict[str, Any]]) -> Dataset:
    return Dataset.from_list(rows, features=features_for(FEATURES))


def _emotion_label(raw: Any, path: Path, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise CorpusFormatError(path, where, f"missing emotion label (got {raw!r})", f"expected one of {ECF_EMOTIONS}")
    label = normalize_emotion(raw)
    if label not in ECF_EMOTIONS:
        raise CorpusFormatError(
            path, where, f"unknown emotion label {raw.strip()!r}", f"expected one of {ECF_EMOTIONS}"
        )
    return label


def _dedupe(pairs: list[dict[str, Any]], report: RepairReport, kind: str, example: str) -> list[dict[str, Any]]:
    kept, removed = dedupe_pairs(pairs)
    if removed:
        seen: list[dict[str, Any]] = []
        for pair in pairs:
            if pair in seen:
                span = "" if pair["cause_span"] == NO_SPAN else f" span {pair['cause_span']}"
                report.add(kind, f"{example}: pair ({pair['emotion'] + 1},{pair['cause'] + 1}){span}")
            else:
                seen.append(pair)
    return kept


# ----------------------------------------------------------------------------------------------------------- ECF 1.0


def parse_ecf(
    text: str, path: str | Path = "<ecf>", *, lenient: bool = True, report: RepairReport | None = None
) -> list[dict[str, Any]]:
    """ECF 1.0 text (``train.txt`` format) → canonical conversation rows, in file order.

    Raises :class:`CorpusFormatError` naming ``path`` and the line for a bad header, pairs line or utterance line,
    a truncated conversation, an index out of range or a repeated conversation id. A pair whose emotion utterance is
    neutral is an error unless ``lenient`` (then kept with category ``"neutral"`` and reported). Exact duplicate
    pairs are removed and counted (``duplicate pair removed``).
    """
    path = Path(path)
    report = report if report is not None else RepairReport(announce=True)
    lines = text.replace("\r\n", "\n").split("\n")  # not splitlines(): it also breaks at \x0c, \u2028, ...
    while lines and not lines[-1].strip():  # trailing blank lines would hide a truncated last conversation
        lines.pop()
    rows: list[dict[str, Any]] = []
    first_line_of: dict[str, int] = {}
    i = 0
    while i < len(lines):
        if not lines[i].strip():  # blank lines between conversations or at the end of the file
            i += 1
            continue
        header_no = i + 1
        header = _HEADER.match(lines[i])
        if header is None:
            raise CorpusFormatError(
                path, f"line {header_no}", f"expected a conversation header 'conv_id n_utts', got {lines[i]!r}"
            )
        conv_id, n_utts = header.group(1), int(header.group(2))
        conv_id = str(int(conv_id))
        if n_utts < 1:
            raise CorpusFormatError(path, f"line {header_no}", f"conversation {conv_id} declares {n_utts} utterances")
        if conv_id in first_line_of:
            raise CorpusFormatError(
                path,
                f"line {header_no}",
                f"conversation id {conv_id} repeats (first at line {first_line_of[conv_id]})",
            )
        first_line_of[conv_id] = header_no
        pairs_no, pairs_line = i + 2, lines[i + 1] if i + 1 < len(lines) else ""
        if _PAIRS_LINE.match(pairs_line) is None:
            raise CorpusFormatError(
                path,
                f"line {pairs_no}",
                f"expected the pairs line of conversation {conv_id} ('(3,1),(3,3)' or empty), got {pairs_line!r}",
            )
        available = len(lines) - (i + 2)
        if available < n_utts:
            raise CorpusFormatError(
                path,
                f"line {header_no}",
                f"truncated: conversation {conv_id} declares {n_utts} utterances but the file ends after "
                f"{max(available, 0)} of them",
            )
        speakers, emotions, units = [], [], []
        for k in range(n_utts):
            line_no, line = i + 3 + k, lines[i + 2 + k]
            fields = line.split("|")
            where = f"line {line_no}"
            if len(fields) < 5:
                raise CorpusFormatError(
                    path,
                    where,
                    f"utterance {k + 1} of conversation {conv_id} has {len(fields)} '|'-separated fields, expected 5 "
                    f"('idx | speaker | emotion | text | timestamp'): {line!r}",
                    "check the utterance count in the conversation header",
                )
            if fields[0].strip() != str(k + 1):
                raise CorpusFormatError(
                    path,
                    where,
                    f"expected utterance {k + 1} of conversation {conv_id}, got index {fields[0].strip()!r}",
                    "check the utterance count in the conversation header",
                )
            speakers.append(fields[1].strip())
            emotions.append(_emotion_label(fields[2], path, where))
            units.append("|".join(fields[3:-1]).strip())
        empty = first_empty_unit(units)
        if empty is not None:
            where = f"line {i + 3 + empty}"
            _empty_utterance(path, where, f"utterance {empty + 1} of conversation {conv_id}", lenient, report)
            i += 2 + n_utts
            continue
        try:
            indices = [(int(e), int(c)) for e, c in re.findall(_PAIR, pairs_line)]
            indices = from_one_based(indices, n_utts, where=f"conversation {conv_id}")
        except SchemaError as err:
            raise CorpusFormatError(path, f"line {pairs_no}", str(err)) from err
        pairs = []
        for emotion, cause in indices:
            category = emotions[emotion]
            if category == NEUTRAL:
                example = f"{path.name} conversation {conv_id} pair ({emotion + 1},{cause + 1})"
                if not lenient:
                    raise CorpusFormatError(
                        path,
                        f"line {pairs_no}",
                        f"pair ({emotion + 1},{cause + 1}): the emotion utterance is neutral",
                        _LENIENT_HINT,
                    )
                report.add("pair with neutral emotion utterance kept", example)
            pairs.append(make_pair(emotion, cause, category=category))
        pairs = _dedupe(pairs, report, "duplicate pair removed", f"{path.name} conversation {conv_id}")
        rows.append(_conversation_row(conv_id, units, speakers, emotions, pairs))
        i += 2 + n_utts
    return rows


def _empty_utterance(path: Path, where: str, what: str, lenient: bool, report: RepairReport) -> None:
    """An utterance without text: an error in strict mode; in lenient mode its conversation is dropped (reported)."""
    if not lenient:
        raise CorpusFormatError(
            path,
            where,
            f"{what} has no text (the schema and the pipeline refuse empty units)",
            _LENIENT_HINT + " (drops the conversation)",
        )
    report.add("conversation with an empty utterance dropped (lenient)", f"{path.name} {where}: {what}")


def _conversation_row(
    conv_id: str, units: list[str], speakers: list[str], emotions: list[str], pairs: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": conv_id,
        "kind": "conversation",
        "language": "en",
        "units": units,
        "speakers": speakers,
        "emotions": emotions,
        "pairs": pairs,
    }


def build_ecf(
    data_dir: str | Path,
    config: str = "default",
    lenient: bool = True,
    report: RepairReport | None = None,
    splits: list[str] | None = None,
) -> DatasetDict:
    """``DatasetDict`` of ECF 1.0 from ``data_dir/data/{train,dev,test}.txt`` (``test.txt`` optional, see above)."""
    config = SPECS["ecf"].check_config(config)
    data_dir = Path(data_dir)
    report = report if report is not None else RepairReport(announce=True)
    expected = {split: data_dir / "data" / name for split, name in ECF_SPLIT_FILES.items()}
    files = select_split_files(f"ecf/{config}", expected, optional=ECF_OPTIONAL_SPLITS, splits=splits, report=report)
    built = {}
    for split, path in files.items():
        rows = parse_ecf(read_text(path), path, lenient=lenient, report=report)
        built[split] = _rows_to_dataset(require_rows(rows, path, "conversations"))
    return DatasetDict(built)


def utterance_feature_keys(conversation_id: str | int, n_utterances: int) -> list[str]:
    """Keys ``dia{conv}utt{k+1}`` of a conversation's utterances in ``video_id_mapping.json`` (MECPE features)."""
    return [f"dia{int(conversation_id)}utt{k + 1}" for k in range(n_utterances)]


def load_video_id_mapping(data_dir: str | Path) -> dict[str, int]:
    """``derived/video_id_mapping.json`` of the ``ecf`` folder: ``dia{conv}utt{utt}`` → feature-table row.

    MECPE ships it as a pickled ``data/video_id_mapping.npy``; convert it once with
    ``json.dump(numpy.load(p, allow_pickle=True).item(), f)`` (only for a file you trust).
    """
    path = Path(data_dir) / "derived" / "video_id_mapping.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; convert MECPE's data/video_id_mapping.npy to JSON first (see the docstring)"
        )
    try:
        mapping = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise CorpusFormatError(path, f"line {err.lineno}", f"invalid JSON ({err.msg})") from err
    if not isinstance(mapping, dict):
        raise CorpusFormatError(path, "top level", f"expected an object, got {type(mapping).__name__}")
    for key, value in mapping.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise CorpusFormatError(path, f"key {key!r}", f"expected an integer row index, got {value!r}")
    return mapping


# ------------------------------------------------------------------------------------------------- SemEval-2024 Task 3


def _index(value: Any, path: Path, where: str, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise CorpusFormatError(path, where, f"{what} must be an integer, got {value!r}")


def _split_indexed(value: Any, path: Path, where: str, what: str) -> tuple[int, str]:
    """``"3_surprise"`` → ``(3, "surprise")``; splits at the first ``_`` only (span texts may contain more)."""
    if not isinstance(value, str):
        raise CorpusFormatError(path, where, f"{what} must be a string 'N_...', got {value!r}")
    head, sep, tail = value.partition("_")
    if not sep or not head.strip().isdigit():
        raise CorpusFormatError(
            path, where, f"{what} must look like 'N_...' with a 1-based utterance number: {value!r}"
        )
    return int(head), tail


def parse_semeval(
    data: Any,
    path: str | Path = "<semeval>",
    subtask: int = 1,
    *,
    derive_subtask2: bool = False,
    lenient: bool = True,
    report: RepairReport | None = None,
) -> list[dict[str, Any]]:
    """Parsed SemEval-2024 Task 3 JSON (a list of conversations) → canonical rows.

    ``subtask=1``: cause spans located as described in the module docstring. ``subtask=2``: utterance causes;
    with ``derive_subtask2=True`` ``data`` is a subtask-1 file whose spans are dropped. Exact duplicate pairs are
    removed and counted. Malformed records raise :class:`CorpusFormatError` naming the conversation and pair.
    """
    if subtask not in (1, 2):
        raise ValueError(f"subtask must be 1 or 2, got {subtask!r}")
    path = Path(path)
    report = report if report is not None else RepairReport(announce=True)
    if not isinstance(data, list):
        raise CorpusFormatError(path, "top level", f"expected a list of conversations, got {type(data).__name__}")
    rows: list[dict[str, Any]] = []
    seen_ids: dict[int, int] = {}
    for position, record in enumerate(data):
        where = f"conversation #{position}"
        if not isinstance(record, dict):
            raise CorpusFormatError(path, where, f"expected an object, got {type(record).__name__}")
        for key in ("conversation_ID", "conversation", "emotion-cause_pairs"):
            if key not in record:
                raise CorpusFormatError(path, where, f"missing field {key!r}")
        conv_id = _index(record["conversation_ID"], path, where, "conversation_ID")
        where = f"conversation_ID {conv_id}"
        if conv_id in seen_ids:
            raise CorpusFormatError(path, where, f"repeats conversation #{seen_ids[conv_id]}")
        seen_ids[conv_id] = position
        units, speakers, emotions = _semeval_utterances(record["conversation"], path, where)
        empty = first_empty_unit(units)
        if empty is not None:
            _empty_utterance(path, f"{where}, utterance #{empty}", f"utterance_ID {empty + 1}", lenient, report)
            continue
        raw_pairs = record["emotion-cause_pairs"]
        if not isinstance(raw_pairs, list):
            raise CorpusFormatError(path, where, f"'emotion-cause_pairs' must be a list, got {raw_pairs!r}")
        pairs = []
        for j, raw_pair in enumerate(raw_pairs):
            pair = _semeval_pair(
                raw_pair,
                units,
                emotions,
                path,
                f"{where}, emotion-cause_pairs[{j}]",
                subtask,
                derive_subtask2,
                lenient,
                report,
            )
            if pair is not None:
                pairs.append(pair)
        kind = "duplicate utterance pair removed deriving subtask2" if derive_subtask2 else "duplicate pair removed"
        pairs = _dedupe(pairs, report, kind, f"{path.name} conversation {conv_id}")
        rows.append(_conversation_row(str(conv_id), units, speakers, emotions, pairs))
    return rows


def _semeval_utterances(utterances: Any, path: Path, where: str) -> tuple[list[str], list[str], list[str]]:
    if not isinstance(utterances, list) or not utterances:
        raise CorpusFormatError(
            path, where, f"'conversation' must be a non-empty list of utterances, got {utterances!r}"
        )
    units, speakers, emotions = [], [], []
    for k, utterance in enumerate(utterances):
        u_where = f"{where}, utterance #{k}"
        if not isinstance(utterance, dict):
            raise CorpusFormatError(path, u_where, f"expected an object, got {type(utterance).__name__}")
        for key in ("utterance_ID", "text", "speaker", "emotion"):
            if key not in utterance:
                hint = "unlabelled files (predictions, blind test) cannot be built" if key == "emotion" else ""
                raise CorpusFormatError(path, u_where, f"missing field {key!r}", hint)
        if _index(utterance["utterance_ID"], path, u_where, "utterance_ID") != k + 1:
            raise CorpusFormatError(path, u_where, f"utterance_ID {utterance['utterance_ID']!r}, expected {k + 1}")
        for key in ("text", "speaker"):
            if not isinstance(utterance[key], str):
                raise CorpusFormatError(path, u_where, f"{key!r} must be a string, got {utterance[key]!r}")
        units.append(utterance["text"])
        speakers.append(utterance["speaker"])
        emotions.append(_emotion_label(utterance["emotion"], path, u_where))
    return units, speakers, emotions


def _semeval_pair(
    raw_pair: Any,
    units: list[str],
    emotions: list[str],
    path: Path,
    where: str,
    subtask: int,
    derive_subtask2: bool,
    lenient: bool,
    report: RepairReport,
) -> dict[str, Any] | None:
    """One ``["3_surprise", cause]`` entry → a canonical pair, or ``None`` when lenient mode drops it."""
    if not isinstance(raw_pair, list) or len(raw_pair) != 2:
        raise CorpusFormatError(path, where, f'expected a pair ["N_emotion", cause], got {raw_pair!r}')
    n = len(units)
    emotion_no, label = _split_indexed(raw_pair[0], path, where, "the emotion part")
    category = normalize_emotion(label)
    if category not in CAUSE_EMOTIONS:
        raise CorpusFormatError(path, where, f"unknown pair emotion {label!r}", f"expected one of {CAUSE_EMOTIONS}")
    if subtask == 2 and not derive_subtask2:
        if isinstance(raw_pair[1], str) and "_" in raw_pair[1]:
            raise CorpusFormatError(
                path, where, f"cause {raw_pair[1]!r} carries a span", "this looks like a subtask-1 file; use subtask1"
            )
        cause_no, span_text = _index(raw_pair[1], path, where, "the cause utterance"), None
    else:
        cause_no, span_text = _split_indexed(raw_pair[1], path, where, "the cause part")
    for name, number in (("emotion", emotion_no), ("cause", cause_no)):
        if not 1 <= number <= n:
            raise CorpusFormatError(path, where, f"{name} utterance {number} out of range 1..{n} in {raw_pair!r}")
    emotion, cause = emotion_no - 1, cause_no - 1
    if category != emotions[emotion]:
        problem = f"pair category {category!r} differs from utterance {emotion_no}'s emotion {emotions[emotion]!r}"
        if not lenient:
            raise CorpusFormatError(path, where, problem, _LENIENT_HINT + " (the pair's category is kept)")
        report.add("pair category differs from utterance emotion", f"{path.name} {where}")
    if subtask == 2:
        return make_pair(emotion, cause, category=category)
    span = _locate_cause_span(span_text, units[cause], path, where, lenient, report)
    if span is None:
        return None
    return make_pair(emotion, cause, cause_span=span, category=category)


def _locate_cause_span(
    span_text: str, utterance: str, path: Path, where: str, lenient: bool, report: RepairReport
) -> tuple[int, int] | None:
    cleaned = clean_span(span_text)
    if not cleaned:
        raise CorpusFormatError(path, where, f"the cause span {span_text!r} is empty after stripping punctuation")
    if re.fullmatch(r"\d+_\d+", span_text.strip()):
        raise CorpusFormatError(
            path, where, f"cause {span_text!r} looks like token positions", "this looks like a prediction file"
        )
    if cleaned != span_text.strip():
        report.add("cause span punctuation stripped", f"{path.name} {where}: {span_text!r} -> {cleaned!r}")
    token_span = locate_token_span(utterance, span_text)
    if token_span is not None:
        return token_span_to_char_span(utterance, *token_span)
    problem = f"cause span {span_text!r} (cleaned {cleaned!r}) is no run of whitespace tokens of {utterance!r}"
    if not lenient:
        raise CorpusFormatError(
            path, where, problem, "pass lenient=True to fall back to a substring match or drop the pair (reported)"
        )
    span = find_char_span(utterance, cleaned)
    if span is not None:
        report.add("cause span located by substring", f"{path.name} {where}")
        return span
    report.add("cause span not found pair dropped", f"{path.name} {where}")
    return None


def _load_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise CorpusFormatError(
            path, f"line {err.lineno} column {err.colno}", f"invalid JSON ({err.msg})", "is the file truncated?"
        ) from err


def build_semeval(
    data_dir: str | Path,
    config: str = "subtask1",
    lenient: bool = True,
    report: RepairReport | None = None,
    splits: list[str] | None = None,
) -> DatasetDict:
    """``DatasetDict`` of SemEval-2024 Task 3 from ``data_dir/data/Subtask_{1,2}_{train,trial,test}.json``
    (the train file must exist; trial and test are optional, see above)."""
    config = SPECS["semeval2024_ecac"].check_config(config)
    subtask = int(config[-1])
    data_dir = Path(data_dir)
    report = report if report is not None else RepairReport(announce=True)
    expected = {}
    for split, name in SEMEVAL_SPLIT_NAMES.items():
        path = data_dir / "data" / f"Subtask_{subtask}_{name}.json"
        fallback = data_dir / "data" / f"Subtask_1_{name}.json"
        expected[split] = fallback if subtask == 2 and not path.is_file() and fallback.is_file() else path
    files = select_split_files(
        f"semeval2024_ecac/{config}", expected, optional=SEMEVAL_OPTIONAL_SPLITS, splits=splits, report=report
    )
    built = {}
    for split, path in files.items():
        derive = subtask == 2 and path.name.startswith("Subtask_1_")
        if derive:
            report.add("subtask2 split derived from subtask1 file", path.name)
        rows = parse_semeval(_load_json(path), path, subtask, derive_subtask2=derive, lenient=lenient, report=report)
        built[split] = _rows_to_dataset(require_rows(rows, path, "conversations"))
    return DatasetDict(built)


_ECF_CITATION = """@article{wang2023multimodal,
  title   = {Multimodal Emotion-Cause Pair Extraction in Conversations},
  author  = {Wang, Fanfan and Ding, Zixiang and Xia, Rui and Li, Zhaoyu and Yu, Jianfei},
  journal = {IEEE Transactions on Affective Computing},
  volume  = {14}, number = {3}, pages = {1832--1844}, year = {2023},
  doi     = {10.1109/TAFFC.2022.3226559}
}"""

_SEMEVAL_CITATION = """@inproceedings{wang2024semeval,
  title     = {{S}em{E}val-2024 Task 3: Multimodal Emotion Cause Analysis in Conversations},
  author    = {Wang, Fanfan and Ma, Heqing and Xia, Rui and Yu, Jianfei and Cambria, Erik},
  booktitle = {Proceedings of the 18th International Workshop on Semantic Evaluation (SemEval-2024)},
  pages     = {2022--2033}, year = {2024}
}"""

SPECS: dict[str, CorpusSpec] = {
    "ecf": CorpusSpec(
        name="ecf",
        folder="ecf",
        configs=("default",),
        build=build_ecf,
        description="ECF 1.0 (Emotion-Cause-in-Friends): utterance-level emotion-cause pairs in 1,374 Friends "
        "conversations (MELD-based; text here, audio/visual features keyed by dia{conv}utt{utt}).",
        license="GPL-3.0 repository licence; the authors ask for research use only (Friends/MELD text). "
        "Do not redistribute.",
        citation=_ECF_CITATION,
    ),
    "semeval2024_ecac": CorpusSpec(
        name="semeval2024_ecac",
        folder="ecf2-semeval2024",
        configs=("subtask1", "subtask2"),
        build=build_semeval,
        description="SemEval-2024 Task 3 (ECF 2.0): emotion-cause pairs in Friends conversations with the emotion "
        "category; subtask1 gives causes as text spans (character offsets here), subtask2 as utterances.",
        license="GPL-3.0 repository licence; data for research purposes only. Do not redistribute.",
        citation=_SEMEVAL_CITATION,
    ),
}

__all__ = [
    "CAUSE_EMOTIONS",
    "ECF_EMOTIONS",
    "SPECS",
    "build_ecf",
    "build_semeval",
    "load_video_id_mapping",
    "parse_ecf",
    "parse_semeval",
    "utterance_feature_keys",
]
