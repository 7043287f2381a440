"""hf_ecpe: emotion–cause analysis on the Hugging Face stack.

``import hf_ecpe`` registers every method with ``AutoConfig``/``AutoModel`` and the ``emotion-cause`` pipeline task.
Heavier pieces (trainer, model card, hub, plotting) are imported on first use.
"""

import os
from pathlib import Path

from ._registration import register_all
from ._version import __version__
from .models import A2NetConfig, A2NetModel, MultimodalPairScorerConfig, MultimodalPairScorerModel

register_all()


def pipeline(task: str | None = None, model=None, **kwargs):
    """``transformers.pipeline`` (after ``import hf_ecpe`` the ``emotion-cause`` task is registered), quieter and
    with two conveniences:

    - ``model="default"`` and the names of shipped models (``hf_ecpe/assets/<name>``) work as in the command-line
      scripts; a task without an embedded default says so in one line when ``model`` is not given;
    - without ``model``, the task's embedded default is named explicitly (no "No model was supplied" warning) and
      loaded without progress bars (it is a local folder: there is nothing to wait for);
    - a folder written by ``hf_ecpe.scripts.export`` (ONNX) is served through onnxruntime
      (:class:`hf_ecpe.pipelines.onnx_backend.OnnxPairModel`; docs/serving.md);
    - for a triplet-LLM adapter folder trained by ``hf_ecpe.scripts.sft``, the emotion categories it recorded
      (``metrics.json``) are used when ``labels`` is not given (``transformers.pipeline`` resolves an adapter to its
      base model before the pipeline sees it, so only this entry point can read the adapter folder).
    """
    import transformers
    from transformers.utils import logging as hf_logging

    from .defaults import resolve_model_name
    from .methods import PIPELINE_TASKS, resolve

    quiet = False
    if model is None and task in PIPELINE_TASKS:
        if not PIPELINE_TASKS[task].default_model:
            raise ValueError(
                f"the {task!r} task has no embedded default model in this version of hf_ecpe: pass model=<a folder "
                "trained with hf_ecpe.scripts.train for it>"
            )
        model, quiet = str(resolve(PIPELINE_TASKS[task].default_model)()), True
    elif isinstance(model, (str, os.PathLike)):
        quiet = str(model) == "default"
        model = resolve_model_name(model)  # "default" and the names of shipped models, as in the CLIs
    if task == "emotion-cause" and isinstance(model, (str, os.PathLike)):
        from .pipelines.onnx_backend import is_onnx_folder, load_onnx_model

        if is_onnx_folder(model):  # an ONNX export (hf_ecpe.scripts.export): served through onnxruntime
            model, tokenizer = load_onnx_model(model)
            kwargs.setdefault("tokenizer", tokenizer)
    if task == "emotion-cause" and isinstance(model, (str, os.PathLike)) and "labels" not in kwargs:
        from .pipelines.emotion_cause import recorded_labels

        folder = Path(model)
        if (folder / "adapter_config.json").is_file():
            labels = recorded_labels(folder)
            if labels:
                kwargs["labels"] = labels
    if not quiet:
        return transformers.pipeline(task, model=model, **kwargs)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return transformers.pipeline(task, model=model, **kwargs)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


_LAZY = {
    "EcpeTrainer": "hf_ecpe.trainers",
    "EcpeTrainingArguments": "hf_ecpe.trainers",
    "EcpeComputeMetrics": "hf_ecpe.trainers",
    "EmotionCausePipeline": "hf_ecpe.pipelines",
    "EcpeModelCardData": "hf_ecpe.model_card",
    "ModelCardCallback": "hf_ecpe.model_card",
    "generate_model_card": "hf_ecpe.model_card",
    "push_model": "hf_ecpe.hub",
    "plot_pair_scores": "hf_ecpe.plotting",
}


def __getattr__(name: str):
    import importlib
    import importlib.util

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    # Submodules (`hf_ecpe.data`, `hf_ecpe.llm`, `hf_ecpe.evaluation`, ...) are imported on first attribute access.
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'hf_ecpe' has no attribute {name!r}")


__all__ = [
    "A2NetConfig",
    "A2NetModel",
    "MultimodalPairScorerConfig",
    "MultimodalPairScorerModel",
    "__version__",
    "pipeline",
    "register_all",
    *_LAZY,
]
