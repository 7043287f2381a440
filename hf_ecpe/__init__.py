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
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
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
