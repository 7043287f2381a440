"""What every corpus builder provides, and the report of repairs made in lenient mode."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from datasets import DatasetDict


@dataclass
class RepairReport:
    """Counts of repairs a builder made (lenient mode) or of known, documented normalisations."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, example: str = "") -> None:
        self.counts[kind] += 1
        if example and len(self.examples.setdefault(kind, [])) < 3:
            self.examples[kind].append(example)

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

    ``build(data_dir, config, lenient, report)`` returns a ``DatasetDict`` with the splits whose files exist
    (``train``, ``validation``, ``test``), rows in the canonical schema (:mod:`hf_ecpe.data.schema`).
    ``data_dir`` is the corpus folder itself (e.g. ``../shared/data/ecpe-en``).
    """

    name: str
    folder: str
    configs: tuple[str, ...]
    build: Callable[..., DatasetDict]
    description: str = ""
    license: str = ""
    citation: str = ""

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
