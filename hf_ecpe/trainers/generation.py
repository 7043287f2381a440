"""``GenerationTrainer``: the trainer base on ``transformers.Seq2SeqTrainer`` (generation during evaluation with
``predict_with_generate``), for encoder–decoder generators such as cause-aware empathetic response generation."""

from __future__ import annotations

from transformers import Seq2SeqTrainer

from .arguments import GenerationTrainingArguments
from .base import EcpeTrainerMixin


class GenerationTrainer(EcpeTrainerMixin, Seq2SeqTrainer):
    """:class:`~hf_ecpe.trainers.base.EcpeTrainerMixin` (method-spec labels and collator, every ``loss_*`` logged, the
    hf_ecpe card) on ``Seq2SeqTrainer``. Datasets are the method's prepared examples (no fixed columns)."""

    trainer_name = "GenerationTrainer"

    @staticmethod
    def default_arguments() -> GenerationTrainingArguments:
        return GenerationTrainingArguments()


__all__ = ["GenerationTrainer"]
