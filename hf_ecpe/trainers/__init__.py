"""Training pair models with the ``transformers.Trainer``: arguments, trainer, ``compute_metrics``."""

from .ecpe import LABEL_NAMES, LOSS_COMPONENTS, EcpeTrainer, EcpeTrainingArguments
from .metrics import EcpeComputeMetrics, build_compute_metrics

__all__ = [
    "LABEL_NAMES",
    "LOSS_COMPONENTS",
    "EcpeComputeMetrics",
    "EcpeTrainer",
    "EcpeTrainingArguments",
    "build_compute_metrics",
]
