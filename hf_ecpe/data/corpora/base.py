"""What every corpus builder provides, and the report of repairs made in lenient mode."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import DatasetDict

from ..errors import CorpusFormatError, MissingSplitError, NoSplitFilesError

logger = logging.getLogger("hf_ecpe.data")
SPLIT_NAMES = ("train", "validation", "test")


def repair_name(kind: str) -> str:
    """The one spelling of a repair's name: words separated by spaces (``"duplicate pair removed"``); the
    ``snake_case`` spelling some builders used (``"duplicate_pair_removed"``) maps to it."""
    return kind.replace("_", " ")


class RepairCounts(Counter):
    """``Counter`` of repairs by :func:`repair_name`; looking a repair up (``[]``, ``in``, ``get``, ``==`` against a
    mapping) also accepts its former ``snake_case`` spelling."""

    def __missing__(self, key: Any) -> int:
        name = repair_name(key) if isinstance(key, str) else key
        return dict.get(self, name, 0)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, repair_name(key) if isinstance(key, str) else key)

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, repair_name(key) if isinstance(key, str) else key, default)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            other = {repair_name(k) if isinstance(k, str) else k: v for k, v in other.items()}
        return Counter.__eq__(self, Counter(other) if isinstance(other, dict) else other)

    __hash__ = None  # type: ignore[assignment]


@dataclass
class RepairReport:
    """Counts of repairs a builder made (lenient mode) or of known, documented normalisations.

    Repairs are named in words (:func:`repair_name`: ``"duplicate pair removed"``, ``"... (lenient)"`` for repairs
    only lenient mode makes); ``counts`` also answers to the former ``snake_case`` names.

    ``notes`` are facts about the build that are neither (e.g. an optional split whose file is absent); they do not
    make the report true and are printed apart from the repairs.
    """

    counts: RepairCounts = field(default_factory=RepairCounts)
    examples: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: Log a warning the first time each kind of repair is made: the report a builder makes for itself when the caller
    #: passed none, so that a lenient build (the default) never repairs silently.
    announce: bool = False

    def add(self, kind: str, example: str = "") -> None:
        kind = repair_name(kind)
        if self.announce and kind not in self.counts:
            logger.warning(
                "corpus repair: %s%s (pass report=RepairReport() to count every repair, lenient=False to refuse them)",
                kind,
                f", e.g. {example}" if example else "",
            )
        self.counts[kind] += 1
        if example and len(self.examples.setdefault(kind, [])) < 3:
            self.examples[kind].append(example)

    def note(self, text: str) -> None:
        logger.info(text)
        self.notes.append(text)

    def __bool__(self) -> bool:
        return bool(self.counts)

    def summary(self) -> str:
        if not self.counts:
            return "no repairs"
        lines = []
        for kind, n in sorted(self.counts.items()):
            eg = "; ".join(self.examples.get(kind, []))
            lines.append(f"{kind}: {n}" + (f" (e.g. {eg})" if eg else ""))
        return "\n".join(lines)


@dataclass(frozen=True)
class CorpusSpec:
    """One corpus: its canonical name, the folder it lives in under ``HF_ECPE_DATA``, its configs, its builder.

    ``build(data_dir, config, lenient, report, splits=None)`` returns a ``DatasetDict`` (``train``, ``validation``,
    ``test``), rows in the canonical schema (:mod:`hf_ecpe.data.schema`). Every split file a config expects must
    exist (:class:`~hf_ecpe.data.errors.MissingSplitError` names the file and the split otherwise), except the
    splits the corpus' public release withholds, whose absence is noted in the report; ``splits=[...]`` builds
    exactly the splits named. ``data_dir`` is the corpus folder itself (e.g. ``../shared/data/ecpe-en``).
    """

    name: str
    folder: str
    configs: tuple[str, ...]
    build: Callable[..., DatasetDict]
    description: str = ""
    license: str = ""
    citation: str = ""
    #: Generated, not read: no data folder; ``build(None, config, documents=N, seed=S)`` (the ``synthetic`` corpus).
    generated: bool = False

    @property
    def default_config(self) -> str:
        return self.configs[0]

    def check_config(self, config: str | None) -> str:
        config = config or self.default_config
        if config not in self.configs:
            raise ValueError(f"{self.name}: unknown config {config!r}; choose one of {list(self.configs)}")
        return config

    def locate(self, data_root: str | Path) -> Path:
        return Path(data_root) / self.folder


def check_splits(build: str, splits: Sequence[str], known: Collection[str]) -> list[str]:
    """``splits`` (an explicit choice) as a list of known split names; unknown names or an empty choice raise."""
    if isinstance(splits, str):
        splits = [part for part in splits.replace(",", " ").split() if part]
    chosen = list(dict.fromkeys(splits))
    if not chosen:
        raise ValueError(f"{build}: splits is empty; name at least one of {list(known)}")
    unknown = [split for split in chosen if split not in known]
    if unknown:
        raise ValueError(f"{build}: unknown split {unknown[0]!r}; this config has the splits {list(known)}")
    return chosen


def select_split_files(
    build: str,
    expected: Mapping[str, Path],
    *,
    optional: Collection[str] = (),
    splits: Sequence[str] | None = None,
    report: RepairReport | None = None,
) -> dict[str, Path]:
    """The files to build, split → path, in the order of ``expected``.

    ``expected`` maps every split of the config to the file it is read from; ``build`` (``"ecf/default"``) names the
    build in messages. Without ``splits``, every expected file must exist except the ``optional`` splits (those the
    public release withholds, e.g. held-out test files), whose absence is noted in ``report``; with ``splits``,
    exactly those splits are built and each file must exist. Raises :class:`NoSplitFilesError` when not one file
    exists, :class:`MissingSplitError` naming the split and file otherwise.
    """
    present = [split for split, path in expected.items() if Path(path).is_file()]
    if not present:
        listing = ", ".join(f"{split}: {path}" for split, path in expected.items())
        err = NoSplitFilesError(f"{build}: no split file found (expected {listing})")
        err.missing_path = str(next(iter(expected.values())))
        raise err
    if splits is not None:
        chosen = check_splits(build, splits, expected)
        for split in chosen:
            if split not in present:
                err = MissingSplitError(
                    f"{build}: the {split} split was asked for, but its file {expected[split]} does not exist "
                    f"(present: {', '.join(present)})"
                )
                err.split, err.missing_path = split, str(expected[split])
                raise err
        return {split: Path(path) for split, path in expected.items() if split in chosen}
    for split, path in expected.items():
        if split in present:
            continue
        if split not in optional:
            choice = " ".join(present)
            err = MissingSplitError(
                f"{build}: the {split} split's file {path} does not exist, although the other split files do; "
                f"restore it, or build without a {split} split by choosing the splits explicitly "
                f"(--splits {choice}, or splits={present!r} in Python)"
            )
            err.split, err.missing_path = split, str(path)
            raise err
        if report is not None:
            report.note(
                f"{build}: no {split} split: {path} is absent (optional for this corpus, whose public copies "
                "often lack it; add the file to build it)"
            )
    return {split: Path(path) for split, path in expected.items() if split in present}


def require_rows(rows: list[dict[str, Any]], path: str | Path, what: str = "documents") -> list[dict[str, Any]]:
    """``rows`` of one corpus file, or :class:`CorpusFormatError` when the well-formed file holds none."""
    if not rows:
        raise CorpusFormatError(
            path, "whole file", f"no documents (the file holds no {what})", "is it empty, truncated or a placeholder?"
        )
    return rows


def first_empty_unit(units: Sequence[str]) -> int | None:
    """Index of the first unit that is empty or whitespace only (the pipeline and the schema refuse them)."""
    return next((k for k, unit in enumerate(units) if not unit.strip()), None)
