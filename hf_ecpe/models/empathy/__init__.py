"""Cause-aware empathetic response generation (Gao et al., Findings of EMNLP 2021). This folder is self-contained:
it is what ``save_pretrained`` ships as remote code."""

from .configuration_empathy import CAUSE_LABELS, ED_EMOTIONS, GATE_SOURCES, GATES, SOFT_GATE_FORMS, EmpathyConfig
from .modeling_empathy import (
    EmotionReasoner,
    EmpathyEncoder,
    EmpathyEncoderOutput,
    EmpathyForConditionalGeneration,
    EmpathyOutput,
    EmpathyPreTrainedModel,
    gated_softmax,
    sinusoid_positions,
    special_token_ids,
)

__all__ = [
    "CAUSE_LABELS",
    "ED_EMOTIONS",
    "GATES",
    "GATE_SOURCES",
    "SOFT_GATE_FORMS",
    "EmotionReasoner",
    "EmpathyConfig",
    "EmpathyEncoder",
    "EmpathyEncoderOutput",
    "EmpathyForConditionalGeneration",
    "EmpathyOutput",
    "EmpathyPreTrainedModel",
    "gated_softmax",
    "sinusoid_positions",
    "special_token_ids",
]
