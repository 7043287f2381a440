"""The trainer family's base: what every hf_ecpe ``Trainer`` does, whatever the method.

:class:`EcpeTrainerMixin` goes in front of ``transformers.Trainer`` (:class:`EcpeTrainerBase`) or of
``Seq2SeqTrainer`` (:class:`~hf_ecpe.trainers.generation.GenerationTrainer`). It

- reads the model's :class:`~hf_ecpe.methods.MethodSpec`: label names (used when ``args.label_names`` is unset, never
  overwriting the user's), the default collator and ``compute_metrics``, the primary metric for checkpoint selection;
- forces ``remove_unused_columns=False`` (collators need the raw canonical columns);
- checks datasets up front: ``REQUIRED_COLUMNS`` (a class attribute) must be present, errors say what to do;
- logs every ``loss_*`` field the model's output carries (no fixed list), accumulated between two logs and logged as
  its mean for training and evaluation, NaN/inf filtered as the Trainer does for the loss, gathered over processes
  (sentence-transformers ``track_loss_components``); subclasses add terms through :meth:`extra_loss`;
- sets ``model_accepts_loss_kwargs = False``: models return a per-batch mean, the Trainer scales it for gradient
  accumulation;
- attaches the model-card callback and writes the hf_ecpe card in ``create_model_card``;
- offers the A2Net warm-restart cosine schedule (``lr_restart_period``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from typing import Any

import torch
from transformers import Trainer, TrainingArguments
from transformers.trainer_pt_utils import nested_gather

from hf_ecpe.model_card import EcpeModelCardData, ModelCardCallback, generate_model_card

from .arguments import EcpeTrainingArguments

logger = logging.getLogger(__name__)


def loss_components(outputs: Any) -> dict[str, torch.Tensor]:
    """Every ``loss_*`` entry of a model output (a ``ModelOutput`` or dict) that is a tensor, detached."""
    if not isinstance(outputs, Mapping):
        return {}
    return {
        key: value.detach()
        for key, value in outputs.items()
        if key.startswith("loss_") and isinstance(value, torch.Tensor)
    }


def is_dataset_dict(value: Any) -> bool:
    try:
        from datasets import DatasetDict, IterableDatasetDict
    except ImportError:  # pragma: no cover - datasets is a core dependency
        return False
    return isinstance(value, (DatasetDict, IterableDatasetDict))


def _describe_columns(dataset: Any) -> str:
    names = getattr(dataset, "column_names", None)
    return f"columns {names}" if names is not None else f"a {type(dataset).__name__}"


def _align_special_tokens(model: Any, tokenizer: Any) -> None:
    """Give the model config the tokenizer's PAD/BOS/EOS ids it lacks (what ``Trainer`` would do with a warning on
    every run; our models read no such id, so the alignment is expected, not news)."""
    config = getattr(model, "config", None)
    if config is None or tokenizer is None:
        return
    for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None and getattr(config, name, None) is None:
            setattr(config, name, value)


def with_learning_rate_for(optimizer: torch.optim.Optimizer, parameters: Any, rate: float) -> torch.optim.Optimizer:
    """``optimizer`` (no step taken yet) with every parameter group split so that ``parameters`` get ``rate`` and the
    others keep the group's rate (e.g. a pretrained encoder slower than new heads)."""
    own_ids = {id(parameter) for parameter in parameters}
    groups = []
    for group in optimizer.param_groups:
        settings = {key: value for key, value in group.items() if key != "params"}
        rest = [p for p in group["params"] if id(p) not in own_ids]
        own = [p for p in group["params"] if id(p) in own_ids]
        if rest:
            groups.append({**settings, "params": rest})
        if own:
            groups.append({**settings, "params": own, "lr": rate})
    optimizer.param_groups = []  # no step taken yet: the state is empty, only the groups change
    for group in groups:
        optimizer.add_param_group(group)
    return optimizer


