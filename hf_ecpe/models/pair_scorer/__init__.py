"""Multimodal conversational pair scorer (the RPCL backbone). This folder is self-contained: it is what
``save_pretrained`` ships as remote code."""

from .configuration_pair_scorer import MultimodalPairScorerConfig
from .modeling_pair_scorer import (
    PAIR_LOGIT_FILL,
    MultimodalPairScorerModel,
    MultimodalPairScorerOutput,
    MultimodalPairScorerPreTrainedModel,
    PairScores,
    build_candidate_mask,
    decode_category_logits,
    decode_pair_logits,
    decode_unit_logits,
    pair_margins,
    pair_probabilities,
    plan_unit_windows,
    speaker_relations,
)

__all__ = [
    "PAIR_LOGIT_FILL",
    "MultimodalPairScorerConfig",
    "MultimodalPairScorerModel",
    "MultimodalPairScorerOutput",
    "MultimodalPairScorerPreTrainedModel",
    "PairScores",
    "build_candidate_mask",
    "decode_category_logits",
    "decode_pair_logits",
    "decode_unit_logits",
    "pair_margins",
    "pair_probabilities",
    "plan_unit_windows",
    "speaker_relations",
]
