"""``EcpeTrainer``: the ``transformers.Trainer`` for pair models (A2Net and later methods) on canonical rows.

What it adds to ``Trainer`` (each point answers a pitfall met by other libraries built on it):

- raw canonical rows in, batches out: ``remove_unused_columns=False`` is forced (the collator needs ``units`` and
  ``pairs``, which are not ``forward`` arguments) and the :class:`~hf_ecpe.data.collators.ClauseCollator` is built from
  ``processing_class`` when no ``data_collator`` is given;
- explicit ``label_names`` (``emotion_labels``, ``cause_labels``, ``pair_labels``) so evaluation reports a loss;
- ``model_accepts_loss_kwargs = False``: the model's loss is a per-batch mean, so the Trainer divides it by the
  gradient-accumulation steps (no inflated loss with accumulation);
- every loss component (``loss_pair``, ``loss_emotion``, ``loss_cause``, ``loss_category``, ``loss_alignment``) is
  accumulated between two logs and logged as its mean, for training and evaluation (sentence-transformers
  ``track_loss_components``);
- ``compute_metrics`` defaults to :class:`~hf_ecpe.trainers.metrics.EcpeComputeMetrics` (pairs decoded with the
  model's ``decode_pairs``, scored by the ``ecpe`` metric);
- datasets are checked up front with errors that say what to do;
- ``create_model_card`` writes the hf_ecpe card (:mod:`hf_ecpe.model_card`) instead of the generic Trainer card.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import Trainer, TrainingArguments
from transformers.trainer_pt_utils import nested_gather

from hf_ecpe.model_card import EcpeModelCardData, ModelCardCallback, generate_model_card

from .metrics import EcpeComputeMetrics, pack_labels, pack_predictions

logger = logging.getLogger(__name__)

LABEL_NAMES = ("emotion_labels", "cause_labels", "pair_labels")
LOSS_COMPONENTS = ("loss_pair", "loss_emotion", "loss_cause", "loss_category", "loss_alignment")


@dataclass
class EcpeTrainingArguments(TrainingArguments):
    """``TrainingArguments`` with the defaults pair models need, plus a few method-level options.

    Differences from ``TrainingArguments``: ``remove_unused_columns=False``, ``label_names`` set to the three label
    tensors of the collator, ``ddp_broadcast_buffers=False`` (BERT buffers modified in place break DDP buffer
    broadcasting), and ``metric_for_best_model="pair_f1"`` when ``load_best_model_at_end`` is set without one.

    Args:
        max_unit_tokens: truncate any single clause/utterance to this many tokens in the collator (off by default:
            documents are never truncated, the model windows long ones).
        lr_restart_period: when set, the learning rate follows the A2Net reference schedule,
            ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(T_0=lr_restart_period, T_mult=lr_restart_mult)``
            stepped once per optimiser step (the reference uses ``T_0=5, T_mult=2``); ``lr_scheduler_type`` and
            warm-up are then ignored.
        lr_restart_mult: ``T_mult`` of that schedule.
    """

    remove_unused_columns: bool = field(
        default=False, metadata={"help": "Kept False: the collator needs the raw 'units' and 'pairs' columns."}
    )
    label_names: list[str] | None = field(
        default_factory=lambda: list(LABEL_NAMES), metadata={"help": "Label tensors produced by the collator."}
    )
    ddp_broadcast_buffers: bool | None = field(
        default=False, metadata={"help": "False: BERT's in-place buffers break DDP buffer broadcasting."}
    )
    max_unit_tokens: int | None = field(
        default=None, metadata={"help": "Truncate a single unit to this many tokens (default: never truncate)."}
    )
    lr_restart_period: int | None = field(
        default=None,
        metadata={"help": "A2Net reference schedule: CosineAnnealingWarmRestarts T_0 in optimiser steps (e.g. 5)."},
    )
    lr_restart_mult: int = field(default=2, metadata={"help": "T_mult of the warm-restart cosine schedule."})
    rpcl: bool = field(
        default=False,
        metadata={
            "help": "Add the RPCL objectives (Pan et al. 2026) to the model's loss during training: "
            "L = L_model + rpcl_lambda_row * CDMR + CCPS. Inference is unchanged."
        },
    )
    rpcl_k: int = field(default=8, metadata={"help": "CDMR: hard negatives per emotion row (k)."})
    rpcl_m0: float = field(default=0.05, metadata={"help": "CDMR: base margin m0."})
    rpcl_rho: float = field(default=0.30, metadata={"help": "CCPS: probability of zeroing an unprotected unit."})
    rpcl_lambda_row: float = field(default=0.3, metadata={"help": "Weight of CDMR (lambda_row)."})
    rpcl_lambda_cor: float = field(default=0.75, metadata={"help": "CCPS: weight of the corrupted-view CE."})
    rpcl_lambda_ali: float = field(default=0.2, metadata={"help": "CCPS: weight of the clean/corrupted alignment."})

    def __post_init__(self) -> None:
        if self.load_best_model_at_end and self.metric_for_best_model is None:
            self.metric_for_best_model = "pair_f1"
        super().__post_init__()
        if self.lr_restart_period is not None and self.lr_restart_period < 1:
            raise ValueError(f"lr_restart_period must be a positive number of steps, got {self.lr_restart_period}")
        if self.lr_restart_mult < 1:
            raise ValueError(f"lr_restart_mult must be >= 1, got {self.lr_restart_mult}")
        if self.rpcl_k < 1 or not 0.0 <= self.rpcl_rho <= 1.0 or self.rpcl_m0 < 0:
            raise ValueError(
                f"RPCL settings out of range: rpcl_k={self.rpcl_k} (>= 1), rpcl_rho={self.rpcl_rho} (in [0, 1]), "
                f"rpcl_m0={self.rpcl_m0} (>= 0)"
            )


def _describe_columns(dataset: Any) -> str:
    names = getattr(dataset, "column_names", None)
    return f"columns {names}" if names is not None else f"a {type(dataset).__name__}"


class EcpeTrainer(Trainer):
    """``Trainer`` for pair models over canonical rows (``units`` + ``pairs``; see :mod:`hf_ecpe.data.schema`).

    Args:
        model: a pair model such as :class:`hf_ecpe.A2NetModel` (or use ``model_init``).
        args: :class:`EcpeTrainingArguments` (a plain ``TrainingArguments`` also works: the columns / label settings
            the model needs are forced on a copy).
        train_dataset, eval_dataset: ``datasets.Dataset`` of canonical rows; ``eval_dataset`` may also be a dict
            ``{name: Dataset}`` to evaluate several sets.
        processing_class: the encoder's tokenizer; used to build the ``ClauseCollator`` when ``data_collator`` is None.
        compute_metrics: defaults to :class:`~hf_ecpe.trainers.metrics.EcpeComputeMetrics` on this trainer's model.
        model_card_data: :class:`~hf_ecpe.model_card.EcpeModelCardData` describing the run (dataset, encoder, ...).
        Everything else is passed to ``transformers.Trainer``.
    """

    REQUIRED_COLUMNS = ("units", "pairs")

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
        **kwargs: Any,
    ) -> None:
        args = self._force_arguments(args if args is not None else EcpeTrainingArguments())
        self._validate_dataset(train_dataset, "train_dataset")
        if isinstance(eval_dataset, Mapping) and not _is_dataset_dict(eval_dataset):
            for name, dataset in eval_dataset.items():
                self._validate_dataset(dataset, f"eval_dataset[{name!r}]")
        else:
            self._validate_dataset(eval_dataset, "eval_dataset")

        if data_collator is None:
            if processing_class is None:
                raise ValueError(
                    "EcpeTrainer needs the encoder's tokenizer to batch canonical rows: pass "
                    "processing_class=AutoTokenizer.from_pretrained(<encoder>) or "
                    "data_collator=hf_ecpe.data.collators.ClauseCollator(tokenizer)."
                )
            from hf_ecpe.data.collators import ClauseCollator

            data_collator = ClauseCollator(processing_class, max_unit_tokens=getattr(args, "max_unit_tokens", None))

        if compute_metrics is None:
            compute_metrics = EcpeComputeMetrics(self._unwrapped_model)

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
            self.model_card_data.set_train_stats(train_dataset)
        self.add_callback(ModelCardCallback(self))

    # ------------------------------------------------------------------ set-up helpers
    @staticmethod
    def _force_arguments(args: TrainingArguments) -> TrainingArguments:
        """A copy of ``args`` with ``remove_unused_columns=False`` and the label names the collator produces."""
        changes: dict[str, Any] = {}
        if args.remove_unused_columns:
            logger.info("EcpeTrainer: setting remove_unused_columns=False (the collator needs 'units' and 'pairs').")
            changes["remove_unused_columns"] = False
        if list(args.label_names or []) != list(LABEL_NAMES):
            if args.label_names is not None:
                logger.warning(
                    "EcpeTrainer: label_names=%s replaced by %s (the label tensors of the collator).",
                    args.label_names,
                    list(LABEL_NAMES),
                )
            changes["label_names"] = list(LABEL_NAMES)
        return dataclasses.replace(args, **changes) if changes else args

    def _unwrapped_model(self) -> Any:
        return self.accelerator.unwrap_model(self.model)

    @classmethod
    def _validate_dataset(cls, dataset: Any, argument: str) -> None:
        """Raise a ValueError saying what to do when ``dataset`` is not a split of canonical rows."""
        if dataset is None:
            return
        if _is_dataset_dict(dataset):
            splits = list(dataset.keys())
            example = splits[0] if splits else "train"
            hint = (
                f"Did you mean {argument}=dataset[{example!r}]?"
                if argument == "train_dataset"
                else f"Did you mean {argument}=dataset[{example!r}]? To evaluate several splits, pass a plain dict "
                "{name: Dataset}."
            )
            raise ValueError(
                f"EcpeTrainer expected a datasets.Dataset for {argument}, but got a DatasetDict with the splits "
                f"{splits}. {hint}"
            )
        columns = getattr(dataset, "column_names", None)
        if columns is None:  # IterableDataset without known features: checked by the collator instead
            return
        missing = [column for column in cls.REQUIRED_COLUMNS if column not in columns]
        if missing:
            renames = {"clauses": "units", "utterances": "units", "pair_list": "pairs"}
            suggestions = [
                f"dataset.rename_column({old!r}, {new!r})" for old, new in renames.items() if old in columns
            ]
            hint = (
                f" Rename your columns: {'; '.join(suggestions)}."
                if suggestions
                else " Build canonical rows with hf_ecpe.data.corpora.get_corpus(name).build(...) or see "
                "hf_ecpe.data.schema for the row format."
            )
            raise ValueError(
                f"The {argument} must contain the column(s) {missing}: 'units' is the list of clauses/utterances of "
                f"each document and 'pairs' its 0-based {{'emotion', 'cause'}} pairs. It has "
                f"{_describe_columns(dataset)}.{hint}"
            )
        if len(dataset) == 0:
            raise ValueError(f"The {argument} is empty (0 rows).")
        first = dataset[0]
        units = first["units"]
        if not isinstance(units, list) or not all(isinstance(unit, str) for unit in units):
            raise ValueError(
                f"The {argument} column 'units' must hold a list of strings per row; row 0 has {type(units).__name__}"
                f" {units!r:.80}."
            )
        pairs = first["pairs"]
        if not isinstance(pairs, list) or any(
            not isinstance(p, Mapping) or {"emotion", "cause"} - set(p) for p in pairs
        ):
            raise ValueError(
                f"The {argument} column 'pairs' must hold a list of {{'emotion': int, 'cause': int, ...}} dicts per "
                f"row (0-based unit indices; hf_ecpe.data.schema.make_pair builds them); row 0 has {pairs!r:.120}."
            )

    # ------------------------------------------------------------------ loss and its components
    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, torch.Tensor | Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        """The model's total loss; its components are tracked for logging. ``num_items_in_batch`` is unused."""
        outputs = model(**inputs)
        loss = outputs["loss"] if isinstance(outputs, Mapping) else outputs[0]
        if loss is None:
            raise RuntimeError(
                "The model returned loss=None: the batch has no emotion_labels/cause_labels/pair_labels. Train and "
                "evaluate on rows with a 'pairs' column (the collator derives the labels from it)."
            )
        components = {
            name: outputs[name].detach()
            for name in LOSS_COMPONENTS
            if isinstance(outputs, Mapping) and outputs.get(name) is not None
        }
        if getattr(self.args, "rpcl", False) and model.training:
            rpcl_loss, rpcl_components = self.rpcl_terms(model, inputs, outputs)
            loss = loss + rpcl_loss
            components.update(rpcl_components)
        if components:
            self.track_loss_components(components, training=model.training)
        return (loss, outputs) if return_outputs else loss

    def rpcl_terms(
        self, model: torch.nn.Module, inputs: dict[str, Any], outputs: Mapping[str, Any]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """RPCL's training-only objectives for any pair model: ``rpcl_lambda_row * CDMR + CCPS``.

        The model must return ``pair_logits``, ``candidate_mask``, ``cause_logits`` and ``unit_states`` (the unit
        representations its pair scorer consumes) and offer ``score_pairs(unit_states, unit_mask, ...)``, which
        re-runs only the pair scorer: that is how the corrupted view is scored (A2Net re-runs PFN + heads).
        """
        from hf_ecpe.losses.rpcl import ccps_loss, cdmr_loss, corruption_keep_mask, pair_probabilities

        args = self.args
        core = self.accelerator.unwrap_model(model)
        missing = [
            key for key in ("pair_logits", "candidate_mask", "cause_logits", "unit_states") if outputs.get(key) is None
        ]
        if missing or not hasattr(core, "score_pairs"):
            raise ValueError(
                f"rpcl=True needs a pair model returning pair_logits, candidate_mask, cause_logits and unit_states and "
                f"offering score_pairs(); {type(core).__name__} lacks {missing or ['score_pairs']}"
            )
        labels, candidates, unit_mask = inputs["pair_labels"], outputs["candidate_mask"], inputs["unit_mask"]
        cdmr = cdmr_loss(
            pair_probabilities(outputs["pair_logits"]),
            labels,
            candidates,
            torch.sigmoid(outputs["cause_logits"]),
            k=args.rpcl_k,
            m0=args.rpcl_m0,
        )
        if getattr(self, "_rpcl_generator", None) is None:
            self._rpcl_generator = torch.Generator().manual_seed(args.seed + args.process_index)
        keep = corruption_keep_mask(unit_mask, labels, args.rpcl_rho, self._rpcl_generator)
        states = outputs["unit_states"] * keep.unsqueeze(-1).to(outputs["unit_states"].dtype)
        extra = {}
        if inputs.get("speaker_ids") is not None and "speaker_ids" in inspect.signature(core.score_pairs).parameters:
            extra["speaker_ids"] = inputs["speaker_ids"]
        scored = core.score_pairs(states, unit_mask, **extra)
        corrupted = scored["pair_logits"] if isinstance(scored, Mapping) else scored
        ccps = ccps_loss(
            outputs["pair_logits"], corrupted, labels, candidates, args.rpcl_lambda_cor, args.rpcl_lambda_ali
        )
        total = args.rpcl_lambda_row * cdmr + ccps["loss_ccps"]
        components = {
            "loss_cdmr": cdmr.detach(),
            "loss_ccps_ce": ccps["loss_ccps_ce"].detach(),
            "loss_ccps_align": ccps["loss_ccps_align"].detach(),
        }
        return total, components

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

    # ------------------------------------------------------------------ evaluation
    def evaluation_loop(self, *args: Any, **kwargs: Any) -> Any:
        """``Trainer.evaluation_loop``, starting from empty eval loss-component sums (``predict()`` never logs, so
        its components must not leak into the next evaluation's log)."""
        self.accum_loss_components["eval"] = {}
        return super().evaluation_loop(*args, **kwargs)

    def prediction_step(
        self,
        model: torch.nn.Module,
        inputs: dict[str, torch.Tensor | Any],
        prediction_loss_only: bool,
        ignore_keys: list[str] | None = None,
    ) -> tuple[torch.Tensor | None, tuple[torch.Tensor, ...] | None, tuple[torch.Tensor, ...] | None]:
        """Loss plus packed predictions / labels (see :mod:`hf_ecpe.trainers.metrics`) for ``compute_metrics``."""
        inputs = self._prepare_inputs(inputs)
        has_labels = all(inputs.get(name) is not None for name in LABEL_NAMES)
        with torch.no_grad():
            if has_labels:
                loss, outputs = self.compute_loss(model, inputs, return_outputs=True)
                loss = loss.detach().mean()
            else:
                loss, outputs = None, model(**inputs)
        if prediction_loss_only:
            return loss, None, None
        predictions = pack_predictions(outputs, inputs["unit_mask"])
        labels = pack_labels(inputs) if has_labels else None
        return loss, predictions, labels

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


def _is_dataset_dict(value: Any) -> bool:
    try:
        from datasets import DatasetDict, IterableDatasetDict
    except ImportError:  # pragma: no cover - datasets is a core dependency
        return False
    return isinstance(value, (DatasetDict, IterableDatasetDict))
