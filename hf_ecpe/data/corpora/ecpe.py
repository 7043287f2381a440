"""The clause-level ECPE corpora in the NUSTM text format: Chinese (Xia & Ding 2019) and English (Singh et al. 2021).

File format (one block per document, blank lines between blocks are ignored)::

    doc_id n_clauses
     (e, c), (e, c)                           1-based (emotion clause, cause clause); "(3,1),(3,3)" or " (2, 2)," too
    clause_id,emotion_category,emotion_keyword,clause text       n lines; "null,null" on non-emotion clauses

The clause text may itself contain commas (only the first three commas separate fields).

Expected layout (the authors' repositories; ``data_dir`` is the corpus folder)::

    ecpe-zh/nustm-ecpe/data_combine/all_data_pair.txt            NUSTM/ECPE data_combine/
    ecpe-zh/nustm-ecpe/data_combine/fold{1..10}_test.txt
    ecpe-en/e2e-ecpe/data_combine_eng/fold{1..10}_{train,val,test}.txt     Aaditya-Singh/E2E-ECPE data_combine_eng/
    ecpe-en/e2e-ecpe/data_combine_eng/all_data_pair.txt          (read by :func:`read_nustm_file`, not by the builder)

Configs ``fold1`` ... ``fold10``:

- ``ecpe_en``: the fold files' train / val / test become ``train`` / ``validation`` / ``test``.
- ``ecpe_zh``: ``test`` = the documents of ``fold{k}_test.txt``; ``validation`` = the documents of the NEXT fold's
  test file (``fold{k+1}_test.txt``, fold 10 takes fold 1); ``train`` = every other document of
  ``all_data_pair.txt``. So train + validation is exactly the complement of the test fold that the published 10-fold
  protocol trains on (concatenate the two splits to reproduce it), and the proportions match the English folds
  (about 80/10/10). The next fold's file must exist: without it the validation documents would silently land in
  train. To train on the whole complement (the published protocol), choose the splits explicitly:
  ``splits=["train", "test"]`` (``--splits train test``). Every test document must equal the document of the same
  id in ``all_data_pair.txt`` (same canonical row).
- Every split file of a config must exist (:class:`~hf_ecpe.data.errors.MissingSplitError` names the missing file
  and its split), unless ``splits`` names the splits to build. A well-formed file without a document raises.

Conversion (0-based indices; character spans ``[start, end)``):

- ``units``: English clause text as given (tokenised, stripped). Chinese clauses are word-segmented with spaces
  (``当 我 看到 2002 年``); we join them back into raw text: a whitespace run is removed unless it separates two ASCII
  letters/digits (kept as one space: ``iPhone 6``, ``Steve Lentz``). So ``当我看到2002年``, matching what the clause
  splitter produces on raw Chinese text (see :mod:`hf_ecpe.data.clauses`) and making the keywords, which the corpus
  writes unsegmented (``高兴不起来``), findable. The RankCP JSON version of the Chinese corpus is not read (it strips
  Latin letters and symbols from 196 clauses).
- ``emotions``: the clause's category (``normalize_emotion``; one of the six Ekman labels), ``"neutral"`` elsewhere.
- ``pairs``: one per listed (emotion, cause): ``category`` = the emotion clause's category, ``emotion_span`` = the
  first occurrence of the emotion keyword in the emotion clause, ``cause_span`` = ``[-1, -1]`` (the format has none).
- Multi-emotion clauses: 20 Chinese clauses carry two annotations joined by ``&`` (``disgust&anger`` /
  ``恶心&愤怒``) and their pair is listed once per annotation, in the same order: these are exactly the 20 documents
  whose pairs are "listed twice". The i-th listing of that pair takes the i-th category and keyword, so a clause
  with two different keywords keeps two pairs that differ in span/category, while a doubled annotation
  (``sadness&sadness`` / ``后悔&后悔``, 13 clauses) yields two identical pairs, and the copy is removed as an exact
  duplicate. The unit's single entry in ``emotions`` is the first category (reported where the categories differ).
  Per-document sets of (emotion, cause) are unchanged by all this.
- Known noise, strict → :class:`CorpusFormatError` with a hint, ``lenient=True`` → repaired and reported: an
  emotion keyword that does not occur in its clause (English: ``Wonderful`` in ``' wonderful``, ``joyfull`` in
  ``... joyful ...``) is located ignoring case and spacing, else approximately (longest common substring covering at
  least 3/4 of the keyword), else the pair keeps ``emotion_span = [-1, -1]``; a pair repeated more or fewer times
  than its multi-emotion clause has annotations is kept with the last annotation; a document with an empty clause
  is dropped (strict: an error, as the schema and the pipeline refuse empty units). Every builder repairs by
  default, in Python as in the dataset scripts (``lenient=False`` / ``--strict`` to refuse).
- Chinese fold files list document 1807 (in ``fold9_test.txt``), a duplicate of document 1070 that is absent from
  ``all_data_pair.txt``: it is dropped from the split and reported (keeping it would put one document in train and
  test of fold 9; the RankCP JSON folds drop it too). Any other test document missing from ``all_data_pair.txt``
  raises. Fold 9 therefore has 191 test documents and fold 8 191 validation documents.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict

from ..errors import CorpusFormatError, read_text
from ..schema import (
    NEUTRAL,
    NO_SPAN,
    SchemaError,
    dedupe_pairs,
    features_for,
    from_one_based,
    make_pair,
    normalize_emotion,
)
from .base import CorpusSpec, RepairReport, first_empty_unit, require_rows, select_split_files

ECPE_EMOTIONS = ("happiness", "sadness", "fear", "anger", "disgust", "surprise")
ZH_SUBDIR = Path("nustm-ecpe") / "data_combine"
EN_SUBDIR = Path("e2e-ecpe") / "data_combine_eng"
ALL_DATA_FILE = "all_data_pair.txt"
FOLD_CONFIGS = tuple(f"fold{k}" for k in range(1, 11))
EN_SPLIT_FILES = (("train", "train"), ("validation", "val"), ("test", "test"))
# Chinese fold-file documents that are absent from all_data_pair.txt and duplicate a document that is in it.
KNOWN_ZH_DUPLICATES = {"1807": "1070"}

MULTI_EMOTION_SEPARATOR = "&"
_HEADER = re.compile(r"^\s*(\S+)\s+(\d+)\s*$")
_PAIR = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_PAIRS_LINE = re.compile(r"^\s*(?:\(\s*\d+\s*,\s*\d+\s*\)\s*,?\s*)+$")
_SPACES = re.compile(r"\s+")
# A whole whitespace run (neither neighbour is whitespace) with a neighbour that is not an ASCII letter/digit.
_SEGMENTATION_SPACE = re.compile(r"(?<![A-Za-z0-9\s])\s+(?!\s)|(?<!\s)\s+(?![A-Za-z0-9\s])")
_LENIENT_HINT = (
    "known noise of this corpus, refused because this build is strict (--strict / lenient=False); the default, "
    "lenient=True, repairs and reports it"
)


def join_chinese_words(text: str) -> str:
    """Undo the word segmentation of the Chinese corpus: drop each whitespace run unless it separates two ASCII
    letters/digits, which keep one space. ``"在 2002 年 买 了 iPhone 6 手机"`` → ``"在2002年买了iPhone 6手机"``."""
    return _SPACES.sub(" ", _SEGMENTATION_SPACE.sub("", text.strip()))


def locate_keyword(keyword: str, text: str) -> tuple[list[int], str | None]:
    """Where ``keyword`` is in ``text``: ``([start, end), None)`` for an exact (first) occurrence, else
    ``(span, repair_kind)`` for a case/spacing-insensitive or approximate match, or ``([-1, -1], kind)``."""
    if keyword:
        start = text.find(keyword)
        if start >= 0:
            return [start, start + len(keyword)], None
    chars = [re.escape(char) for char in keyword if not char.isspace()]
    if not chars:
        return list(NO_SPAN), "emotion keyword missing"
    match = re.search(r"\s*".join(chars), text, flags=re.IGNORECASE)
    if match:
        return [match.start(), match.end()], "emotion keyword matched ignoring case/spacing"
    needle = "".join(keyword.split()).lower()
    haystack = text.lower()
    if len(haystack) == len(text):  # lower() kept the offsets
        block = difflib.SequenceMatcher(None, haystack, needle, autojunk=False).find_longest_match(
            0, len(haystack), 0, len(needle)
        )
        if block.size >= max(3, math.ceil(0.75 * len(needle))):
            return [block.a, block.a + block.size], "emotion keyword matched approximately"
    return list(NO_SPAN), "emotion keyword not found: pair kept without emotion span"


class _NustmParser:
    """Turns the text of one NUSTM-format file into canonical rows (see the module docstring)."""

    def __init__(self, path: str | Path, language: str, lenient: bool, report: RepairReport):
        if language not in ("zh", "en"):
            raise ValueError(f"language must be 'zh' or 'en', got {language!r}")
        self.path, self.language, self.lenient, self.report = Path(path), language, lenient, report

    def error(self, line_no: int, problem: str, hint: str = "") -> CorpusFormatError:
        return CorpusFormatError(self.path, f"line {line_no}", problem, hint)

    def parse(self, text: str) -> list[dict[str, Any]]:
        lines = [line.rstrip("\r") for line in text.split("\n")]
        rows: list[dict[str, Any]] = []
        first_line_of: dict[str, int] = {}
        i = 0
        while i < len(lines):
            if not lines[i].strip():
                i += 1
                continue
            header_no = i + 1
            match = _HEADER.match(lines[i])
            if not match:
                raise self.error(header_no, f"expected a document header 'doc_id n_clauses', got {lines[i]!r}")
            doc_id, n_clauses = match.group(1), int(match.group(2))
            if n_clauses < 1:
                raise self.error(header_no, f"document {doc_id} declares {n_clauses} clauses")
            if doc_id in first_line_of:
                raise self.error(
                    header_no,
                    f"document id {doc_id} already used at line {first_line_of[doc_id]}",
                    "ids must be unique",
                )
            first_line_of[doc_id] = header_no
            available = len(lines) - (i + 2)
            if available < n_clauses:
                raise self.error(
                    header_no,
                    f"document {doc_id} declares {n_clauses} clauses but the file ends before them (truncated file?)",
                )
            if not self.empty_clause(doc_id, lines, i, n_clauses):
                rows.append(self.document(doc_id, lines, i))
            i += 2 + n_clauses
        return rows

    def empty_clause(self, doc_id: str, lines: list[str], start: int, n_clauses: int) -> bool:
        """Whether the document has a clause without text: an error in strict mode, reported and dropped in lenient
        mode (the schema and the pipeline refuse empty units, and the pair indices would shift without it)."""
        texts = []
        for k in range(n_clauses):
            fields = lines[start + 2 + k].split(",", 3)
            if len(fields) < 4:
                return False  # malformed: clause() reports it
            texts.append(join_chinese_words(fields[3]) if self.language == "zh" else fields[3].strip())
        k = first_empty_unit(texts)
        if k is None:
            return False
        line_no, where = start + 3 + k, f"document {doc_id}, clause {k + 1}"
        if not self.lenient:
            raise self.error(line_no, f"{where}: the clause text is empty", _LENIENT_HINT + " (drops the document)")
        self.report.add(
            "document with an empty clause dropped (lenient)", f"{self.path.name}: line {line_no}: {where}"
        )
        return True

    def pairs_line(self, line: str, line_no: int, doc_id: str, n_clauses: int) -> list[tuple[int, int]]:
        if not _PAIRS_LINE.match(line):
            raise self.error(line_no, f"document {doc_id}: expected a pairs line like ' (2, 2), (3, 1)', got {line!r}")
        listed = [(int(e), int(c)) for e, c in _PAIR.findall(line)]
        try:
            return from_one_based(listed, n_clauses, where=f"document {doc_id}")
        except SchemaError as err:
            raise self.error(line_no, str(err)) from err

    def document(self, doc_id: str, lines: list[str], start: int) -> dict[str, Any]:
        n_clauses = int(_HEADER.match(lines[start]).group(2))
        listed = self.pairs_line(lines[start + 1], start + 2, doc_id, n_clauses)
        units: list[str] = []
        annotations: list[list[tuple[str, list[int]]]] = []  # per clause: (category, keyword span) per annotation
        for k in range(n_clauses):
            line_no = start + 3 + k
            unit, annotation = self.clause(lines[line_no - 1], line_no, doc_id, k)
            units.append(unit)
            annotations.append(annotation)
        return {
            "id": doc_id,
            "kind": "document",
            "language": self.language,
            "units": units,
            "speakers": [],
            "emotions": [ann[0][0] if ann else NEUTRAL for ann in annotations],
            "pairs": self.pairs(doc_id, listed, annotations, start + 2),
        }

    def clause(self, line: str, line_no: int, doc_id: str, k: int) -> tuple[str, list[tuple[str, list[int]]]]:
        fields = line.split(",", 3)
        if len(fields) < 4:
            raise self.error(
                line_no,
                f"document {doc_id}, clause {k + 1}: expected 'clause_id,emotion_category,emotion_keyword,text', "
                f"got {line!r} (too few fields; truncated file?)",
            )
        clause_id, category, keyword, raw_text = (field.strip() for field in fields)
        if clause_id != str(k + 1):
            raise self.error(line_no, f"document {doc_id}: clause id {clause_id!r} where clause {k + 1} was expected")
        unit = join_chinese_words(raw_text) if self.language == "zh" else raw_text.strip()
        if not unit:
            raise self.error(line_no, f"document {doc_id}, clause {k + 1}: the clause text is empty")
        where = f"document {doc_id}, clause {k + 1}"
        if category.lower() == "null":
            if keyword.lower() != "null":
                raise self.error(line_no, f"{where}: emotion keyword {keyword!r} on a clause whose category is null")
            return unit, []
        categories = category.split(MULTI_EMOTION_SEPARATOR)
        keywords = keyword.split(MULTI_EMOTION_SEPARATOR)
        if len(categories) != len(keywords):
            raise self.error(
                line_no, f"{where}: {len(categories)} categories {category!r} but {len(keywords)} keywords {keyword!r}"
            )
        annotation = []
        for raw_category, raw_keyword in zip(categories, keywords):
            label = normalize_emotion(raw_category)
            if label not in ECPE_EMOTIONS:
                raise self.error(
                    line_no, f"{where}: emotion category {raw_category!r} is not one of {list(ECPE_EMOTIONS)}"
                )
            annotation.append((label, self.keyword_span(raw_keyword, unit, line_no, where)))
        if len(annotation) > 1:
            self.report.add("multi-emotion clause (pair listed once per annotation)", f"{self.path.name}: {where}")
            if len({label for label, _ in annotation}) > 1:
                self.report.add(
                    "mixed multi-emotion clause: unit label = first category", f"{self.path.name}: {where} {category}"
                )
        return unit, annotation

    def keyword_span(self, raw_keyword: str, unit: str, line_no: int, where: str) -> list[int]:
        keyword = raw_keyword.strip()
        if keyword.lower() == "null":
            keyword = ""
        if self.language == "zh":
            keyword = join_chinese_words(keyword)
        span, repair = locate_keyword(keyword, unit)
        if repair is None:
            return span
        if not self.lenient:
            raise self.error(
                line_no,
                f"{where}: emotion keyword {raw_keyword!r} does not occur in the clause {unit!r}",
                _LENIENT_HINT,
            )
        found = unit[span[0] : span[1]] if span != NO_SPAN else "-"
        self.report.add(f"{repair} (lenient)", f"{self.path.name}: {where}: {raw_keyword!r} -> {found!r}")
        return span

    def pairs(
        self,
        doc_id: str,
        listed: list[tuple[int, int]],
        annotations: list[list[tuple[str, list[int]]]],
        line_no: int,
    ) -> list[dict[str, Any]]:
        counts = Counter(listed)
        seen: Counter = Counter()
        pairs = []
        for emotion, cause in listed:
            annotation = annotations[emotion]
            if not annotation:
                raise self.error(
                    line_no,
                    f"document {doc_id}: pair ({emotion + 1}, {cause + 1}) names clause {emotion + 1} as its emotion "
                    "clause, but that clause has no emotion category",
                )
            n_annotations = len(annotation)
            if n_annotations > 1 and counts[(emotion, cause)] != n_annotations:
                problem = (
                    f"document {doc_id}: pair ({emotion + 1}, {cause + 1}) is listed {counts[(emotion, cause)]} times "
                    f"but its emotion clause has {n_annotations} annotations (expected one listing per annotation)"
                )
                if not self.lenient:
                    raise self.error(line_no, problem, _LENIENT_HINT)
                if seen[(emotion, cause)] == 0:
                    self.report.add("multi-emotion pair count mismatch (lenient)", f"{self.path.name}: {problem}")
            which = min(seen[(emotion, cause)], n_annotations - 1)
            seen[(emotion, cause)] += 1
            category, emotion_span = annotation[which]
            pairs.append(make_pair(emotion, cause, emotion_span=emotion_span, category=category))
        pairs, removed = dedupe_pairs(pairs)
        for _ in range(removed):
            self.report.add("duplicate pair removed", f"{self.path.name}: document {doc_id}")
        return pairs


def parse_nustm(
    text: str,
    path: str | Path = "<string>",
    *,
    language: str,
    lenient: bool = True,
    report: RepairReport | None = None,
) -> list[dict[str, Any]]:
    """Canonical rows (one per document, in file order) from the text of a NUSTM-format file.

    ``path`` only names the file in errors. ``language`` (``"zh"`` / ``"en"``) selects the Chinese word joining.
    Raises :class:`CorpusFormatError` naming the file and line on malformed input or (strict mode) known noise.
    """
    report = report if report is not None else RepairReport(announce=True)
    return _NustmParser(path, language, lenient, report).parse(text)


def read_nustm_file(
    path: str | Path, language: str, lenient: bool = True, report: RepairReport | None = None
) -> list[dict[str, Any]]:
    """:func:`parse_nustm` on a UTF-8 file (e.g. ``all_data_pair.txt`` or ``fold1_test.txt``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    rows = parse_nustm(read_text(path), path, language=language, lenient=lenient, report=report)
    return require_rows(rows, path)


def _same_document(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a[key] == b[key] for key in ("units", "emotions", "pairs"))


def _dataset(rows: Iterable[dict[str, Any]]) -> Dataset:
    return Dataset.from_list(list(rows), features=features_for(()))


def _fold_number(config: str) -> int:
    return int(config.removeprefix("fold"))


def _zh_fold_ids(path: Path, by_id: dict[str, dict[str, Any]], lenient: bool, report: RepairReport) -> list[str]:
    """Document ids of one Chinese fold file, checked against ``all_data_pair.txt`` (see the module docstring)."""
    ids = []
    for row in read_nustm_file(path, "zh", lenient, RepairReport()):  # its normalisations are counted via by_id
        doc_id = row["id"]
        reference = by_id.get(doc_id)
        if reference is not None:
            if not _same_document(row, reference):
                raise CorpusFormatError(
                    path,
                    f"document {doc_id}",
                    f"differs from document {doc_id} of {ALL_DATA_FILE}",
                    "use the same release",
                )
            ids.append(doc_id)
            continue
        original = KNOWN_ZH_DUPLICATES.get(doc_id)
        if original is not None and original in by_id and _same_document(row, by_id[original]):
            report.add(
                "known duplicate document dropped from a fold file",
                f"{path.name}: document {doc_id} duplicates document {original} and is not in {ALL_DATA_FILE}",
            )
            continue
        raise CorpusFormatError(
            path,
            f"document {doc_id}",
            f"this test document is missing from {ALL_DATA_FILE}",
            "the fold files and all_data_pair.txt must come from the same release (NUSTM/ECPE data_combine/)",
        )
    return ids


def build_ecpe_zh(
    data_dir: str | Path,
    config: str = "fold1",
    lenient: bool = True,
    report: RepairReport | None = None,
    splits: list[str] | None = None,
) -> DatasetDict:
    """The Chinese ECPE corpus, fold ``config``: ``train`` / ``validation`` / ``test`` (see the module docstring).

    ``splits`` builds only the named splits; without ``"validation"`` train is the whole complement of the test fold.
    The test fold's file is always read (it defines the fold).
    """
    fold = _fold_number(SPECS["ecpe_zh"].check_config(config))
    report = report if report is not None else RepairReport(announce=True)
    base = Path(data_dir) / ZH_SUBDIR
    all_path, test_path = base / ALL_DATA_FILE, base / f"fold{fold}_test.txt"
    for path in (all_path, test_path):
        if not path.is_file():
            raise FileNotFoundError(f"ecpe_zh/{config}: {path} not found (expected {ZH_SUBDIR}/ under {data_dir})")
    validation_path = base / f"fold{fold % 10 + 1}_test.txt"
    files = select_split_files(
        f"ecpe_zh/{config}",
        {"train": all_path, "validation": validation_path, "test": test_path},
        splits=splits,
        report=report,
    )
    rows = read_nustm_file(all_path, "zh", lenient, report)
    by_id = {row["id"]: row for row in rows}
    test_ids = _zh_fold_ids(test_path, by_id, lenient, report)
    validation_ids = _zh_fold_ids(validation_path, by_id, lenient, report) if "validation" in files else None
    overlap = set(test_ids) & set(validation_ids or ())
    if overlap:
        raise CorpusFormatError(
            validation_path,
            f"documents {sorted(overlap)[:5]}",
            f"also listed in {test_path.name}",
            "folds must be disjoint",
        )
    held_out = set(test_ids) | set(validation_ids or ())
    built = {
        "train": lambda: _dataset(row for row in rows if row["id"] not in held_out),
        "validation": lambda: _dataset(by_id[doc_id] for doc_id in validation_ids),
        "test": lambda: _dataset(by_id[doc_id] for doc_id in test_ids),
    }
    return DatasetDict({split: built[split]() for split in files})


def build_ecpe_en(
    data_dir: str | Path,
    config: str = "fold1",
    lenient: bool = True,
    report: RepairReport | None = None,
    splits: list[str] | None = None,
) -> DatasetDict:
    """The English ECPE corpus, fold ``config``: ``fold{k}_{train,val,test}.txt`` → ``train/validation/test``.

    All three files must exist unless ``splits`` names the splits to build."""
    fold = _fold_number(SPECS["ecpe_en"].check_config(config))
    report = report if report is not None else RepairReport(announce=True)
    base = Path(data_dir) / EN_SUBDIR
    expected = {split: base / f"fold{fold}_{suffix}.txt" for split, suffix in EN_SPLIT_FILES}
    files = select_split_files(f"ecpe_en/{config}", expected, splits=splits, report=report)
    rows_of: dict[str, list[dict[str, Any]]] = {}
    split_of: dict[str, str] = {}
    for split, path in files.items():
        rows_of[split] = read_nustm_file(path, "en", lenient, report)
        for row in rows_of[split]:
            if row["id"] in split_of:
                raise CorpusFormatError(
                    path, f"document {row['id']}", f"also in the {split_of[row['id']]} split", "folds must be disjoint"
                )
            split_of[row["id"]] = split
    return DatasetDict({split: _dataset(rows) for split, rows in rows_of.items()})


_LICENSE = (
    "Research use only. Derived from the HITSZ emotion-cause corpora, distributed under the 'Emotion Cause Dataset "
    "License Agreement' (academic research, no redistribution, signed agreement required). Not shipped with hf_ecpe: "
    "build it from your own copy."
)

SPECS: dict[str, CorpusSpec] = {
    "ecpe_zh": CorpusSpec(
        name="ecpe_zh",
        folder="ecpe-zh",
        configs=FOLD_CONFIGS,
        build=build_ecpe_zh,
        description=(
            "Chinese clause-level emotion-cause pair extraction corpus (Xia & Ding 2019, from the SINA news corpus of "
            "Gui et al. 2016): 1,945 documents, 28,727 clauses, 2,147 distinct (emotion, cause) clause pairs. "
            "10-fold cross-validation; validation = the next fold's test documents, train = the rest."
        ),
        license=_LICENSE,
        citation=(
            "@inproceedings{xia-ding-2019-emotion,\n  title = {Emotion-Cause Pair Extraction: A New Task to Emotion "
            "Analysis in Texts},\n  author = {Xia, Rui and Ding, Zixiang},\n  booktitle = {Proceedings of ACL},\n"
            "  year = {2019},\n  pages = {1003--1012}\n}\n@inproceedings{gui-etal-2016-event,\n  title = {Event-Driven "
            "Emotion Cause Extraction with Corpus Construction},\n  author = {Gui, Lin and Wu, Dongyin and Xu, Ruifeng "
            "and Lu, Qin and Zhou, Yu},\n  booktitle = {Proceedings of EMNLP},\n  year = {2016}\n}"
        ),
    ),
    "ecpe_en": CorpusSpec(
        name="ecpe_en",
        folder="ecpe-en",
        configs=FOLD_CONFIGS,
        build=build_ecpe_en,
        description=(
            "English clause-level emotion-cause pair extraction corpus (Singh et al. 2021, adapted from the English "
            "NTCIR-13 ECA data): 2,843 documents, 21,801 clauses, 3,215 pairs; 10 folds of 2,275/284/284 documents."
        ),
        license=_LICENSE,
        citation=(
            "@inproceedings{singh-etal-2021-end,\n  title = {An End-to-End Network for Emotion-Cause Pair "
            "Extraction},\n  author = {Singh, Aaditya and Hingane, Shreeshail and Wani, Saim and Modi, Ashutosh},\n"
            "  booktitle = {Proceedings of the 11th Workshop on Computational Approaches to Subjectivity, Sentiment "
            "and Social Media Analysis (WASSA)},\n  year = {2021}\n}"
        ),
    ),
}
