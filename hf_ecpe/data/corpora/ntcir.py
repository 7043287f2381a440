"""NTCIR-13 ECA / Gui et al. (2016) span-level emotion-cause corpus in its EmotionML-style XML.

Licensed (HITSZ "Emotion Cause Dataset License Agreement"); not in the shared data folder, never shipped. Schema::

    <emotionml>                                          optionally namespaced; a file may also be several
      <emotion id="12">                                  concatenated XML documents, one <emotionml> each
        <category name="happiness" value="..."/>
        <clause id="1" cause="N" keywords="N"><text>...</text></clause>
        <clause id="2" cause="Y" keywords="N">
          <text>clause text</text>
          <cause id="1" begin="3" lenth="6">span text</cause>         (sic: "lenth")
        </clause>
        <clause id="3" cause="N" keywords="Y">
          <text>clause text</text>
          <keywords keywords-begin="0" keywords-lenth="2">keyword</keywords>
        </clause>
      </emotion>
    </emotionml>

One row per ``emotion`` element (``id`` = its ``id``): ``units`` = the clause texts (stripped), ``emotions`` = the
category (``normalize_emotion``) on every keyword clause and ``"neutral"`` elsewhere, one pair per (keyword clause,
cause element) with ``cause_span`` / ``emotion_span`` = the character spans of the cause / keyword text in their
clause (``begin`` offsets are read against the clause text as written in the file, then moved into the stripped unit)
and ``category`` = the category name. A document without cause elements keeps ``pairs = []``.

Known noise, strict → :class:`CorpusFormatError` naming the emotion id and clause, ``lenient=True`` → repaired and
reported: ``begin`` offsets off by a few characters (or ``-1``): the span is relocated by its text (the element's
text content), at the occurrence nearest to the given ``begin``; a span text absent from its clause keeps the pair
with ``[-1, -1]``; closing tags mangled into ``?/text>`` (``?/cause>`` ...): restored; clauses with empty text:
dropped; an ``emotion`` with no clause or no keyword clause: dropped; a ``cause``/``keywords`` flag that disagrees
with the child elements: the child elements win; a repeated emotion id: suffixed ``#2``, ``#3`` ...

Configs ``zh`` and ``en`` (the language of the text). Files looked for in ``data_dir`` and its direct sub-folders,
names compared case-insensitively (``data_dir`` is the ``ntcir-eca`` folder):

- ``zh``: train ``ECA_training_Chinese.xml`` or ``emotion_cause_chinese_train.xml``; test ``cause_emotion_chi_test.xml``
  or ``emotion_cause_chinese_test.xml``.
- ``en``: train ``ECA_training_English.xml`` or ``emotion_cause_english_train.xml``; test ``cause_emotion_eng_test.xml``
  or ``emotion_cause_english_test.xml``.
- Otherwise, a folder holding exactly one ``*.xml`` file (e.g. the Gui et al. corpus as one file): that file is the
  ``train`` split, in the config's language.

The train file must exist (a test file without it raises :class:`~hf_ecpe.data.errors.MissingSplitError`); a missing
test file is noted in the report. ``splits=[...]`` builds exactly the named splits. A file without an ``emotion``
element raises.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict

from ..errors import CorpusFormatError, read_text
from ..schema import NEUTRAL, NO_SPAN, dedupe_pairs, features_for, make_pair, normalize_emotion
from .base import CorpusSpec, RepairReport, require_rows, select_split_files

NTCIR_CONFIGS = ("zh", "en")
NTCIR_FILES: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        "train": ("ECA_training_Chinese.xml", "emotion_cause_chinese_train.xml"),
        "test": ("cause_emotion_chi_test.xml", "emotion_cause_chinese_test.xml"),
    },
    "en": {
        "train": ("ECA_training_English.xml", "emotion_cause_english_train.xml"),
        "test": ("cause_emotion_eng_test.xml", "emotion_cause_english_test.xml"),
    },
}
_ROOT = "hf_ecpe_root"
_XML_DECLARATION = re.compile(r"<\?xml[^>]*\?>")
_MANGLED_CLOSING_TAG = re.compile(r"\?/(text|cause|keywords|clause|category|emotion|emotionml)>")
_LENIENT_HINT = (
    "known noise of this corpus, refused because this build is strict (--strict / lenient=False); the default, "
    "lenient=True, repairs and reports it"
)


def _local(tag: Any) -> str:
    """Tag name without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


