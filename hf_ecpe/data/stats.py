"""Corpus statistics: the table the main job prints, and the dataset cards quote."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .schema import NEUTRAL


def corpus_statistics(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts over canonical rows.

    Returns ``documents``, ``conversations``, ``units``, ``pairs`` (entries of the pairs column),
    ``unit_pairs`` (distinct (emotion, cause) unit pairs per row, summed), ``cause_spans`` (pairs with a cause span)
    and ``emotions`` (a ``Counter`` of non-neutral unit emotion labels).
    """
    stats: dict[str, Any] = {
        "documents": 0,
        "conversations": 0,
        "units": 0,
        "pairs": 0,
        "unit_pairs": 0,
        "cause_spans": 0,
        "emotions": Counter(),
    }
    for row in rows:
        stats["documents" if row["kind"] == "document" else "conversations"] += 1
        stats["units"] += len(row["units"])
        pairs = row["pairs"]
        stats["pairs"] += len(pairs)
        stats["unit_pairs"] += len({(p["emotion"], p["cause"]) for p in pairs})
        stats["cause_spans"] += sum(1 for p in pairs if list(p["cause_span"]) != [-1, -1])
        stats["emotions"].update(e for e in row["emotions"] if e != NEUTRAL)
    return stats


def format_statistics(table: Mapping[str, Mapping[str, Any]], top_emotions: int = 6) -> str:
    """A fixed-width text table, one line per named split, with the most frequent emotions."""
    header = f"{'corpus/config/split':<40} {'docs':>6} {'convs':>6} {'units':>7} {'pairs':>6} {'u-pairs':>7} {'spans':>6}  emotions"
    lines = [header, "-" * len(header)]
    for name, s in table.items():
        emotions = ", ".join(f"{label} {n}" for label, n in s["emotions"].most_common(top_emotions))
        if len(s["emotions"]) > top_emotions:
            emotions += f", … ({len(s['emotions'])} labels)"
        lines.append(
            f"{name:<40} {s['documents']:>6} {s['conversations']:>6} {s['units']:>7} {s['pairs']:>6} "
            f"{s['unit_pairs']:>7} {s['cause_spans']:>6}  {emotions}"
        )
    return "\n".join(lines)


def build_available(
    data_root: str | Path, *, lenient: bool = True, progress: bool = True
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Build the default config of every corpus found under ``data_root``.

    Returns ``(statistics per "<name>/<config>/<split>", repair summary per corpus)``. Corpora whose folder is absent
    are skipped. ``lenient`` (default) repairs known corpus noise (e.g. two misspelt emotion keywords of ECPE-en) and
    the repairs are returned so that they are reported, never silent.
    """
    from tqdm.auto import tqdm

    from .corpora import CORPUS_NAMES, get_corpus
    from .corpora.base import RepairReport

    table: dict[str, dict[str, Any]] = {}
    repairs: dict[str, str] = {}
    specs = [get_corpus(name) for name in CORPUS_NAMES]
    present = [spec for spec in specs if spec.locate(data_root).is_dir()]
    for spec in tqdm(present, desc="building corpora", unit="corpus", disable=not progress):
        report = RepairReport()
        dataset = spec.build(spec.locate(data_root), spec.default_config, lenient=lenient, report=report)
        for split, ds in dataset.items():
            table[f"{spec.name}/{spec.default_config}/{split}"] = corpus_statistics(ds)
        repairs[spec.name] = report.summary()
    return table, repairs
