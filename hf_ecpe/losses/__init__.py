"""Losses usable outside a model's ``forward`` (e.g. by trainers of other methods).

``inter_task_alignment_loss`` is defined once, in the self-contained A2Net model folder (so that the remote-code copy
has it too), and re-exported here. The RPCL objectives (:mod:`hf_ecpe.losses.rpcl`) are model-agnostic training-only
terms applied by the trainer to any pair model.
"""

from ..models.a2net.modeling_a2net import inter_task_alignment_loss
from .rpcl import (
    RPCL_DEFAULTS,
    ccps_loss,
    cdmr_loss,
    corruption_keep_mask,
    pair_margins,
    pair_probabilities,
    two_way_logits,
)

__all__ = [
    "RPCL_DEFAULTS",
    "ccps_loss",
    "cdmr_loss",
    "corruption_keep_mask",
    "inter_task_alignment_loss",
    "pair_margins",
    "pair_probabilities",
    "two_way_logits",
]