class _NtcirConverter:
    """Turns the text of one NTCIR/Gui XML file into canonical rows (see the module docstring)."""

    def __init__(self, path: str | Path, language: str, lenient: bool, report: RepairReport):
        if language not in NTCIR_CONFIGS:
            raise ValueError(f"language must be one of {NTCIR_CONFIGS}, got {language!r}")
        self.path, self.language, self.lenient, self.report = Path(path), language, lenient, report

    def error(self, where: str, problem: str, hint: str = "") -> CorpusFormatError:
        return CorpusFormatError(self.path, where, problem, hint)

    def noise(self, where: str, problem: str, kind: str) -> None:
        """Known noise: raise in strict mode, record the repair in lenient mode."""
        if not self.lenient:
            raise self.error(where, problem, _LENIENT_HINT)
        self.report.add(f"{kind} (lenient)", f"{self.path.name}: {where}: {problem}")

    # -- file level -------------------------------------------------------------------------------------------
    def parse(self, text: str) -> list[dict[str, Any]]:
        for match in _MANGLED_CLOSING_TAG.finditer(text):
            self.noise(
                f"line {_line_of(text, match.start())}",
                f"mangled closing tag {match.group(0)!r}",
                "closing tag restored",
            )
        text = _MANGLED_CLOSING_TAG.sub(r"</\1>", text)
        # Several concatenated documents → one: blank out each XML declaration (same length, so line/column
        # numbers in parse errors stay those of the file) and wrap everything in one synthetic root.
        text = _XML_DECLARATION.sub(lambda m: " " * len(m.group(0)), text)
        try:
            root = ET.fromstring(f"<{_ROOT}>{text}</{_ROOT}>")
        except ET.ParseError as err:
            line, column = err.position
            if line == 1:
                column -= len(_ROOT) + 2
            raise self.error(
                f"line {line}, column {column}",
                f"XML is not well-formed ({str(err.msg).split(':')[0]})",
                "is the file truncated or hand-edited?",
            ) from err
        emotions = [element for element in root.iter() if _local(element.tag) == "emotion"]
        if not emotions:
            raise self.error(
                "file", "no documents (no <emotion> element found)", "expected <emotionml><emotion id=...><clause ...>"
            )
        rows: list[dict[str, Any]] = []
        used: dict[str, int] = {}
        for position, element in enumerate(emotions, start=1):
            row = self.document(element, position)
            if row is None:
                continue
            if row["id"] in used:
                used[row["id"]] += 1
                new_id = f"{row['id']}#{used[row['id']]}"
                self.noise(f"emotion {row['id']}", f"emotion id repeated (renamed {new_id})", "repeated emotion id")
                row["id"] = new_id
            else:
                used[row["id"]] = 1
            rows.append(row)
        return rows

    # -- one emotion element ----------------------------------------------------------------------------------
    def document(self, element: ET.Element, position: int) -> dict[str, Any] | None:
        doc_id = (element.get("id") or "").strip()
        if not doc_id:
            raise self.error(f"<emotion> number {position}", "missing attribute 'id'")
        where = f"emotion {doc_id}"
        categories = _children(element, "category")
        if len(categories) != 1 or not (categories[0].get("name") or "").strip():
            raise self.error(where, f"expected one <category name=...>, found {len(categories)}")
        category = normalize_emotion(categories[0].get("name"))
        units: list[str] = []
        keyword_clauses: list[tuple[int, list[list[int]]]] = []  # (unit index, keyword spans)
        causes: list[tuple[int, list[int]]] = []  # (unit index, cause span)
        for clause in _children(element, "clause"):
            converted = self.clause(clause, where)
            if converted is None:
                continue
            unit, cause_spans, keyword_spans = converted
            index = len(units)
            units.append(unit)
            causes.extend((index, span) for span in cause_spans)
            if keyword_spans is not None:
                keyword_clauses.append((index, keyword_spans))
        if not units or not keyword_clauses:
            what = "has no clause" if not units else 'has no keyword clause (keywords="Y"), so no emotion clause'
            self.noise(where, f"the emotion {what}: document dropped", "document dropped")
            return None
        emotions = [NEUTRAL] * len(units)
        pairs = []
        for emotion_index, keyword_spans in keyword_clauses:
            emotions[emotion_index] = category
            for keyword_span in keyword_spans:
                for cause_index, cause_span in causes:
                    pairs.append(
                        make_pair(
                            emotion_index,
                            cause_index,
                            cause_span=cause_span,
                            emotion_span=keyword_span,
                            category=category,
                        )
                    )
        pairs, removed = dedupe_pairs(pairs)
        for _ in range(removed):
            self.report.add("duplicate pair removed", f"{self.path.name}: {where}")
        return {
            "id": doc_id,
            "kind": "document",
            "language": self.language,
            "units": units,
            "speakers": [],
            "emotions": emotions,
            "pairs": pairs,
        }

    def flag(self, clause: ET.Element, name: str, where: str) -> bool:
        value = (clause.get(name) or "").strip().upper()
        if value not in ("Y", "N"):
            raise self.error(where, f"attribute {name!r} must be 'Y' or 'N', got {clause.get(name)!r}")
        return value == "Y"

    def clause(self, clause: ET.Element, doc_where: str) -> tuple[str, list[list[int]], list[list[int]] | None] | None:
        """(unit, cause spans, keyword spans or None when not a keyword clause), or None for a dropped clause."""
        where = f"{doc_where}, clause {clause.get('id', '?')}"
        is_cause, is_keyword = self.flag(clause, "cause", where), self.flag(clause, "keywords", where)
        cause_elements, keyword_elements = _children(clause, "cause"), _children(clause, "keywords")
        texts = _children(clause, "text")
        if len(texts) > 1:
            raise self.error(where, f"{len(texts)} <text> elements in one clause")
        raw = "".join(texts[0].itertext()) if texts else ""
        if not raw.strip():
            if cause_elements or keyword_elements:
                raise self.error(where, "the clause has no text but carries a cause/keywords annotation")
            self.noise(where, "the clause has no text: clause dropped", "empty clause dropped")
            return None
        if is_cause != bool(cause_elements):
            self.noise(
                where,
                f'cause="{"Y" if is_cause else "N"}" with {len(cause_elements)} <cause> elements',
                "cause flag disagrees with its elements",
            )
        if is_keyword != bool(keyword_elements):
            self.noise(
                where,
                f'keywords="{"Y" if is_keyword else "N"}" with {len(keyword_elements)} <keywords> elements',
                "keywords flag disagrees with its elements",
            )
        unit = raw.strip()
        shift = len(raw) - len(raw.lstrip())
        cause_spans = [
            self.span(raw, element, "begin", "lenth", shift, f"{where}, cause") for element in cause_elements
        ]
        keyword_spans = [
            self.span(raw, element, "keywords-begin", "keywords-lenth", shift, f"{where}, keywords")
            for element in keyword_elements
        ]
        return unit, cause_spans, (keyword_spans if keyword_elements else None)

    def span(
        self, raw: str, element: ET.Element, begin_attr: str, length_attr: str, shift: int, where: str
    ) -> list[int]:
        """The ``[start, end)`` of the element's text in the stripped clause (see the module docstring)."""
        span_text = "".join(element.itertext())
        if not span_text.strip():
            raise self.error(where, "the span element has no text")
        begin = self.int_attribute(element, begin_attr, where)
        length_attr = length_attr if element.get(length_attr) is not None else length_attr.replace("lenth", "length")
        length = self.int_attribute(element, length_attr, where)
        if begin >= 0 and raw[begin : begin + length] == span_text:
            start, end = begin, begin + length
        else:
            occurrences = [m.start() for m in re.finditer(re.escape(span_text), raw)]
            problem = (
                f"span text {span_text!r} is not at {begin_attr}={begin}, {length_attr}={length} "
                f"(the clause has {raw[max(begin, 0) : max(begin, 0) + length]!r} there)"
            )
            if not occurrences:
                self.noise(
                    where,
                    problem + " and does not occur in the clause: pair kept without this span",
                    "span text not in its clause",
                )
                return list(NO_SPAN)
            start = min(occurrences, key=lambda offset: (abs(offset - begin), offset))
            end = start + len(span_text)
            self.noise(where, f"{problem}; relocated to begin={start}", "span offset repaired")
        # Into the stripped unit's coordinates, without surrounding whitespace.
        while start < end and raw[start].isspace():
            start += 1
        while end > start and raw[end - 1].isspace():
            end -= 1
        unit_length = len(raw.strip())
        start, end = max(start - shift, 0), min(end - shift, unit_length)
        if start >= end:
            raise self.error(where, f"span text {span_text!r} lies outside the clause text")
        return [start, end]

    def int_attribute(self, element: ET.Element, name: str, where: str) -> int:
        value = element.get(name)
        try:
            return int(str(value).strip())
        except ValueError:
            raise self.error(where, f"attribute {name!r} must be an integer, got {value!r}") from None


