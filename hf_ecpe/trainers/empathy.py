"""``EmpathyTrainer``: the two training stages of Gao et al. (2021) in one ``Seq2SeqTrainer`` run.

- **Reasoner pre-training**: for the first ``reasoner_epochs`` epochs the model runs with ``stage="reasoner"``: only
  the emotion reasoner is computed and trained, on L_r = emotion NLL + cause NLL (Eq. 4). The generator gets no
  gradient (Adam skips parameters without one).
- **Joint training**: afterwards L = L_g + L_r (Eq. 7); with ``joint_training=False`` in the model config L_r is
  logged but detached, i.e. the reasoner is frozen, as the reference code trains.

The stage follows ``state.epoch``, so a resumed run continues in the right stage. Evaluation always runs the whole
model (``eval_loss`` = L_g + L_r) and, with ``predict_with_generate`` (default here), generates responses for the
dev metrics: ``bleu`` (sacrebleu), ``bleu_nltk`` (Gao et al.), ``dist_1``, ``dist_2``, ``emotion_accuracy``.
Canonical conversation rows given to ``evaluate()`` (the test split of ``scripts.train``) become examples first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from hf_ecpe.models.empathy.modeling_empathy import decode_texts, to_corpus_tokens  # the model's predict() decodes

from .arguments import GenerationTrainingArguments
from .generation import GenerationTrainer


@dataclass
class EmpathyTrainingArguments(GenerationTrainingArguments):
    """:class:`GenerationTrainingArguments` plus the reasoner pre-training stage; generation during evaluation on
    by default (greedy, ``generation_max_length`` new tokens)."""

    reasoner_epochs: float = field(
        default=0.0,
        metadata={
            "help": "Epochs of reasoner pre-training (L_r only) at the start of the run, before joint training "
            "(included in num_train_epochs)."
        },
    )
    predict_with_generate: bool = field(
        default=True, metadata={"help": "Generate responses during evaluation (BLEU, Dist-n on the dev split)."}
    )
    generation_max_length: int | None = field(
        default=30, metadata={"help": "Most new tokens generated per response during evaluation."}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.reasoner_epochs < 0:
            raise ValueError(f"reasoner_epochs must be >= 0, got {self.reasoner_epochs}")


class EmpathyComputeMetrics:
    """Dev metrics from generated ids and label ids: BLEU (sacrebleu and NLTK), Dist-1/2, emotion accuracy."""

    def __init__(self, model_getter: Any, tokenizer: Any = None) -> None:
        self.model_getter = model_getter
        self.tokenizer = tokenizer

    @classmethod
    def metric_names(cls, config: Any = None) -> frozenset[str]:
        """The names :meth:`__call__` reports (``emotion_accuracy`` when the rows have gold emotions)."""
        return frozenset({"bleu", "bleu_nltk", "dist_1", "dist_2", "emotion_accuracy"})

    def __call__(self, eval_prediction: Any) -> dict[str, float]:
        from hf_ecpe.evaluation.generation import corpus_bleu, distinct_n

        if self.tokenizer is None:
            raise ValueError("EmpathyComputeMetrics needs the tokenizer (the trainer sets it from processing_class)")
        generated, emotion_predictions = eval_prediction.predictions
        labels, emotion_labels = eval_prediction.label_ids
        hypotheses = decode_texts(self.tokenizer, generated)
        references = decode_texts(self.tokenizer, labels)
        metrics = {
            "bleu": corpus_bleu(hypotheses, references, impl="sacrebleu"),
            "bleu_nltk": corpus_bleu(hypotheses, references, impl="nltk"),
            "dist_1": distinct_n(hypotheses, 1),
            "dist_2": distinct_n(hypotheses, 2),
        }
        gold = np.asarray(emotion_labels).reshape(-1)
        predicted = np.asarray(emotion_predictions).reshape(-1)
        known = gold >= 0
        if known.any():
            metrics["emotion_accuracy"] = float((predicted[known] == gold[known]).mean())
        return metrics


class EmpathyTrainer(GenerationTrainer):
    """:class:`GenerationTrainer` with reasoner pre-training, generation-based dev metrics and example preparation
    of canonical rows (see the module docstring)."""

    trainer_name = "EmpathyTrainer"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tokenizer = self.processing_class
        model = self._unwrapped_model()
        if tokenizer is not None and hasattr(model, "sync_special_tokens"):
            model.sync_special_tokens(tokenizer)
        if isinstance(self.compute_metrics, EmpathyComputeMetrics) and self.compute_metrics.tokenizer is None:
            self.compute_metrics.tokenizer = tokenizer

    @staticmethod
    def default_arguments() -> EmpathyTrainingArguments:
        return EmpathyTrainingArguments()

    def in_reasoner_stage(self) -> bool:
        return float(self.state.epoch or 0.0) < float(getattr(self.args, "reasoner_epochs", 0.0) or 0.0)

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch=None):
        if model.training and self.in_reasoner_stage():
            inputs = {**inputs, "stage": "reasoner"}
        return super().compute_loss(
            model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
        )

    def _examples(self, dataset: Any) -> Any:
        if dataset is None or self.method is None:
            return dataset
        columns = getattr(dataset, "column_names", None)
        if columns is not None and "context" not in columns and "units" in columns:
            return self.method.prepare(dataset, self._unwrapped_model().config, self.processing_class, "eval")
        return dataset

    def evaluate(self, eval_dataset: Any = None, ignore_keys: Any = None, metric_key_prefix: str = "eval", **kwargs):
        return super().evaluate(
            self._examples(eval_dataset), ignore_keys=ignore_keys, metric_key_prefix=metric_key_prefix, **kwargs
        )

    def predict(self, test_dataset: Any, ignore_keys: Any = None, metric_key_prefix: str = "test", **kwargs):
        return super().predict(
            self._examples(test_dataset), ignore_keys=ignore_keys, metric_key_prefix=metric_key_prefix, **kwargs
        )

    def prediction_step(self, model: Any, inputs: dict[str, Any], prediction_loss_only: bool, ignore_keys=None, **kw):
        """Loss of the whole model; with ``predict_with_generate``: the generated responses and the predicted
        emotions, against the label responses and the gold emotions."""
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss, outputs = self.compute_loss(model, inputs, return_outputs=True)
        loss = loss.detach().mean()
        if prediction_loss_only or not self.args.predict_with_generate:
            return loss, None, None
        unwrapped = self._unwrapped_model()
        budget = self.args.generation_max_length or unwrapped.config.max_response_tokens
        with torch.no_grad():
            generated = unwrapped.generate(
                input_ids=inputs["input_ids"],
                attention_mask=inputs["attention_mask"],
                max_new_tokens=budget,
                num_beams=self.args.generation_num_beams or 1,
                do_sample=False,
            )
        emotion = outputs["emotion_logits"].argmax(dim=-1, keepdim=True)
        gold_emotion = inputs.get("emotion_labels")
        gold_emotion = gold_emotion[:, None] if gold_emotion is not None else torch.full_like(emotion, -100)
        return loss, (generated[:, 1:], emotion), (inputs["labels"], gold_emotion)


def empathy_compute_metrics(model_getter: Any) -> EmpathyComputeMetrics:
    """The method's ``compute_metrics`` factory (the tokenizer is set by :class:`EmpathyTrainer`)."""
    return EmpathyComputeMetrics(model_getter)


__all__ = [
    "EmpathyComputeMetrics",
    "EmpathyTrainer",
    "EmpathyTrainingArguments",
    "decode_texts",
    "empathy_compute_metrics",
    "to_corpus_tokens",
]
