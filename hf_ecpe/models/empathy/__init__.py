"""Cause-aware empathetic response generation (Gao et al., Findings of EMNLP 2021). This folder is self-contained:
it is what ``save_pretrained`` ships as remote code."""

from .configuration_empathy import (
    CAUSE_LABELS,
    ED_EMOTIONS,
    GATE_SOURCES,
    GATES,
    SOFT_GATE_FORMS,
    EmpathyConfig,
    EmpathyLMConfig,
)
from .modeling_empathy import (
    DEFAULT_CAUSE_THRESHOLD,
    CauseToken,
    CauseUtterance,
    EmotionReasoner,
    EmpathyEncoder,
    EmpathyEncoderOutput,
    EmpathyForConditionalGeneration,
    EmpathyOutput,
    EmpathyPreTrainedModel,
    ResponsePrediction,
    decode_texts,
    encode_context,
    gated_softmax,
    sinusoid_positions,
    special_token_ids,
    to_corpus_tokens,
)
from .modeling_empathy_lm import EmpathyLMForCausalLM, EmpathyLMOutput

__all__ = [
    "CAUSE_LABELS",
    "DEFAULT_CAUSE_THRESHOLD",
    "ED_EMOTIONS",
    "GATES",
    "GATE_SOURCES",
    "SOFT_GATE_FORMS",
    "CauseToken",
    "CauseUtterance",
    "EmotionReasoner",
    "EmpathyConfig",
    "EmpathyEncoder",
    "EmpathyEncoderOutput",
    "EmpathyLMConfig",
    "EmpathyLMForCausalLM",
    "EmpathyLMOutput",
    "EmpathyForConditionalGeneration",
    "EmpathyOutput",
    "EmpathyPreTrainedModel",
    "ResponsePrediction",
    "decode_texts",
    "encode_context",
    "gated_softmax",
    "sinusoid_positions",
    "special_token_ids",
    "to_corpus_tokens",
]