def parse_ntcir_xml(
    text: str,
    path: str | Path = "<string>",
    *,
    language: str,
    lenient: bool = True,
    report: RepairReport | None = None,
) -> list[dict[str, Any]]:
    """Canonical rows (one per ``emotion`` element, in file order) from the text of an NTCIR/Gui XML file.

    ``path`` only names the file in errors; ``language`` is ``"zh"`` or ``"en"``. Raises :class:`CorpusFormatError`
    naming the file and the emotion/clause (or line) on malformed input or, in strict mode, known noise.
    """
    report = report if report is not None else RepairReport(announce=True)
    return _NtcirConverter(path, language, lenient, report).parse(text)


def read_xml_text(path: str | Path) -> str:
    """The text of an XML file: UTF-8 (BOM tolerated) unless its declaration names another encoding (``gb2312``/
    ``gbk`` are read as their superset ``gb18030``). Undecodable bytes raise :class:`CorpusFormatError`."""
    path = Path(path)
    head = path.read_bytes()[:200]
    match = re.match(rb"\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']", head.lstrip(b"\xef\xbb\xbf"))
    encoding = match.group(1).decode("ascii").lower() if match else "utf-8"
    if encoding in ("utf-8", "utf8"):
        return read_text(path)
    codec = "gb18030" if encoding in ("gb2312", "gbk", "gb18030") else encoding
    data = path.read_bytes()
    try:
        return data.decode(codec)
    except LookupError as err:
        raise CorpusFormatError(path, "XML declaration", f"unknown encoding {encoding!r}") from err
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise CorpusFormatError(
            path, f"line {line}", f"undecodable bytes for the declared encoding {encoding!r} ({err.reason})"
        ) from err


