"""Register hf_ecpe's models with the transformers Auto classes (idempotent; run by ``import hf_ecpe``).

After registration, ``AutoConfig`` / ``AutoModel.from_pretrained(checkpoint)`` return the library classes, and every
``save_pretrained`` writes ``auto_map`` plus the model folder's code files, so the same checkpoint also loads without
hf_ecpe through ``trust_remote_code=True``.
"""

from __future__ import annotations

from transformers import AutoConfig, AutoModel, AutoModelForCausalLM


def register_models() -> None:
    """``AutoConfig.register`` / ``AutoModel.register`` / ``register_for_auto_class`` for every entry of ``METHODS``."""
    from . import __version__
    from .models import METHODS

    for model_type, (config_cls, model_cls) in METHODS.items():
        if config_cls.model_type != model_type:
            raise RuntimeError(f"METHODS key {model_type!r} differs from {config_cls.__name__}.model_type")
        AutoConfig.register(model_type, config_cls, exist_ok=True)
        AutoModel.register(config_cls, model_cls, exist_ok=True)
        config_cls.register_for_auto_class()
        model_cls.register_for_auto_class("AutoModel")
        # Lets the model warn when a checkpoint was made by another hf_ecpe version (None in remote code).
        config_cls.library_version = __version__


def register_pipelines() -> None:
    """Register the ``emotion-cause`` pipeline task (``pipeline("emotion-cause", model=...)``); idempotent."""
    from transformers.pipelines import PIPELINE_REGISTRY

    if "emotion-cause" in PIPELINE_REGISTRY.get_supported_tasks():
        return
    from .defaults import default_model_path, has_default_model
    from .pipelines.emotion_cause import EmotionCausePipeline

    # The embedded default (a partial A2Net checkpoint inside the package) serves `pipeline("emotion-cause")`.
    default = {"model": (str(default_model_path()), "main")} if has_default_model() else None
    # Causal LMs first: a (LoRA-adapted) LLM loads with its LM head and serves as the triplet-LLM backend; our pair
    # models are unknown to AutoModelForCausalLM (a quick ValueError), so they fall through to AutoModel.
    PIPELINE_REGISTRY.register_pipeline(
        "emotion-cause",
        pipeline_class=EmotionCausePipeline,
        pt_model=(AutoModelForCausalLM, AutoModel),
        default=default,
        type="text",
    )


def register_all() -> None:
    """Everything hf_ecpe registers with transformers."""
    register_models()
    register_pipelines()


__all__ = ["register_all", "register_models", "register_pipelines"]
