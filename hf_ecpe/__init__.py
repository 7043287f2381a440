"""hf_ecpe: emotion–cause analysis on the Hugging Face stack.

``import hf_ecpe`` registers every method with ``AutoConfig``/``AutoModel`` and the ``emotion-cause`` pipeline task.
Heavier pieces (trainer, model card, hub, plotting) are imported on first use.
"""

__version__ = "0.1.0.dev0"

from transformers import pipeline  # noqa: E402  (re-exported: `hf_ecpe.pipeline("emotion-cause")` implies the import)

from ._registration import register_all  # noqa: E402
from .models import A2NetConfig, A2NetModel, MultimodalPairScorerConfig, MultimodalPairScorerModel  # noqa: E402

register_all()

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
