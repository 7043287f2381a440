"""Register hf_ecpe's methods with the transformers Auto classes and pipelines (idempotent; run by ``import hf_ecpe``).

Everything is read from the method registry (:mod:`hf_ecpe.methods`). After registration, ``AutoConfig`` /
``AutoModel.from_pretrained(checkpoint)`` (or the method's other Auto classes) return the library classes, and every
``save_pretrained`` writes ``auto_map`` plus the model folder's code files, so the same checkpoint also loads without
hf_ecpe through ``trust_remote_code=True``.
"""

from __future__ import annotations

from typing import Any

import transformers
from transformers import AutoConfig


def register_method_classes(spec: Any) -> None:
    """``AutoConfig.register`` + ``<Auto class>.register`` + ``register_for_auto_class`` for one method spec."""
    from . import __version__

    config_cls, model_cls = spec.config_class, spec.model_class
    if config_cls is None:  # e.g. the triplet LLM: its checkpoints are transformers / PEFT classes
        return
    AutoConfig.register(config_cls.model_type, config_cls, exist_ok=True)
    config_cls.register_for_auto_class()
    for index, auto_name in enumerate(spec.auto_classes):
        auto_class = getattr(transformers, auto_name)
        auto_class.register(config_cls, model_cls, exist_ok=True)
        if index == 0:
            model_cls.register_for_auto_class(auto_name)
    # Lets the model warn when a checkpoint was made by another hf_ecpe version (None in remote code).
    config_cls.library_version = __version__


def register_models() -> None:
    """Register the classes of every method in :data:`hf_ecpe.methods.METHODS`."""
    from .methods import methods

    for spec in methods().values():
        register_method_classes(spec)


def register_pipelines() -> None:
    """Register every task of :data:`hf_ecpe.methods.PIPELINE_TASKS` (``pipeline("emotion-cause", model=...)``);
    idempotent."""
    from transformers.pipelines import PIPELINE_REGISTRY

    from .methods import PIPELINE_TASKS, resolve

    supported = PIPELINE_REGISTRY.get_supported_tasks()
    for task in PIPELINE_TASKS.values():
        if task.name in supported:
            continue
        default = None
        if task.default_model:
            try:
                default = {"model": (str(resolve(task.default_model)()), "main")}
            except FileNotFoundError:  # a build without the embedded model: the task needs model=...
                default = None
        PIPELINE_REGISTRY.register_pipeline(
            task.name,
            pipeline_class=resolve(task.pipeline_class),
            pt_model=tuple(getattr(transformers, name) for name in task.auto_classes),
            default=default,
            type="text",
        )


def register_all() -> None:
    """Everything hf_ecpe registers with transformers."""
    register_models()
    register_pipelines()


__all__ = ["register_all", "register_method_classes", "register_models", "register_pipelines"]