def find_ntcir_files(data_dir: str | Path, config: str) -> dict[str, Path]:
    """The split files of ``config`` under ``data_dir`` (see the module docstring); raises when none is found."""
    data_dir = Path(data_dir)
    folders = [data_dir] + sorted(p for p in data_dir.iterdir() if p.is_dir()) if data_dir.is_dir() else []
    by_name: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.glob("*")):
            if path.is_file():
                by_name.setdefault(path.name.lower(), path)
    files = {}
    for split, names in NTCIR_FILES[config].items():
        for name in names:
            if name.lower() in by_name:
                files[split] = by_name[name.lower()]
                break
    if files:
        return files
    top_level = sorted(p for p in data_dir.glob("*") if p.is_file() and p.suffix.lower() == ".xml") if folders else []
    if len(top_level) == 1:
        return {"train": top_level[0]}
    expected = ", ".join(name for names in NTCIR_FILES[config].values() for name in names)
    found = f"; found several XML files {[p.name for p in top_level]}" if top_level else ""
    raise FileNotFoundError(
        f"ntcir_eca/{config}: none of {expected} under {data_dir} (or its sub-folders), and not exactly one *.xml "
        f"file in it{found}"
    )


def build_ntcir_eca(
    data_dir: str | Path,
    config: str = "zh",
    lenient: bool = True,
    report: RepairReport | None = None,
    splits: list[str] | None = None,
) -> DatasetDict:
    """The NTCIR-13 ECA / Gui et al. corpus in language ``config``: ``train`` (and ``test`` when present)."""
    config = SPECS["ntcir_eca"].check_config(config)
    report = report if report is not None else RepairReport(announce=True)
    found = find_ntcir_files(data_dir, config)
    expected = {split: found.get(split, Path(data_dir) / names[0]) for split, names in NTCIR_FILES[config].items()}
    built = {}
    for split, path in select_split_files(
        f"ntcir_eca/{config}", expected, optional=("test",), splits=splits, report=report
    ).items():
        rows = parse_ntcir_xml(read_xml_text(path), path, language=config, lenient=lenient, report=report)
        built[split] = Dataset.from_list(require_rows(rows, path, "emotion elements"), features=features_for(()))
    return DatasetDict(built)


SPECS: dict[str, CorpusSpec] = {
    "ntcir_eca": CorpusSpec(
        name="ntcir_eca",
        folder="ntcir-eca",
        configs=NTCIR_CONFIGS,
        build=build_ntcir_eca,
        description=(
            "NTCIR-13 Emotion Cause Analysis corpora (Chinese and English) and the Chinese emotion cause corpus of "
            "Gui et al. (2016): documents with one annotated emotion (keyword span and category) and its cause "
            "spans. One row per <emotion> element; span-level pairs."
        ),
        license=(
            "Research use only: HITSZ 'Emotion Cause Dataset License Agreement' (academic research, no "
            "redistribution, signed agreement required). Not shipped with hf_ecpe: build it from your own copy."
        ),
        citation=(
            "@inproceedings{gao-etal-2017-overview,\n  title = {Overview of NTCIR-13 ECA Task},\n  author = {Gao, "
            "Qinghong and Hu, Jiannan and Xu, Ruifeng and Gui, Lin and He, Yulan and Wong, Kam-Fai and Lu, Qin},\n"
            "  booktitle = {Proceedings of the 13th NTCIR Conference on Evaluation of Information Access "
            "Technologies},\n  year = {2017}\n}\n@inproceedings{gui-etal-2016-event,\n  title = {Event-Driven Emotion "
            "Cause Extraction with Corpus Construction},\n  author = {Gui, Lin and Wu, Dongyin and Xu, Ruifeng and Lu, "
            "Qin and Zhou, Yu},\n  booktitle = {Proceedings of EMNLP},\n  year = {2016}\n}"
        ),
    )
}
