"""Register hf_ecpe's methods with the transformers Auto classes and pipelines (idempotent; run by ``import hf_ecpe``).

Everything is read from the method registry (:mod:`hf_ecpe.methods`, which registers one method's classes itself:
:func:`~hf_ecpe.methods.register_method_classes`, re-exported here). After registration, ``AutoConfig`` /
``AutoModel.from_pretrained(checkpoint)`` (or the method's other Auto classes) return the library classes, and every
``save_pretrained`` writes ``auto_map`` plus the model folder's code files, so the same checkpoint also loads without
hf_ecpe through ``trust_remote_code=True``.
"""

from __future__ import annotations

import transformers

from .methods import PIPELINE_TASKS, methods, register_method_classes, resolve


def register_models() -> None:
    """Register the classes of every method in :data:`hf_ecpe.methods.METHODS`."""
    for spec in methods().values():
        register_method_classes(spec)


def register_pipelines() -> None:
    """Register every task of :data:`hf_ecpe.methods.PIPELINE_TASKS` (``pipeline("emotion-cause", model=...)``);
    idempotent."""
    from transformers.pipelines import PIPELINE_REGISTRY

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
