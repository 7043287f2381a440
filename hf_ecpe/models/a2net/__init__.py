"""A2Net (Chen et al., COLING 2022). This folder is self-contained: it is what ``save_pretrained`` ships as remote code."""

from .configuration_a2net import A2NetConfig
from .modeling_a2net import (
    PAIR_LOGIT_FILL,
    A2NetModel,
    A2NetOutput,
    A2NetPreTrainedModel,
    A2NetScores,
    PairScores,
    build_candidate_mask,
    decode_pair_logits,
    decode_unit_logits,
    inter_task_alignment_loss,
    pair_margins,
    pair_probabilities,
    plan_unit_windows,
)

__all__ = [
    "PAIR_LOGIT_FILL",
    "A2NetConfig",
    "A2NetModel",
    "A2NetOutput",
    "A2NetPreTrainedModel",
    "A2NetScores",
    "PairScores",
    "build_candidate_mask",
    "decode_pair_logits",
    "decode_unit_logits",
    "inter_task_alignment_loss",
    "pair_margins",
    "pair_probabilities",
    "plan_unit_windows",
]
