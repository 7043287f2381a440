"""The trainer family: a base that every method's trainer builds on, and one trainer per kind of method.

- :class:`EcpeTrainerBase` (:mod:`.base`): method-spec label names, collator and metrics; every ``loss_*`` logged;
  required columns; the hf_ecpe model card.
- :class:`PairTrainer` (:mod:`.pair`): pair models (A2Net, the conversational pair scorer), RPCL objectives,
  validation-chosen decision threshold. ``EcpeTrainer`` is its former name.
- :class:`DistillationTrainer` (:mod:`.distillation`): a student against a frozen ``teacher_model``.
- :class:`GenerationTrainer` (:mod:`.generation`): ``Seq2SeqTrainer``-based, for generators.
"""

from .arguments import DistillationTrainingArguments, EcpeTrainingArguments, GenerationTrainingArguments
from .base import EcpeTrainerBase, EcpeTrainerMixin, loss_components
from .distillation import DistillationTrainer
from .generation import GenerationTrainer
from .metrics import EcpeComputeMetrics, build_compute_metrics, select_pair_threshold
from .pair import EcpeTrainer, PairTrainer

__all__ = [
    "DistillationTrainer",
    "DistillationTrainingArguments",
    "EcpeComputeMetrics",
    "EcpeTrainer",
    "EcpeTrainerBase",
    "EcpeTrainerMixin",
    "EcpeTrainingArguments",
    "GenerationTrainer",
    "GenerationTrainingArguments",
    "PairTrainer",
    "build_compute_metrics",
    "loss_components",
    "select_pair_threshold",
]
