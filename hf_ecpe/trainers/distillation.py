"""``DistillationTrainer``: offline teacher–student distillation on the trainer base (TRL's GKD trainer is the model).

The trainer holds a frozen ``teacher_model`` (no gradient, eval mode unless ``teacher_dropout``), prepared by
accelerate for inference only. For each batch it obtains the teacher's logits and hands them to the student as
``teacher_logits=...``; the student model computes its own loss, distillation term included, following its
method's equations, and returns every component as ``loss_*`` (logged by the base).

Batches carry the teacher's view of the example as ``teacher_*`` tensors (``teacher_input_ids``,
``teacher_attention_mask``, ...: the teacher may read another prompt than the student); :meth:`teacher_inputs`
strips the prefix. A batch that already has ``teacher_logits`` (precomputed once and cached as a dataset column,
see :meth:`DistillationTrainer.cache_teacher_logits`) skips the teacher.

The teacher is a model or a checkpoint folder (``teacher_model="outputs/teacher"``, or
``args.teacher_model_name_or_path`` when ``teacher_model`` is not given, as in the recipes): :func:`load_teacher`
reads its config once and loads it with the Auto class of its method (TRL's ``GKDTrainer`` takes a name too).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch

from .arguments import DistillationTrainingArguments
from .base import EcpeTrainerBase

logger = logging.getLogger(__name__)

TEACHER_PREFIX = "teacher_"
TEACHER_LOGITS = "teacher_logits"


def load_teacher(name_or_path: str | os.PathLike) -> Any:
    """The trained teacher saved in folder ``name_or_path``: its config read once, the model loaded with the Auto
    class of its method (``MethodSpec.auto_classes``; ``AutoModel`` for a model of no hf_ecpe method)."""
    import transformers

    from hf_ecpe._registration import register_models
    from hf_ecpe.methods import method_for

    if not Path(name_or_path).is_dir():
        raise FileNotFoundError(
            f"teacher_model_name_or_path {name_or_path}: no such folder (train the teacher recipe first)"
        )
    register_models()
    config = transformers.AutoConfig.from_pretrained(name_or_path)
    spec = method_for(config)
    auto_name = spec.auto_classes[0] if spec is not None else "AutoModel"
    return getattr(transformers, auto_name).from_pretrained(name_or_path, config=config)


class DistillationTrainer(EcpeTrainerBase):
    """Trains a student against a frozen teacher (see the module docstring).

    Args:
        teacher_model: the trained teacher, a ``PreTrainedModel`` or its checkpoint folder (:func:`load_teacher`);
            default ``args.teacher_model_name_or_path``. Frozen here.
        teacher_output_key: the teacher output passed to the student as ``teacher_logits`` (default ``"logits"``).
        Everything else: as :class:`~hf_ecpe.trainers.base.EcpeTrainerMixin`.
    """

    trainer_name = "DistillationTrainer"

    def __init__(
        self,
        model: Any = None,
        teacher_model: Any = None,
        args: Any = None,
        *extra: Any,
        teacher_output_key: str = "logits",
        **kwargs: Any,
    ) -> None:
        teacher_model = self.resolve_teacher(teacher_model, args)
        if teacher_model is None:
            raise ValueError(
                "DistillationTrainer needs teacher_model=<the trained teacher> (a model or its folder; recipes: "
                "teacher_model_name_or_path); train the teacher first (offline distillation), then pass it here"
            )
        super().__init__(model, args, *extra, **kwargs)
        for parameter in teacher_model.parameters():
            parameter.requires_grad_(False)
        self.teacher_output_key = teacher_output_key
        if self.is_deepspeed_enabled or self.is_fsdp_enabled:
            teacher_model = teacher_model.to(self.args.device)
        else:
            teacher_model = self.accelerator.prepare_model(teacher_model, evaluation_mode=True)
        self.teacher_model = teacher_model
        self.teacher_model.train(bool(getattr(self.args, "teacher_dropout", False)))

    @staticmethod
    def default_arguments() -> DistillationTrainingArguments:
        return DistillationTrainingArguments()

    @staticmethod
    def resolve_teacher(teacher_model: Any, args: Any) -> Any:
        """``teacher_model`` as a model: a folder is loaded (:func:`load_teacher`); ``None`` falls back to
        ``args.teacher_model_name_or_path`` (``None`` when neither is given)."""
        if teacher_model is None:
            teacher_model = getattr(args, "teacher_model_name_or_path", None)
        if isinstance(teacher_model, (str, os.PathLike)):
            return load_teacher(teacher_model)
        return teacher_model

    @staticmethod
    def teacher_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
        """The teacher's forward arguments: the batch's ``teacher_*`` entries without the prefix."""
        return {
            key[len(TEACHER_PREFIX) :]: value
            for key, value in inputs.items()
            if key.startswith(TEACHER_PREFIX) and key != TEACHER_LOGITS
        }

    @torch.no_grad()
    def teacher_logits(self, inputs: dict[str, Any]) -> torch.Tensor:
        """The frozen teacher's ``teacher_output_key`` output for one batch."""
        teacher_inputs = self.teacher_inputs(inputs)
        if not teacher_inputs:
            raise ValueError(
                "the batch has no teacher_* inputs and no teacher_logits: the collator must add the teacher's view "
                "(teacher_input_ids, ...) or the dataset a cached 'teacher_logits' column"
            )
        self.teacher_model.train(bool(getattr(self.args, "teacher_dropout", False)))
        outputs = self.teacher_model(**teacher_inputs)
        return outputs[self.teacher_output_key].detach()

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        """The student's loss given the teacher's logits (computed now, or cached in the batch)."""
        student_inputs = {
            key: value for key, value in inputs.items() if not key.startswith(TEACHER_PREFIX) or key == TEACHER_LOGITS
        }
        if student_inputs.get(TEACHER_LOGITS) is None:
            student_inputs[TEACHER_LOGITS] = self.teacher_logits(inputs)
        return super().compute_loss(model, student_inputs, return_outputs, num_items_in_batch)

    def cache_teacher_logits(self, dataset: Any, collator: Any, batch_size: int = 32) -> Any:
        """``dataset`` with a ``teacher_logits`` column: the teacher run once over every row (in order)."""
        rows = []
        for start in range(0, len(dataset), batch_size):
            chunk = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
            batch = {
                key: value.to(self.args.device) if hasattr(value, "to") else value
                for key, value in collator(chunk).items()
            }
            logits = self.teacher_logits(batch).float().cpu()
            rows.extend(logits[i].tolist() for i in range(len(chunk)))
        return dataset.add_column(TEACHER_LOGITS, rows)


__all__ = ["TEACHER_LOGITS", "TEACHER_PREFIX", "DistillationTrainer", "load_teacher"]