class EcpeTrainerMixin:
    """Shared behaviour of the hf_ecpe trainers (see the module docstring); put it before a ``Trainer`` class.

    Args:
        model: an hf_ecpe model (or use ``model_init``); its method is found from ``model.config.model_type``.
        args: :class:`~hf_ecpe.trainers.EcpeTrainingArguments` (a plain ``TrainingArguments`` also works).
        processing_class: the tokenizer; builds the method's collator when ``data_collator`` is None.
        compute_metrics: defaults to the method's.
        model_card_data: :class:`~hf_ecpe.model_card.EcpeModelCardData` describing the run.
        method: the :class:`~hf_ecpe.methods.MethodSpec` (default: the model's).
        Everything else goes to the ``Trainer``.
    """

    #: Columns every dataset given to this trainer must have.
    REQUIRED_COLUMNS: tuple[str, ...] = ()
    #: What the trainer's name is in error messages.
    trainer_name = "EcpeTrainer"
    #: Whether ``cache_frozen_encoder`` installs :mod:`~hf_ecpe.trainers.frozen_cache` on the model's encoder.
    uses_encoder_cache = True

    def __init__(
        self,
        model: Any = None,
        args: TrainingArguments | None = None,
        data_collator: Any = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        processing_class: Any = None,
        compute_metrics: Any = None,
        model_card_data: EcpeModelCardData | None = None,
        method: Any = None,
        **kwargs: Any,
    ) -> None:
        from hf_ecpe.methods import method_for

        self.method = method if method is not None else (method_for(model) if model is not None else None)
        args = self._force_arguments(args if args is not None else self.default_arguments())
        if self.method is not None:
            from .runs import check_metric_name

            names = self.metric_names(self.method, getattr(model, "config", None))
            check_metric_name(args.metric_for_best_model, names, self.method.name)
        self._validate_dataset(train_dataset, "train_dataset")
        if isinstance(eval_dataset, Mapping) and not is_dataset_dict(eval_dataset):
            for name, dataset in eval_dataset.items():
                self._validate_dataset(dataset, f"eval_dataset[{name!r}]")
        else:
            self._validate_dataset(eval_dataset, "eval_dataset")

        if data_collator is None:
            data_collator = self.default_collator(processing_class, model, args)
        _align_special_tokens(model, processing_class)
        if compute_metrics is None and self.method is not None:
            compute_metrics = self.method.build_compute_metrics(self._unwrapped_model)

        super().__init__(
            model=model,
            args=args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            compute_metrics=compute_metrics,
            **kwargs,
        )
        # The model's loss is a per-batch mean and ignores num_items_in_batch: let the Trainer scale it for GA.
        self.model_accepts_loss_kwargs = False
        self.accum_loss_components: dict[str, dict[str, torch.Tensor]] = {"train": {}, "eval": {}}

        self.model_card_data = model_card_data if model_card_data is not None else EcpeModelCardData()
        if self.model is not None:
            self.model_card_data.register_model(self.model)
        if train_dataset is not None and getattr(train_dataset, "column_names", None) is not None:
            self.model_card_data.set_train_stats(
                train_dataset, kind=self.method.train_statistics if self.method else "pairs"
            )
        self.add_callback(ModelCardCallback(self))
        from .frozen_cache import attach_frozen_cache

        # None unless args.cache_frozen_encoder; a trainer with its own cache of frozen layers opts out
        self.frozen_encoder_cache = attach_frozen_cache(self) if self.uses_encoder_cache else None
        from .runs import record_arguments_callback

        self.add_callback(record_arguments_callback())  # what a resume of a checkpoint really uses

    # ------------------------------------------------------------------ set-up
    @classmethod
    def metric_names(cls, method: Any, config: Any = None) -> frozenset[str] | None:
        """The metrics (without the ``eval_`` prefix, besides ``loss`` and the ``loss_*`` components) this trainer's
        evaluation reports for ``method``'s models with ``config`` (``None``: every metric the method may report);
        ``None`` when not known. The method's ``compute_metrics`` declares them (its ``metric_names(config)``)."""
        from hf_ecpe.methods import resolve

        factory = resolve(method.compute_metrics) if method is not None else None
        names = getattr(factory, "metric_names", None)
        return frozenset(names(config)) if callable(names) else None

    def train(self, *args: Any, **kwargs: Any) -> Any:
        """``Trainer.train`` after checking the arguments no ``Trainer`` checks (batch sizes >= 1, something to train,
        :func:`hf_ecpe.trainers.runs.training_argument_problems`): they would fail mid-run or save an untrained model."""
        from .runs import check_training_arguments

        check_training_arguments(self.args)
        return super().train(*args, **kwargs)

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        """``Trainer.save_model``; with ``disable_tqdm`` also without transformers' "Writing model shards" bar."""
        if not self.args.disable_tqdm:
            return super().save_model(output_dir, _internal_call)
        from transformers.utils import logging as hf_logging

        enabled = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            return super().save_model(output_dir, _internal_call)
        finally:
            if enabled:
                hf_logging.enable_progress_bar()

    @staticmethod
    def default_arguments() -> TrainingArguments:
        return EcpeTrainingArguments()

    def select_threshold(self, dataset: Any) -> dict[str, float] | None:
        """Hook: choose the model's decision threshold on ``dataset`` (the selection split, after training), store it
        in the model config and return the choice; ``None`` when the method has no threshold to choose (here) or
        ``dataset`` is None. Pair and KD-ECS trainers override it."""
        return None

    def default_collator(self, processing_class: Any, model: Any, args: TrainingArguments) -> Any:
        """The method's collator built from ``processing_class`` (the tokenizer)."""
        if self.method is None or self.method.collator is None:
            return None  # the Trainer's default collator
        if processing_class is None:
            raise ValueError(
                f"{self.trainer_name} needs the encoder's tokenizer to batch canonical rows: pass "
                "processing_class=AutoTokenizer.from_pretrained(<encoder>) or a data_collator (e.g. "
                "hf_ecpe.data.collators.ClauseCollator(tokenizer))."
            )
        return self.method.build_collator(processing_class, getattr(model, "config", None), args)

    def _force_arguments(self, args: TrainingArguments) -> TrainingArguments:
        """A copy of ``args`` with ``remove_unused_columns=False`` and the method's label names when unset."""
        changes: dict[str, Any] = {}
        if args.remove_unused_columns:
            logger.info("%s: setting remove_unused_columns=False (collators need the raw columns).", self.trainer_name)
            changes["remove_unused_columns"] = False
        if args.label_names is None and self.method is not None and self.method.label_names:
            changes["label_names"] = list(self.method.label_names)
        metric = self.selection_metric(args, self.method)
        if metric != args.metric_for_best_model:
            changes["metric_for_best_model"] = metric
        return dataclasses.replace(args, **changes) if changes else args

    @staticmethod
    def selection_metric(args: TrainingArguments, method: Any) -> str | None:
        """The ``metric_for_best_model`` the trainer uses: the method's primary metric when ``load_best_model_at_end``
        left it at the ``pair_f1`` default (:class:`EcpeTrainingArguments`) of a method without pair F1, else the
        argument."""
        primary = method.primary_metric if method is not None else None
        if args.load_best_model_at_end and primary and args.metric_for_best_model == "pair_f1" != primary:
            return primary
        return args.metric_for_best_model

    def _unwrapped_model(self) -> Any:
        return self.accelerator.unwrap_model(self.model)

    @classmethod
    def _validate_dataset(cls, dataset: Any, argument: str) -> None:
        """Raise a ValueError saying what to do when ``dataset`` lacks ``REQUIRED_COLUMNS`` or is a DatasetDict."""
        if dataset is None:
            return
        if is_dataset_dict(dataset):
            splits = list(dataset.keys())
            example = splits[0] if splits else "train"
            hint = (
                f"Did you mean {argument}=dataset[{example!r}]?"
                if argument == "train_dataset"
                else f"Did you mean {argument}=dataset[{example!r}]? To evaluate several splits, pass a plain dict "
                "{name: Dataset}."
            )
            raise ValueError(
                f"{cls.trainer_name} expected a datasets.Dataset for {argument}, but got a DatasetDict with the splits "
                f"{splits}. {hint}"
            )
        columns = getattr(dataset, "column_names", None)
        if columns is None:  # IterableDataset without known features: checked by the collator instead
            return
        missing = [column for column in cls.REQUIRED_COLUMNS if column not in columns]
        if missing:
            raise ValueError(cls._missing_columns_message(argument, missing, dataset))
        if len(dataset) == 0:
            raise ValueError(f"The {argument} is empty (0 rows).")
        cls._validate_first_row(dataset[0], argument)

    @classmethod
    def _missing_columns_message(cls, argument: str, missing: list[str], dataset: Any) -> str:
        return f"The {argument} must contain the column(s) {missing}; it has {_describe_columns(dataset)}."

    @classmethod
    def _validate_first_row(cls, row: Mapping[str, Any], argument: str) -> None:
        """Hook: check the format of one row (pair trainers check ``units`` and ``pairs``)."""

    # ------------------------------------------------------------------ loss and its components
    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, torch.Tensor | Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        """The model's total loss (+ :meth:`extra_loss`); every ``loss_*`` component is tracked for logging."""
        outputs = model(**inputs)
        loss = outputs["loss"] if isinstance(outputs, Mapping) else outputs[0]
        if loss is None:
            raise RuntimeError(
                f"The model returned loss=None: the batch has no labels ({self.args.label_names}). Train and evaluate "
                "on rows with labels (for pair models: a 'pairs' column, from which the collator derives them)."
            )
        components = loss_components(outputs)
        extra, extra_components = self.extra_loss(model, inputs, outputs)
        if extra is not None:
            loss = loss + extra
            components.update(extra_components)
        if components:
            self.track_loss_components(components, training=model.training)
        return (loss, outputs) if return_outputs else loss

    def extra_loss(
        self, model: torch.nn.Module, inputs: dict[str, Any], outputs: Any
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """Hook: a term added to the model's loss and its logged components (RPCL in :class:`PairTrainer`)."""
        return None, {}

    def track_loss_components(self, components: dict[str, torch.Tensor], training: bool) -> None:
        """Add one batch's loss components to the running sums of the train or eval phase."""
        phase = "train" if training else "eval"
        store = self.accum_loss_components[phase]
        for key, value in components.items():
            value = value.float().mean()
            if self.args.logging_nan_inf_filter and not torch.isfinite(value):
                # As Trainer does for the loss: replace a nan/inf by the running mean so the log stays readable.
                steps = store.get("steps")
                value = (
                    store[key] / steps.clamp(min=1) if key in store and steps is not None else torch.zeros_like(value)
                )
            store[key] = store[key] + value if key in store else value
        if "steps" not in store:
            store["steps"] = torch.zeros((), dtype=torch.long, device=next(iter(components.values())).device)
        store["steps"] = store["steps"] + 1

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the mean of each tracked loss component since the last log (gathered over processes) to ``logs``.

        Training logs get ``loss_pair`` ...; an evaluation with prefix ``eval`` (``test``, ...) gets ``eval_loss_pair``
        ... in its logs and in the metrics ``evaluate()`` returns.
        """
        phase, prefix = None, ""
        if "loss" in logs:
            phase = "train"
        else:
            prefixes = [key[: -len("_runtime")] for key in logs if key.endswith("_runtime")]
            prefix = next((p for p in prefixes if f"{p}_loss" in logs), "")
            if prefix and prefix != "train":
                phase = "eval"
        if phase and self.accum_loss_components[phase]:
            # In place: the dict `evaluate()` returns (and hands to the callbacks) gets the components too.
            gathered = nested_gather(self.accum_loss_components[phase], self.args.parallel_mode)
            steps = gathered["steps"].sum().item()
            for key, value in gathered.items():
                if key == "steps":
                    continue
                name = key if phase == "train" else f"{prefix}_{key}"
                logs[name] = value.sum().item() / max(steps, 1)  # unrounded: the alignment term is ~1e-5
            self.accum_loss_components[phase] = {}
        super().log(logs, start_time)

    def evaluation_loop(self, *args: Any, **kwargs: Any) -> Any:
        """``Trainer.evaluation_loop``, starting from empty eval loss-component sums (``predict()`` never logs, so
        its components must not leak into the next evaluation's log)."""
        self.accum_loss_components["eval"] = {}
        return super().evaluation_loop(*args, **kwargs)

    # ------------------------------------------------------------------ schedule
    def create_scheduler(
        self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None
    ) -> torch.optim.lr_scheduler.LRScheduler:
        """The A2Net warm-restart cosine schedule when ``args.lr_restart_period`` is set, else the Trainer's."""
        period = getattr(self.args, "lr_restart_period", None)
        if period is None or self.lr_scheduler is not None:
            return super().create_scheduler(num_training_steps, optimizer)
        self.lr_scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            optimizer if optimizer is not None else self.optimizer, T_0=period, T_mult=self.args.lr_restart_mult
        )
        self._created_lr_scheduler = True
        return self.lr_scheduler

    # ------------------------------------------------------------------ model card
    def create_model_card(
        self,
        language: str | None = None,
        license: str | None = None,
        tags: str | list[str] | None = None,
        model_name: str | None = None,
        finetuned_from: str | None = None,
        tasks: str | list[str] | None = None,
        dataset_tags: str | list[str] | None = None,
        dataset: str | list[str] | None = None,
        dataset_args: str | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Write the hf_ecpe model card to ``<output_dir>/README.md`` (main process only).

        The arguments of ``Trainer.create_model_card`` override the matching :class:`EcpeModelCardData` fields.
        """
        if not self.is_world_process_zero():
            return
        card = self.model_card_data
        if language:
            card.language = language
        if license:
            card.license = license
        if model_name:
            card.model_name = model_name
        if finetuned_from:
            card.encoder_id = finetuned_from
        if dataset:
            card.dataset_name = dataset if isinstance(dataset, str) else ", ".join(dataset)
        if tags:
            extra = [tags] if isinstance(tags, str) else list(tags)
            card.tags = [*card.tags, *[tag for tag in extra if tag not in card.tags]]
        content = generate_model_card(card, model=self._unwrapped_model())
        os.makedirs(self.args.output_dir, exist_ok=True)
        with open(os.path.join(self.args.output_dir, "README.md"), "w", encoding="utf-8") as handle:
            handle.write(content)


class EcpeTrainerBase(EcpeTrainerMixin, Trainer):
    """:class:`EcpeTrainerMixin` on ``transformers.Trainer``: the base of the pair and distillation trainers."""


__all__ = ["EcpeTrainerBase", "EcpeTrainerMixin", "is_dataset_dict", "loss_components", "with_learning_rate_for"]
