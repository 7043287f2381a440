"""``ModelCardCallback``: fills an :class:`EcpeModelCardData` from a training run (SpanMarker / SetFit pattern)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback
from transformers.modelcard import extract_hyperparameters_from_trainer

if TYPE_CHECKING:
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from hf_ecpe.trainers.base import EcpeTrainerMixin as EcpeTrainer

# Training-argument fields of EcpeTrainingArguments worth recording beside the transformers defaults.
# cache_frozen_encoder: recorded when on (the frozen encoder layers then trained without dropout)
_EXTRA_ARGS = (
    "weight_decay",
    "max_grad_norm",
    "max_unit_tokens",
    "lr_restart_period",
    "lr_restart_mult",
    "cache_frozen_encoder",
)


def training_log_rows(log_history: list[dict[str, Any]], primary_metric: str = "pair_f1") -> list[dict[str, Any]]:
    """The card's training-log table from a ``TrainerState.log_history`` (restored on resume, so it covers the
    whole run): one row per evaluation during training, with the last training loss logged before it."""
    family = primary_metric.rpartition("_")[0]
    columns = [("eval_loss", "Validation loss")]
    if family:
        columns += [
            (f"eval_{family}_{m}", f"{family.replace('_', ' ').capitalize()} {m[0].upper()}")
            for m in ("precision", "recall")
        ]
    columns.append((f"eval_{primary_metric}", primary_metric.replace("_", " ").capitalize().replace(" f1", " F1")))
    rows: list[dict[str, Any]] = []
    last_train_loss: Any = "-"
    for entry in log_history:
        if "loss" in entry:
            last_train_loss = entry["loss"]
        if "eval_loss" not in entry and f"eval_{primary_metric}" not in entry:
            continue
        row: dict[str, Any] = {
            "Epoch": f"{entry.get('epoch') or 0.0:.2f}",
            "Step": entry.get("step", 0),
            "Training loss": last_train_loss,
        }
        for key, label in columns:
            if key in entry:
                row[label] = entry[key]
        rows.append(row)
    return rows


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
            self.card.eval_lines_list = training_log_rows(state.log_history, self.card.primary_metric)

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any):
        # From the whole log history: a resumed run's table also covers the epochs before the resume.
        self.card.eval_lines_list = training_log_rows(state.log_history, self.card.primary_metric)
        checkpoint = state.best_model_checkpoint
        if checkpoint and args.load_best_model_at_end:
            try:
                self.card.best_model_step = int(str(checkpoint).rstrip("/").rsplit("-", 1)[-1])
            except ValueError:
                pass
