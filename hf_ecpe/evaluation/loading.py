"""Load the packaged ``evaluate`` metric modules by name, offline.

The modules live in ``hf_ecpe/evaluation/modules/<name>/<name>.py`` and ship inside the wheel as package data; the
checkout's ``metrics/<name>`` folders are relative symlinks to them, so ``evaluate.load("metrics/<name>")`` from a
checkout and :func:`load` from an installed wheel run the same file and give the same numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MODULES_DIR = Path(__file__).resolve().parent / "modules"


def available_metrics() -> list[str]:
    """Names of the packaged metric modules (folders holding ``<name>.py``)."""
    return sorted(p.name for p in MODULES_DIR.iterdir() if p.is_dir() and (p / f"{p.name}.py").is_file())


def module_path(name: str) -> Path:
    """Folder of the packaged metric module ``name``; raises ``ValueError`` listing the known names."""
    path = MODULES_DIR / name
    if not name or "/" in name or "\\" in name or not (path / f"{name}.py").is_file():
        raise ValueError(f"unknown hf_ecpe metric {name!r}; available: {available_metrics()}")
    return path


def load(name: str, **kwargs: Any):
    """``evaluate.load`` of the packaged module ``name`` (e.g. ``"ecpe"``); ``kwargs`` go to ``evaluate.load``.

    Needs the ``metrics`` extra (``pip install hf-ecpe[metrics]``); works offline, nothing is fetched from the Hub.
    """
    path = module_path(name)
    try:
        import evaluate
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("hf_ecpe.evaluation.load needs `evaluate`: pip install 'hf-ecpe[metrics]'") from err
    return evaluate.load(str(path), **kwargs)
