"""``ModelCardCallback``: fills an :class:`EcpeModelCardData` from a training run (SpanMarker / SetFit pattern)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback
from transformers.modelcard import extract_hyperparameters_from_trainer

if TYPE_CHECKING:
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from hf_ecpe.trainers.ecpe import EcpeTrainer

# Training-argument fields of EcpeTrainingArguments worth recording beside the transformers defaults.
_EXTRA_ARGS = ("weight_decay", "max_grad_norm", "max_unit_tokens", "lr_restart_period", "lr_restart_mult")


class ModelCardCallback(TrainerCallback):
    """Record hyperparameters at ``on_train_begin`` and every evaluation at ``on_evaluate`` into ``trainer.model_card_data``.

    Evaluations during training (prefix ``eval``) become rows of the training-log table; every evaluation, during or
    after training, replaces the metrics stored for its split (``eval`` is stored under ``card.eval_split``, another
    prefix such as ``test`` under its own name).
    """

    def __init__(self, trainer: EcpeTrainer) -> None:
        super().__init__()
        self.trainer = trainer

    @property
    def card(self):
        return self.trainer.model_card_data

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any):
        hyperparameters = extract_hyperparameters_from_trainer(self.trainer)
        for name in _EXTRA_ARGS:
            value = getattr(args, name, None)
            if value not in (None, 0, 0.0) and not (
                name == "lr_restart_mult" and getattr(args, "lr_restart_period", None) is None
            ):
                hyperparameters[name] = value
        self.card.hyperparameters = hyperparameters

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: dict[str, float] | None = None,
        **kwargs: Any,
    ):
        if not metrics:
            return
        runtime_keys = [key for key in metrics if key.endswith("_runtime")]
        prefix = runtime_keys[0][: -len("_runtime")] if runtime_keys else "eval"
        split = self.card.eval_split if prefix == "eval" else prefix
        self.card.set_evaluation(split, metrics, prefix=prefix)
        if self.trainer.is_in_train and prefix == "eval":
            row: dict[str, Any] = {"Epoch": f"{state.epoch or 0.0:.2f}", "Step": state.global_step}
            train_losses = [log["loss"] for log in state.log_history if "loss" in log]
            row["Training loss"] = train_losses[-1] if train_losses else "-"
            for key, label in (
                ("eval_loss", "Validation loss"),
                ("eval_pair_precision", "Pair P"),
                ("eval_pair_recall", "Pair R"),
                ("eval_pair_f1", "Pair F1"),
            ):
                if key in metrics:
                    row[label] = metrics[key]
            self.card.eval_lines_list.append(row)

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any):
        checkpoint = state.best_model_checkpoint
        if checkpoint and args.load_best_model_at_end:
            try:
                self.card.best_model_step = int(str(checkpoint).rstrip("/").rsplit("-", 1)[-1])
            except ValueError:
                pass
