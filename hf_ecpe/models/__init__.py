"""Model folders, one per method (``<m>/configuration_<m>.py`` + ``<m>/modeling_<m>.py``, self-contained remote
code). Which folder belongs to which method, and how each registers, lives in :mod:`hf_ecpe.methods`."""

from __future__ import annotations

from .a2net import A2NetConfig, A2NetModel
from .pair_scorer import MultimodalPairScorerConfig, MultimodalPairScorerModel

__all__ = ["A2NetConfig", "A2NetModel", "MultimodalPairScorerConfig", "MultimodalPairScorerModel"]
