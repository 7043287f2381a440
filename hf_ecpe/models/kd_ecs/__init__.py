"""KD-ECS (Chen et al., AAAI 2024). This folder is self-contained: it is what ``save_pretrained`` ships as remote code."""

from .configuration_kd_ecs import KdEcsConfig, KdEcsStudentConfig, KdEcsTeacherConfig
from .modeling_kd_ecs import (
    KdEcsPreTrainedModel,
    KdEcsStudentModel,
    KdEcsStudentOutput,
    KdEcsTeacherModel,
    KdEcsTeacherOutput,
    best_spans,
    connective_loss,
    distillation_loss,
    relation_probability,
)
from .processing_kd_ecs import CauseUtterance, EmotionUtterance, SpanPair, SpanPairPrediction, single_token_id

__all__ = [
    "CauseUtterance",
    "EmotionUtterance",
    "KdEcsConfig",
    "KdEcsPreTrainedModel",
    "KdEcsStudentConfig",
    "KdEcsStudentModel",
    "KdEcsStudentOutput",
    "KdEcsTeacherConfig",
    "KdEcsTeacherModel",
    "KdEcsTeacherOutput",
    "SpanPair",
    "SpanPairPrediction",
    "best_spans",
    "connective_loss",
    "distillation_loss",
    "relation_probability",
    "single_token_id",
]
