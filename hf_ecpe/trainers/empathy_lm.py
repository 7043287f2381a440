"""``EmpathyLMTrainer``: trains :class:`~hf_ecpe.models.empathy.EmpathyLMForCausalLM` (the paper's reasoner and cause
gate over a pretrained chat LM) on L = L_g + w_e · L_emotion + w_c · L_cause.

The LM's bottom blocks are frozen, so their states for a given example never change: the trainer computes them once
per distinct example row (prompt + reply tokens) and keeps them in memory (float32: exact), and every later epoch —
and every evaluation of the same dev rows — runs only the reasoner heads and the top blocks. With
``frozen_cache_dir`` every row is also written to disk (one file per row, under a folder named by a fingerprint of
the frozen weights) and read back by later runs: the ablation runs of a benchmark pay the frozen forward once. With
``cache_frozen_encoder: false`` every step runs the whole LM (same losses; ``tests/test_empathy_lm.py`` checks it).
Memory: tokens × hidden × 4 bytes per row (≈ 0.3 MB for a 130-token ED example over SmolLM2-135M).

Evaluation reports the dev losses (``eval_loss``, ``eval_loss_generation``, ...) and ``emotion_accuracy``; replies
and their scores (BLEU, Dist-n, BERTScore) come from ``scripts.evaluate``, which decodes through ``model.predict``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .base import EcpeTrainerBase, with_learning_rate_for


class EmpathyLMComputeMetrics:
    """Dev ``emotion_accuracy`` from the reasoner's emotion logits (the trainer's ``prediction_step`` returns them)."""

    def __init__(self, model_getter: Any = None) -> None:
        self.model_getter = model_getter

    @classmethod
    def metric_names(cls, config: Any = None) -> frozenset[str]:
        return frozenset({"emotion_accuracy"})

    def __call__(self, eval_prediction: Any) -> dict[str, float]:
        predicted = np.asarray(eval_prediction.predictions).reshape(-1)
        gold = np.asarray(eval_prediction.label_ids).reshape(-1)
        known = gold >= 0
        return {"emotion_accuracy": float((predicted[known] == gold[known]).mean())} if known.any() else {}


def empathy_lm_compute_metrics(model_getter: Any) -> EmpathyLMComputeMetrics:
    """The method's ``compute_metrics`` factory."""
    return EmpathyLMComputeMetrics(model_getter)


class EmpathyLMTrainer(EcpeTrainerBase):
    """See the module docstring."""

    trainer_name = "EmpathyLMTrainer"
    uses_encoder_cache = False  # cache_frozen_encoder: this trainer's own cache of the LM's frozen blocks

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frozen_lm_states: dict[bytes, torch.Tensor] = {}
        self.frozen_cache_hits = 0
        self.frozen_cache_misses = 0
        self._fingerprint: str | None = None

    def create_optimizer(self, model: Any = None) -> torch.optim.Optimizer:
        """The Trainer's optimiser; with ``encoder_learning_rate`` the LM's trained blocks get that rate and the new
        parts (reasoner, cause head, emotion embeddings) ``learning_rate``."""
        had_optimizer = self.optimizer is not None
        optimizer = super().create_optimizer(model) if model is not None else super().create_optimizer()
        rate = getattr(self.args, "encoder_learning_rate", None)
        if had_optimizer or rate is None:
            return optimizer
        return with_learning_rate_for(optimizer, self._unwrapped_model().lm.parameters(), rate)

    def _states(self, model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """`(batch, tokens, hidden)` frozen-bottom states of a right-padded batch, from the cache where present
        (rows are keyed by their real tokens; padding rows are zero)."""
        unwrapped = self._unwrapped_model()
        lengths = attention_mask.sum(-1).tolist()
        keys = [input_ids[b, :n].cpu().numpy().tobytes() for b, n in enumerate(lengths)]
        for key in keys:
            if key not in self.frozen_lm_states:
                stored = self._read_stored(key)
                if stored is not None:
                    self.frozen_lm_states[key] = stored
        missing = [b for b, key in enumerate(keys) if key not in self.frozen_lm_states and key not in keys[:b]]
        if missing:
            rows = torch.tensor(missing, device=input_ids.device)
            width = max(lengths[b] for b in missing)
            was_training = unwrapped.training
            unwrapped.eval()  # the frozen part runs without dropout, as at inference
            try:
                computed = unwrapped.frozen_states(input_ids[rows, :width], attention_mask[rows, :width])
            finally:
                unwrapped.train(was_training)
            for i, b in enumerate(missing):
                self.frozen_lm_states[keys[b]] = computed[i, : lengths[b]].detach().cpu()
                self._store(keys[b], self.frozen_lm_states[keys[b]])
        self.frozen_cache_misses += len(missing)
        self.frozen_cache_hits += len(keys) - len(missing)
        hidden = unwrapped.lm.config.hidden_size
        states = torch.zeros((*input_ids.shape, hidden), dtype=torch.float32, device=input_ids.device)
        for b, key in enumerate(keys):
            states[b, : lengths[b]] = self.frozen_lm_states[key].to(input_ids.device)
        return states

    def _cache_folder(self) -> Path | None:
        """``<frozen_cache_dir>/<fingerprint of the frozen part>`` or ``None`` (memory only)."""
        root = getattr(self.args, "frozen_cache_dir", None)
        if not root:
            return None
        if self._fingerprint is None:
            model = self._unwrapped_model()
            digest = hashlib.sha1()
            digest.update(json.dumps(model.config.causal_lm, sort_keys=True, default=str).encode())
            digest.update(f"split={model.split}".encode())
            for name, parameter in model.lm.named_parameters():  # frozen weights (a sample of each) identify them
                if not parameter.requires_grad:
                    digest.update(name.encode())
                    digest.update(parameter.detach().reshape(-1)[:64].cpu().numpy().tobytes())
            self._fingerprint = digest.hexdigest()[:16]
        return Path(root) / f"empathy-lm-{self._fingerprint}"

    def _read_stored(self, key: bytes) -> torch.Tensor | None:
        folder = self._cache_folder()
        path = folder / f"{hashlib.sha1(key).hexdigest()}.pt" if folder is not None else None
        return torch.load(path) if path is not None and path.is_file() else None

    def _store(self, key: bytes, states: torch.Tensor) -> None:
        folder = self._cache_folder()
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{hashlib.sha1(key).hexdigest()}.pt"
        partial = path.with_suffix(".partial")
        torch.save(states.clone(), partial)
        os.replace(partial, path)  # a killed run never leaves a half-written entry

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch=None):
        if getattr(self.args, "cache_frozen_encoder", False) and "frozen_states" not in inputs:
            inputs = {**inputs, "frozen_states": self._states(model, inputs["input_ids"], inputs["attention_mask"])}
        return super().compute_loss(
            model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
        )

    def prediction_step(self, model: Any, inputs: dict[str, Any], prediction_loss_only: bool, ignore_keys=None):
        """The dev loss and, for ``emotion_accuracy``, the predicted against the gold emotion ids."""
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss, outputs = self.compute_loss(model, inputs, return_outputs=True)
        loss = loss.detach().mean()
        if prediction_loss_only:
            return loss, None, None
        return loss, outputs["emotion_logits"].argmax(-1), inputs["emotion_labels"]


__all__ = ["EmpathyLMComputeMetrics", "EmpathyLMTrainer", "empathy_lm_compute_metrics"]
