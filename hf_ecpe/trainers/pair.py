"""``PairTrainer``: the trainer of pair models (A2Net, the conversational pair scorer) over canonical rows.

On top of :class:`~hf_ecpe.trainers.base.EcpeTrainerBase`: rows need ``units`` + ``pairs`` (checked up front), the
RPCL objectives are an option for any pair model (``args.rpcl``), evaluation packs the pair matrices for
``compute_metrics`` (:mod:`hf_ecpe.trainers.metrics`), and :meth:`PairTrainer.select_threshold` chooses the pair
decision threshold on a validation split and stores it in the model config (the training script calls it after
training, so a saved model decodes with the validation-chosen threshold).

Training settings of :class:`~hf_ecpe.trainers.EcpeTrainingArguments` that this trainer honours: a separate encoder
learning rate (``encoder_learning_rate``), patience-based early stopping (``early_stopping_patience``,
``early_stopping_threshold``, ``early_stopping_start_epoch``), a cap on the units of training documents
(``max_train_units``), the sentiment lexicon of the reference decoding in every evaluation (``decode_lexicon``) and
audio / visual feature files for a multimodal model (``audio_features``, ``visual_features``, ``feature_index``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch
from transformers import EarlyStoppingCallback

from .base import EcpeTrainerBase, with_learning_rate_for
from .metrics import pack_labels, pack_predictions, select_pair_threshold, unpack

logger = logging.getLogger(__name__)

#: Batch key of the sentiment-unit mask that evaluation batches carry when a lexicon is set (never fed to the model).
LEXICON_KEY = "lexicon_mask"


class StartEpochEarlyStopping(EarlyStoppingCallback):
    """``EarlyStoppingCallback`` whose patience counts only evaluations after epoch ``start_epoch``."""

    def __init__(self, patience: int, threshold: float = 0.0, start_epoch: float = 0.0) -> None:
        super().__init__(early_stopping_patience=patience, early_stopping_threshold=threshold)
        self.start_epoch = start_epoch

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None, **kwargs: Any):
        """Count epoch-selection evaluations only: one under another prefix (the final ``test`` evaluation of
        ``scripts.train``) has no ``eval_<metric>`` and is skipped without the callback's "did not find" warning
        (``metric_for_best_model`` itself is checked against the method's metrics before training)."""
        if metrics is not None and not any(key.startswith("eval_") for key in metrics):
            return
        super().on_evaluate(args, state, control, metrics, **kwargs)

    def check_metric_value(self, args: Any, state: Any, control: Any, metric_value: float) -> None:
        super().check_metric_value(args, state, control, metric_value)
        if state.epoch is not None and state.epoch <= self.start_epoch:
            self.early_stopping_patience_counter = 0


def truncate_row(row: Mapping[str, Any], max_units: int) -> dict[str, Any]:
    """A canonical row cut to its first ``max_units`` units (per-unit lists cut too; pairs with a unit beyond
    dropped)."""
    units = list(row["units"])
    if len(units) <= max_units:
        return dict(row)
    cut = dict(row)
    cut["units"] = units[:max_units]
    for key in ("speakers", "emotions"):
        value = row.get(key)
        if isinstance(value, (list, tuple)) and len(value) == len(units):
            cut[key] = list(value)[:max_units]
    if row.get("pairs") is not None:
        cut["pairs"] = [
            pair
            for pair in row["pairs"]
            if (pair["emotion"] if isinstance(pair, Mapping) else pair[0]) < max_units
            and (pair["cause"] if isinstance(pair, Mapping) else pair[1]) < max_units
        ]
    return cut


class _TruncatingCollator:
    """Cuts every row to ``max_units`` units before the wrapped collator."""

    def __init__(self, collator: Any, max_units: int) -> None:
        self.collator, self.max_units = collator, max_units

    def __call__(self, rows: list[Mapping[str, Any]]) -> dict[str, Any]:
        return self.collator([truncate_row(row, self.max_units) for row in rows])


class _LexiconCollator:
    """Adds ``lexicon_mask`` `(B, N)` (the lexicon's sentiment units of each row) to the wrapped collator's batch."""

    def __init__(self, collator: Any, lexicon: Any) -> None:
        self.collator, self.lexicon = collator, lexicon

    def __call__(self, rows: list[Mapping[str, Any]]) -> dict[str, Any]:
        batch = self.collator(rows)
        mask = torch.zeros(batch["unit_mask"].shape, dtype=torch.bool)
        for index, row in enumerate(rows):
            flags = self.lexicon.unit_mask(row)
            mask[index, : len(flags)] = torch.tensor(flags, dtype=torch.bool)
        batch[LEXICON_KEY] = mask
        return batch


class PairTrainer(EcpeTrainerBase):
    """``Trainer`` for pair models over canonical rows (``units`` + ``pairs``; see :mod:`hf_ecpe.data.schema`).

    Args: as :class:`~hf_ecpe.trainers.base.EcpeTrainerMixin`. ``eval_dataset`` may be a dict ``{name: Dataset}``.
    """

    REQUIRED_COLUMNS = ("units", "pairs")
    trainer_name = "PairTrainer"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lexicon = None
        source = getattr(self.args, "decode_lexicon", None)
        if source:
            from hf_ecpe.evaluation.lexicon import load_lexicon

            self.lexicon = load_lexicon(source)
            if self.lexicon is not None and self.model is not None:  # scripts.evaluate decodes with the same one
                self._unwrapped_model().config.decode_lexicon = str(source)
        self._attach_feature_tables()
        patience = getattr(self.args, "early_stopping_patience", None)
        if patience:
            self.add_callback(
                StartEpochEarlyStopping(
                    patience, self.args.early_stopping_threshold, self.args.early_stopping_start_epoch
                )
            )

    def _attach_feature_tables(self) -> None:
        """Give ``audio_features`` / ``visual_features`` to the ``MultimodalCollator`` (sizes checked against the
        model's ``audio_dim`` / ``visual_dim``)."""
        files = {name: getattr(self.args, f"{name}_features", None) for name in ("audio", "visual")}
        if not any(files.values()):
            return
        from hf_ecpe.data.multimodal import FeatureTable, MultimodalCollator

        if not isinstance(self.data_collator, MultimodalCollator):
            raise ValueError(
                "audio_features / visual_features need a conversational pair model (method pair_scorer), whose "
                f"collator is a MultimodalCollator; this trainer's collator is {type(self.data_collator).__name__}"
            )
        config = self._unwrapped_model().config
        for name, path in files.items():
            if not path:
                continue
            table = FeatureTable.load(path, self.args.feature_index if path.endswith(".npy") else None, name=name)
            expected = getattr(config, f"{name}_dim", None)
            if expected != table.dim:
                raise ValueError(
                    f"{name}_features {path} holds {table.dim}-d vectors but the model's {name}_dim is {expected}: "
                    f"build the model with {name}_dim: {table.dim}"
                )
            setattr(self.data_collator, name, table)

    # ------------------------------------------------------------------ data and optimiser
    def get_train_dataloader(self) -> Any:
        limit = getattr(self.args, "max_train_units", None)
        if not limit or self.data_collator is None:
            return super().get_train_dataloader()
        collator = self.data_collator
        self.data_collator = _TruncatingCollator(collator, limit)
        try:
            return super().get_train_dataloader()
        finally:
            self.data_collator = collator

    def get_eval_dataloader(self, eval_dataset: Any = None) -> Any:
        return self._with_lexicon(super().get_eval_dataloader, eval_dataset)

    def get_test_dataloader(self, test_dataset: Any) -> Any:
        return self._with_lexicon(super().get_test_dataloader, test_dataset)

    def _with_lexicon(self, build: Any, dataset: Any) -> Any:
        if self.lexicon is None or self.data_collator is None:
            return build(dataset)
        collator = self.data_collator
        self.data_collator = _LexiconCollator(collator, self.lexicon)
        try:
            return build(dataset)
        finally:
            self.data_collator = collator

    def create_optimizer(self, model: Any = None) -> torch.optim.Optimizer:
        """The Trainer's optimiser; with ``encoder_learning_rate``, each parameter group is split so that the
        encoder's parameters (``model.encoder``) get that rate and the others ``learning_rate``."""
        had_optimizer = self.optimizer is not None
        optimizer = super().create_optimizer(model) if model is not None else super().create_optimizer()
        rate = getattr(self.args, "encoder_learning_rate", None)
        if had_optimizer or rate is None:
            return optimizer
        encoder = getattr(self._unwrapped_model(), "encoder", None)
        if encoder is None:
            raise ValueError("encoder_learning_rate needs a model with an `encoder` submodule")
        return with_learning_rate_for(optimizer, encoder.parameters(), rate)

    # ------------------------------------------------------------------ loss
    def compute_loss(self, model: torch.nn.Module, inputs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if LEXICON_KEY in inputs:
            inputs = {key: value for key, value in inputs.items() if key != LEXICON_KEY}
        return super().compute_loss(model, inputs, *args, **kwargs)

    @classmethod
    def _missing_columns_message(cls, argument: str, missing: list[str], dataset: Any) -> str:
        columns = getattr(dataset, "column_names", [])
        renames = {"clauses": "units", "utterances": "units", "pair_list": "pairs"}
        suggestions = [f"dataset.rename_column({old!r}, {new!r})" for old, new in renames.items() if old in columns]
        hint = (
            f" Rename your columns: {'; '.join(suggestions)}."
            if suggestions
            else " Build canonical rows with hf_ecpe.data.corpora.get_corpus(name).build(...) or see "
            "hf_ecpe.data.schema for the row format."
        )
        return (
            f"The {argument} must contain the column(s) {missing}: 'units' is the list of clauses/utterances of "
            f"each document and 'pairs' its 0-based {{'emotion', 'cause'}} pairs. It has columns {columns}.{hint}"
        )

    @classmethod
    def _validate_first_row(cls, row: Mapping[str, Any], argument: str) -> None:
        units = row["units"]
        if not isinstance(units, list) or not all(isinstance(unit, str) for unit in units):
            raise ValueError(
                f"The {argument} column 'units' must hold a list of strings per row; row 0 has {type(units).__name__}"
                f" {units!r:.80}."
            )
        pairs = row["pairs"]
        if not isinstance(pairs, list) or any(
            not isinstance(p, Mapping) or {"emotion", "cause"} - set(p) for p in pairs
        ):
            raise ValueError(
                f"The {argument} column 'pairs' must hold a list of {{'emotion': int, 'cause': int, ...}} dicts per "
                f"row (0-based unit indices; hf_ecpe.data.schema.make_pair builds them); row 0 has {pairs!r:.120}."
            )

    # ------------------------------------------------------------------ RPCL
    def extra_loss(
        self, model: torch.nn.Module, inputs: dict[str, Any], outputs: Any
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        if getattr(self.args, "rpcl", False) and model.training:
            return self.rpcl_terms(model, inputs, outputs)
        return None, {}

    def rpcl_terms(
        self, model: torch.nn.Module, inputs: dict[str, Any], outputs: Mapping[str, Any]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """RPCL's training-only objectives for any pair model: ``rpcl_lambda_row * CDMR + CCPS``.

        The model must return ``pair_logits``, ``candidate_mask``, ``cause_logits`` and ``unit_states`` (the unit
        representations its pair scorer consumes) and offer ``score_pairs(unit_states, unit_mask, speaker_ids=...)``,
        which re-runs only the pair scorer: that is how the corrupted view is scored (A2Net re-runs PFN + heads).
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
        total: torch.Tensor | None = None
        components: dict[str, torch.Tensor] = {}
        if args.rpcl_lambda_row != 0:  # CDMR (a zero weight, as in the CCPS-only ablation, skips it)
            cdmr = cdmr_loss(
                pair_probabilities(outputs["pair_logits"]),
                labels,
                candidates,
                torch.sigmoid(outputs["cause_logits"]),
                k=args.rpcl_k,
                m0=args.rpcl_m0,
                adaptive=getattr(args, "rpcl_margin", "adaptive") == "adaptive",
            )
            total = args.rpcl_lambda_row * cdmr
            components["loss_cdmr"] = cdmr.detach()
        if args.rpcl_lambda_cor != 0 or args.rpcl_lambda_ali != 0:  # CCPS: the corrupted view
            if getattr(self, "_rpcl_generator", None) is None:
                self._rpcl_generator = torch.Generator().manual_seed(args.seed + args.process_index)
            keep = corruption_keep_mask(
                unit_mask,
                labels,
                args.rpcl_rho,
                self._rpcl_generator,
                protect_gold=getattr(args, "rpcl_protect_gold", True),
            )
            states = outputs["unit_states"] * keep.unsqueeze(-1).to(outputs["unit_states"].dtype)
            speakers = inputs.get("speaker_ids") if getattr(core.config, "supports_speaker_ids", False) else None
            corrupted = core.score_pairs(states, unit_mask, speaker_ids=speakers)["pair_logits"]
            ccps = ccps_loss(
                outputs["pair_logits"], corrupted, labels, candidates, args.rpcl_lambda_cor, args.rpcl_lambda_ali
            )
            total = ccps["loss_ccps"] if total is None else total + ccps["loss_ccps"]
            components["loss_ccps_ce"] = ccps["loss_ccps_ce"].detach()
            components["loss_ccps_align"] = ccps["loss_ccps_align"].detach()
        if total is None:  # every RPCL weight is 0: the model's loss alone
            total = outputs["pair_logits"].sum() * 0.0
        return total, components

    # ------------------------------------------------------------------ evaluation
    def prediction_step(
        self,
        model: torch.nn.Module,
        inputs: dict[str, torch.Tensor | Any],
        prediction_loss_only: bool,
        ignore_keys: list[str] | None = None,
    ) -> tuple[torch.Tensor | None, tuple[torch.Tensor, ...] | None, tuple[torch.Tensor, ...] | None]:
        """Loss plus packed predictions / labels (see :mod:`hf_ecpe.trainers.metrics`) for ``compute_metrics``."""
        inputs = self._prepare_inputs(inputs)
        lexicon_mask = inputs.pop(LEXICON_KEY, None)
        has_labels = all(inputs.get(name) is not None for name in self.args.label_names or ())
        with torch.no_grad():
            if has_labels:
                loss, outputs = self.compute_loss(model, inputs, return_outputs=True)
                loss = loss.detach().mean()
            else:
                loss, outputs = None, model(**inputs)
        if prediction_loss_only:
            return loss, None, None
        predictions = pack_predictions(outputs, inputs["unit_mask"], lexicon_mask)
        labels = pack_labels(inputs) if has_labels else None
        return loss, predictions, labels

    def select_threshold(self, dataset: Any) -> dict[str, float] | None:
        """Choose the pair threshold that maximises pair F1 on ``dataset`` (threshold decoding) and store it in the
        model config as ``decode_threshold`` (with ``decode_threshold_selected_on``); returns the choice or ``None``
        when ``args.select_threshold`` says not to (``"auto"``: only for ``decoding="threshold"`` models) or
        ``dataset`` is None."""
        mode = getattr(self.args, "select_threshold", "never")
        config = self._unwrapped_model().config
        if dataset is None or mode == "never" or (mode == "auto" and getattr(config, "decoding", None) != "threshold"):
            return None
        output = self.predict(dataset, metric_key_prefix="threshold")
        docs, gold = unpack(output.predictions, output.label_ids)
        probabilities = [doc.pair_probabilities() for doc in docs]
        threshold, f1 = select_pair_threshold(probabilities, [doc.candidate_mask for doc in docs], gold)
        config.decode_threshold = threshold
        config.decode_threshold_selected_on = {"split_size": len(docs), "pair_f1": f1}
        logger.info("pair threshold %.4f chosen on %d documents (pair F1 %.4f)", threshold, len(docs), f1)
        return {"threshold": threshold, "pair_f1": f1}


#: The name of :class:`PairTrainer` before the trainer family (kept for users who import it).
EcpeTrainer = PairTrainer

__all__ = ["LEXICON_KEY", "EcpeTrainer", "PairTrainer", "StartEpochEarlyStopping", "truncate_row"]
