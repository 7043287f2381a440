"""KD-ECS trainers: the teacher (connective prediction) and the student (distilled from the frozen teacher).

- :class:`KdEcsTeacherTrainer` (on :class:`~hf_ecpe.trainers.EcpeTrainerBase`): trains the teacher on one prompt per
  candidate pair; evaluation adds the utterance-level Pos./Neg./macro F1 of RECCON's questions.
- :class:`KdEcsStudentTrainer` (on :class:`~hf_ecpe.trainers.DistillationTrainer`): the frozen teacher in eval mode
  (``teacher_dropout`` keeps it in train mode, as the reference code does), its verbaliser logits computed **once**
  over the training and evaluation rows and cached as a ``teacher_logits`` column (``cache_teacher_logits``; off
  with ``teacher_dropout``, whose noise must be drawn per step), every loss component logged. With ``alpha=1`` or a
  student without the connective mask no teacher is needed (the "w/o KD" ablations).

Both select the decision threshold of the causal probability on the evaluation split after training
(:meth:`select_threshold`, called by ``scripts.train``) and store it in the saved config. Their evaluation and
:func:`evaluate_kd_ecs` (the ``scripts.evaluate`` runner) predict with the functions ``model.predict`` runs
(``hf_ecpe.models.kd_ecs.processing_kd_ecs``: ``predict_examples``, ``decode_conversation``) and score with
:mod:`hf_ecpe.evaluation.kd_ecs` (``kd_ecs_scores``: the RECCON scores; ``span_pair_scores``: the SemEval-2024
subtask-1 and triplet scores of the runner).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hf_ecpe.data.kd_ecs import KdEcsCollator, pair_examples, prepare_dataset
from hf_ecpe.evaluation.kd_ecs import kd_ecs_scores, span_pair_scores
from hf_ecpe.models.kd_ecs.processing_kd_ecs import PromptCollator, decode_conversation, is_student, predict_examples

from .arguments import DistillationTrainingArguments
from .base import EcpeTrainerBase
from .distillation import TEACHER_LOGITS, TEACHER_PREFIX, DistillationTrainer

logger = logging.getLogger(__name__)


@dataclass
class KdEcsTrainingArguments(DistillationTrainingArguments):
    """:class:`~hf_ecpe.trainers.DistillationTrainingArguments` plus the KD-ECS options.

    Args:
        cache_teacher_logits: run the frozen teacher once over the training / evaluation rows and keep its logits as
            a dataset column (default True; ignored with ``teacher_dropout``).
        kd_eval_batch_size: prompts per forward pass when scoring (evaluation, threshold selection).
    """

    cache_teacher_logits: bool = field(
        default=True, metadata={"help": "Precompute the teacher's logits once and cache them as a dataset column."}
    )
    kd_eval_batch_size: int = field(default=32, metadata={"help": "Prompts per forward pass when scoring."})


# ---------------------------------------------------------------------------------------------------------------
# Threshold selection
# ---------------------------------------------------------------------------------------------------------------


def select_threshold_on(
    examples: Sequence[Mapping[str, Any]], predictions: Sequence[Mapping[str, Any]], config: Any
) -> tuple[float, float, str]:
    """The threshold in a grid of 0.02 … 0.98 (and 0.5) that maximises the primary score (the student's span macro
    F1, the teacher's utterance macro F1); ties → the one closest to 0.5. Returns (threshold, score, metric)."""
    metric = "span_macro_f1" if is_student(config) else "utterance_macro_f1"
    best = (-1.0, 0.5)
    for step in range(1, 50):
        threshold = round(step * 0.02, 2)
        value = kd_ecs_scores(examples, predictions, config, threshold).get(metric, 0.0)
        if value > best[0] + 1e-12 or (abs(value - best[0]) <= 1e-12 and abs(threshold - 0.5) < abs(best[1] - 0.5)):
            best = (value, threshold)
    return best[1], best[0], metric


class _KdEcsScoring:
    """Evaluation and threshold selection shared by both trainers (placed before the trainer base)."""

    primary_metric = "span_macro_f1"

    @classmethod
    def metric_names(cls, method: Any, config: Any = None) -> frozenset[str]:
        """Every name :func:`kd_ecs_scores` may report (checked against ``metric_for_best_model``)."""
        spans = ("exact_match_pos", "f1_pos", "f1_neg", "f1_all", "span_macro_f1")
        names = {"num_questions", "num_cause_questions", "emotion_accuracy", "num_emotion_utterances", *spans}
        names |= {f"utterance_{key}" for key in ("pos_f1", "neg_f1", "macro_f1")}
        names |= {f"e2e_{key}" for key in ("exact_match_pos", "f1_pos", "f1_neg", "span_macro_f1")}
        return frozenset(names)

    def _score_batch_size(self) -> int:
        return int(getattr(self.args, "kd_eval_batch_size", 32) or 32)

    def _predict(self, dataset: Any) -> tuple[list, list]:
        model = self._unwrapped_model()
        examples = [dataset[k] for k in range(len(dataset))]
        return examples, predict_examples(model, examples, self.data_collator, self._score_batch_size())

    def _prepared(self, dataset: Any) -> Any:
        """Canonical rows (``units``, no ``input_ids``) → candidate-pair rows; prepared rows unchanged."""
        columns = getattr(dataset, "column_names", None)
        if columns is None or "input_ids" in columns or "units" not in columns:
            return dataset
        return prepare_dataset(dataset, self._unwrapped_model().config, self.processing_class, "evaluation")

    def evaluate(self, eval_dataset: Any = None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict:
        """``Trainer.evaluate`` (loss and its components) plus :func:`kd_ecs_scores`; canonical rows (e.g. the test
        split ``scripts.train`` passes) are prepared first."""
        if isinstance(eval_dataset, Mapping):
            eval_dataset = {name: self._prepared(dataset) for name, dataset in eval_dataset.items()}
        elif eval_dataset is not None:
            eval_dataset = self._prepared(eval_dataset)
        return super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)

    def evaluation_loop(self, dataloader: Any, description: str, prediction_loss_only: bool | None = None, ignore_keys=None, metric_key_prefix: str = "eval") -> Any:  # fmt: skip
        output = super().evaluation_loop(
            dataloader, description, prediction_loss_only=True, ignore_keys=ignore_keys,
            metric_key_prefix=metric_key_prefix,
        )  # fmt: skip
        dataset = getattr(dataloader, "dataset", None)
        if dataset is not None and hasattr(dataset, "column_names") and "relation" in dataset.column_names:
            examples, predictions = self._predict(dataset)
            scores = kd_ecs_scores(examples, predictions, self._unwrapped_model().config)
            output.metrics.update({f"{metric_key_prefix}_{key}": value for key, value in scores.items()})
        return output

    def select_threshold(self, dataset: Any) -> dict[str, float] | None:
        """Choose the threshold on ``dataset`` (:func:`select_threshold_on`) and store it in the model config
        (``decode_threshold`` + ``decode_threshold_selected_on``); ``args.select_threshold="never"`` keeps it."""
        if getattr(self.args, "select_threshold", "auto") == "never" or dataset is None:
            return None
        examples, predictions = self._predict(dataset)
        threshold, value, metric = select_threshold_on(examples, predictions, self._unwrapped_model().config)
        config = self._unwrapped_model().config
        config.decode_threshold = threshold
        config.decode_threshold_selected_on = {"split_size": len(examples), metric: value}
        logger.info("KD-ECS threshold %.2f chosen on %d prompts (%s %.4f)", threshold, len(examples), metric, value)
        return {"threshold": threshold, metric: value}


class KdEcsTeacherTrainer(_KdEcsScoring, EcpeTrainerBase):
    """Trains :class:`~hf_ecpe.models.kd_ecs.KdEcsTeacherModel` on prepared candidate-pair rows."""

    trainer_name = "KdEcsTeacherTrainer"
    REQUIRED_COLUMNS = ("input_ids", "relation")

    @staticmethod
    def default_arguments() -> KdEcsTrainingArguments:
        return KdEcsTrainingArguments()

    @classmethod
    def _missing_columns_message(cls, argument: str, missing: list[str], dataset: Any) -> str:
        return (
            f"The {argument} must be KD-ECS candidate-pair rows (columns {missing} are missing): prepare canonical "
            "rows with hf_ecpe.data.kd_ecs.prepare_dataset(dataset, model.config, tokenizer)"
        )


class KdEcsStudentTrainer(_KdEcsScoring, DistillationTrainer):
    """Trains :class:`~hf_ecpe.models.kd_ecs.KdEcsStudentModel` against a frozen teacher (see the module docstring).

    Args:
        teacher_model: the trained teacher or its folder (default ``args.teacher_model_name_or_path``); may be None
            when the student does not distil (``alpha=1`` or ``causal_head != "connective"``), and is then not loaded.
        teacher_tokenizer: the teacher's tokenizer (default: loaded from the teacher's folder).
        Everything else: as :class:`~hf_ecpe.trainers.DistillationTrainer`.
    """

    trainer_name = "KdEcsStudentTrainer"
    REQUIRED_COLUMNS = ("input_ids", "relation", "cause_token_range")

    def __init__(
        self,
        model: Any = None,
        teacher_model: Any = None,
        args: Any = None,
        *extra: Any,
        teacher_tokenizer: Any = None,
        **kwargs: Any,
    ) -> None:
        config = model.config
        if teacher_model is not None or config.uses_teacher:
            teacher_model = self.resolve_teacher(teacher_model, args)
        if teacher_model is None:
            if config.uses_teacher:
                raise ValueError(
                    f"this student distils (alpha={config.alpha} < 1 with causal_head='connective'): pass "
                    "teacher_model=<trained KD-ECS teacher> (recipes: teacher_model_name_or_path), or set alpha 1.0 "
                    "for the 'w/o KD' ablation"
                )
            EcpeTrainerBase.__init__(self, model, args if args is not None else self.default_arguments(), *extra, **kwargs)  # fmt: skip
            self.teacher_model = None
            self.teacher_output_key = "logits"
            return
        if not config.uses_teacher:
            logger.warning("the student does not distil (alpha=1 or no connective mask): the teacher is not used")
        teacher_config = teacher_model.config
        if list(teacher_config.connectives) != list(config.connectives):
            raise ValueError(
                f"the teacher's verbaliser {teacher_config.connectives} differs from the student's {config.connectives}; "
                "the KL term compares the two distributions word by word: use the same causal/noncausal_connectives"
            )
        if kwargs.get("data_collator") is None:
            tokenizer = kwargs.get("processing_class")
            if teacher_tokenizer is None:
                from transformers import AutoTokenizer

                source = getattr(teacher_model, "name_or_path", None) or getattr(
                    args, "teacher_model_name_or_path", None
                )
                if not source:
                    raise ValueError("pass teacher_tokenizer=<the teacher's tokenizer> (the teacher has no folder)")
                teacher_tokenizer = AutoTokenizer.from_pretrained(source, config=teacher_config)  # config read once
            kwargs["data_collator"] = KdEcsCollator(tokenizer, config, teacher_tokenizer, teacher_config)
        super().__init__(model, teacher_model, args, *extra, **kwargs)
        if config.uses_teacher and getattr(self.args, "cache_teacher_logits", True):
            if getattr(self.args, "teacher_dropout", False):
                logger.warning("teacher_dropout=True: teacher logits are computed per step, not cached")
            else:
                self.train_dataset = self._cached(self.train_dataset)
                if isinstance(self.eval_dataset, Mapping):
                    self.eval_dataset = {name: self._cached(ds) for name, ds in self.eval_dataset.items()}
                else:
                    self.eval_dataset = self._cached(self.eval_dataset)

    @classmethod
    def needs_teacher(cls, config: Any) -> bool:
        """Whether a run of this student needs ``teacher_model`` (without it, none is loaded)."""
        return bool(getattr(config, "uses_teacher", True))

    @staticmethod
    def default_arguments() -> KdEcsTrainingArguments:
        return KdEcsTrainingArguments()

    def _cached(self, dataset: Any) -> Any:
        if dataset is None or not hasattr(dataset, "column_names") or TEACHER_LOGITS in dataset.column_names:
            return dataset
        cached = self.cache_teacher_logits(dataset, self.data_collator, batch_size=self._score_batch_size())
        logger.info("cached the teacher's logits for %d rows", len(cached))
        return cached

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.teacher_model is None or not self._unwrapped_model().config.uses_teacher:
            inputs = {k: v for k, v in inputs.items() if not k.startswith(TEACHER_PREFIX) or k == TEACHER_LOGITS}
            return EcpeTrainerBase.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    @classmethod
    def _missing_columns_message(cls, argument: str, missing: list[str], dataset: Any) -> str:
        return KdEcsTeacherTrainer._missing_columns_message(argument, missing, dataset)


# ---------------------------------------------------------------------------------------------------------------
# scripts.evaluate runner
# ---------------------------------------------------------------------------------------------------------------


def evaluate_kd_ecs(
    model: Any, tokenizer: Any, dataset: Any, *, batch_size: int = 32, threshold: float | None = None
) -> dict[str, Any]:
    """The runner of both KD-ECS evaluators (:mod:`hf_ecpe.evaluation.evaluators`): scores a teacher or a student on canonical rows.

    Every utterance is a target (the student's emotions come from its own prompts); the RECCON scores
    (:func:`kd_ecs_scores`) use the gold emotion utterances' candidate pairs; the student adds the SemEval-2024
    subtask-1 and triplet scores of its end-to-end output (:func:`span_pair_scores`), speed and the threshold used.
    """
    import time

    config = model.config
    collator = PromptCollator(tokenizer, config)
    rows = [dict(row) for row in dataset]
    targets = "all" if is_student(config) else "emotional"
    per_row = [pair_examples(row, config, tokenizer, targets) for row in rows]
    examples = [example for group in per_row for example in group]
    started = time.perf_counter()
    predictions = predict_examples(model, examples, collator, max(int(batch_size or 32), 1))
    seconds = time.perf_counter() - started
    used = config.decode_threshold if threshold is None else float(threshold)
    metrics: dict[str, Any] = kd_ecs_scores(examples, predictions, config, used)
    metrics.update(
        threshold=used,
        # None when the caller's threshold overrode the one chosen in training (scripts.evaluate --threshold)
        threshold_selected_on=getattr(config, "decode_threshold_selected_on", None) if threshold is None else None,
        num_conversations=len(rows),
        num_prompts=len(examples),
        conversations_per_second=len(rows) / seconds if seconds else math.inf,
        prompts_per_second=len(examples) / seconds if seconds else math.inf,
    )
    if is_student(config) and not config.given_emotion:
        decoded, position = [], 0
        for row, group in zip(rows, per_row):
            decoded.append(
                decode_conversation(row["units"], group, predictions[position : position + len(group)], config, used)
            )
            position += len(group)
        language = rows[0].get("language", "en") if rows else "en"
        metrics.update(span_pair_scores(rows, decoded, config.emotion_labels, language if language in ("en", "zh") else "en"))  # fmt: skip
    return metrics


__all__ = [
    "KdEcsStudentTrainer",
    "KdEcsTeacherTrainer",
    "KdEcsTrainingArguments",
    "evaluate_kd_ecs",
    "select_threshold_on",
]
