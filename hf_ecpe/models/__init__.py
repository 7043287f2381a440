"""Model folders, one per method. ``METHODS`` maps each ``model_type`` to its ``(config class, model class)``;
``hf_ecpe._registration.register_all`` registers every entry with the Auto classes."""

from __future__ import annotations

from transformers import PretrainedConfig, PreTrainedModel

from .a2net import A2NetConfig, A2NetModel
from .pair_scorer import MultimodalPairScorerConfig, MultimodalPairScorerModel

METHODS: dict[str, tuple[type[PretrainedConfig], type[PreTrainedModel]]] = {
    "hf-ecpe-a2net": (A2NetConfig, A2NetModel),
    "hf-ecpe-pair-scorer": (MultimodalPairScorerConfig, MultimodalPairScorerModel),
}

__all__ = ["METHODS", "A2NetConfig", "A2NetModel", "MultimodalPairScorerConfig", "MultimodalPairScorerModel"]
