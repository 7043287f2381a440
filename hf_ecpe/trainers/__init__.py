"""The trainer family: a base that every method's trainer builds on, and one trainer per kind of method.

- :class:`EcpeTrainerBase` (:mod:`.base`): method-spec label names, collator and metrics; every ``loss_*`` logged;
  required columns; the hf_ecpe model card.
- :class:`PairTrainer` (:mod:`.pair`): pair models (A2Net, the conversational pair scorer), RPCL objectives,
  validation-chosen decision threshold. ``EcpeTrainer`` is its former name.
- :class:`DistillationTrainer` (:mod:`.distillation`): a student against a frozen ``teacher_model``.
- :class:`GenerationTrainer` (:mod:`.generation`): ``Seq2SeqTrainer``-based, for generators.

Imported on first use (module ``__getattr__``): ``import hf_ecpe.trainers.runs`` (the run checks the scripts make
before training) does not import the ``Trainer``.
"""

import importlib
from typing import Any

_LAZY = {
    "DistillationTrainingArguments": ".arguments",
    "EcpeTrainingArguments": ".arguments",
    "GenerationTrainingArguments": ".arguments",
    "EcpeTrainerBase": ".base",
    "EcpeTrainerMixin": ".base",
    "loss_components": ".base",
    "DistillationTrainer": ".distillation",
    "GenerationTrainer": ".generation",
    "EcpeComputeMetrics": ".metrics",
    "build_compute_metrics": ".metrics",
    "select_pair_threshold": ".metrics",
    "EcpeTrainer": ".pair",
    "PairTrainer": ".pair",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


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
