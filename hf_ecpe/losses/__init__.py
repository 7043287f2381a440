"""Every loss of hf_ecpe, outside the model folders (originals; e.g. for trainers of other methods).

- :func:`inter_task_alignment_loss` (:mod:`hf_ecpe.losses.alignment`): A2Net's Eq. 13.
- :func:`connective_loss`, :func:`distillation_loss` (:mod:`hf_ecpe.losses.kd_ecs`): KD-ECS's Eq. 4 and Eq. 12.
- The RPCL objectives (:mod:`hf_ecpe.losses.rpcl`): model-agnostic training-only terms applied by the trainer to any
  pair model.

A model whose ``forward`` computes one of them carries a checked copy in its (self-contained, remote-code) folder,
marked ``# Copied from hf_ecpe.losses.<module>.<name>`` (``python -m hf_ecpe.tools.check_copies``).
"""

from .alignment import inter_task_alignment_loss
from .kd_ecs import connective_loss, distillation_loss
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
    "connective_loss",
    "corruption_keep_mask",
    "distillation_loss",
    "inter_task_alignment_loss",
    "pair_margins",
    "pair_probabilities",
    "two_way_logits",
]
