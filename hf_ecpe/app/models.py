"""The models the demo can switch between, and their (cached) pipelines.

:func:`available_models` is the one list: ``"default"`` (the embedded default, ``hf_ecpe/assets/<DEFAULT_MODEL_NAME>``)
first, then every other model folder shipped in ``hf_ecpe/assets`` under its folder name. A new kind of shipped
model (e.g. an exported ONNX variant) is added there, and appears in the demo's model switch.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

DEFAULT_CHOICE = "default"

_PIPELINES: dict[str, Any] = {}
_LOCK = threading.Lock()


def shipped_model_folders() -> dict[str, Path]:
    """``{folder name: path}`` of every model folder in ``hf_ecpe/assets`` (:func:`hf_ecpe.defaults.shipped_models`)."""
    from hf_ecpe.defaults import shipped_models

    return shipped_models()


def available_models() -> dict[str, Path]:
    """``{name: model folder}`` in the order the demo offers them: ``"default"``, then the other shipped models.

    Empty when this build ships no model (the demo then asks for ``--model NAME=PATH``).
    """
    from hf_ecpe.defaults import DEFAULT_MODEL_NAME

    shipped = shipped_model_folders()
    models: dict[str, Path] = {}
    if DEFAULT_MODEL_NAME in shipped:
        models[DEFAULT_CHOICE] = shipped.pop(DEFAULT_MODEL_NAME)
    models.update(shipped)
    return models


def describe_model(path: str | Path) -> str:
    """A short description of a model folder for the model switch, from its ``config.json``: method,
    its emotion categories, its decoding, e.g. ``pair-scorer · 6 emotion categories``."""
    try:
        config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "model folder"
    method = str(config.get("model_type", "model")).removeprefix("hf-ecpe-")
    categories = [c for c in config.get("emotion_categories") or [] if c != "neutral"]
    parts = [method, f"{len(categories)} emotion categories" if categories else "no categories"]
    if config.get("decoding") == "reference":
        parts.append("top-k decoding (always a pair)")
    return " · ".join(parts)


def load_pipeline(name: str, models: dict[str, Path] | None = None) -> Any:
    """The ``pipeline("emotion-cause")`` of model ``name`` (a key of ``models``, default :func:`available_models`),
    loaded once per process and reused (thread-safe: Gradio calls handlers from worker threads)."""
    import hf_ecpe

    models = available_models() if models is None else models
    if name not in models:
        raise ValueError(f"unknown model {name!r}; choose one of {list(models)}")
    key = str(Path(models[name]).resolve())
    with _LOCK:
        if key not in _PIPELINES:
            from transformers.utils import logging as hf_logging

            bars = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()  # local folders: nothing to wait for
            try:
                _PIPELINES[key] = hf_ecpe.pipeline("emotion-cause", model=key)
            finally:
                if bars:
                    hf_logging.enable_progress_bar()
        return _PIPELINES[key]


__all__ = ["DEFAULT_CHOICE", "available_models", "describe_model", "load_pipeline", "shipped_model_folders"]
