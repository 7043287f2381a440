"""``PairTrainer``: the trainer of pair models (A2Net, the conversational pair scorer) over canonical rows.

On top of :class:`~hf_ecpe.trainers.base.EcpeTrainerBase`: rows need ``units`` + ``pairs`` (checked up front), the
RPCL objectives are an option for any pair model (``args.rpcl``), evaluation packs the pair matrices for
``compute_metrics`` (:mod:`hf_ecpe.trainers.metrics`), and :meth:`PairTrainer.select_threshold` chooses the pair
decision threshold on a validation split and stores it in the model config (the training script calls it after
training, so a saved model decodes with the validation-chosen threshold).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .base import EcpeTrainerBase
from .metrics import pack_labels, pack_predictions, select_pair_threshold, unpack

logger = logging.getLogger(__name__)


class PairTrainer(EcpeTrainerBase):
    """``Trainer`` for pair models over canonical rows (``units`` + ``pairs``; see :mod:`hf_ecpe.data.schema`).

    Args: as :class:`~hf_ecpe.trainers.base.EcpeTrainerMixin`. ``eval_dataset`` may be a dict ``{name: Dataset}``.
    """

    REQUIRED_COLUMNS = ("units", "pairs")
    trainer_name = "PairTrainer"

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
        speakers = inputs.get("speaker_ids") if getattr(core.config, "supports_speaker_ids", False) else None
        corrupted = core.score_pairs(states, unit_mask, speaker_ids=speakers)["pair_logits"]
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
        has_labels = all(inputs.get(name) is not None for name in self.args.label_names or ())
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

    def select_threshold(self, dataset: Any) -> dict[str, float] | None:
        """Choose the pair threshold that maximises pair F1 on ``dataset`` (threshold decoding) and store it in the
        model config as ``decode_threshold`` (with ``decode_threshold_selected_on``); returns the choice or ``None``
        when ``args.select_threshold`` says not to (``"auto"``: only for ``decoding="threshold"`` models)."""
        mode = getattr(self.args, "select_threshold", "never")
        config = self._unwrapped_model().config
        if mode == "never" or (mode == "auto" and getattr(config, "decoding", None) != "threshold"):
            return None
        output = self.predict(dataset, metric_key_prefix="threshold")
        docs, gold = unpack(output.predictions, output.label_ids)
        probabilities = [np.exp(-np.logaddexp(0.0, -doc.pair_logits.astype(np.float64))) for doc in docs]
        threshold, f1 = select_pair_threshold(probabilities, [doc.candidate_mask for doc in docs], gold)
        config.decode_threshold = threshold
        config.decode_threshold_selected_on = {"split_size": len(docs), "pair_f1": f1}
        logger.info("pair threshold %.4f chosen on %d documents (pair F1 %.4f)", threshold, len(docs), f1)
        return {"threshold": threshold, "pair_f1": f1}


#: The name of :class:`PairTrainer` before the trainer family (kept for users who import it).
EcpeTrainer = PairTrainer

__all__ = ["EcpeTrainer", "PairTrainer"]
