"""The ``emotion-cause`` pipeline task (registered by ``import hf_ecpe``): one pipeline class per output kind, one
file per pipeline class (``pairs.py``, ``triplets.py``; ``emotion_cause.py`` builds the one a model's kind needs)."""

from .emotion_cause import (
    PIPELINE_CLASSES,
    EmotionCausePipeline,
    lexicon_mask_for,
    normalise_input,
    output_kind_of,
)
from .pairs import PairPipeline
from .triplets import TripletPipeline

__all__ = [
    "PIPELINE_CLASSES",
    "EmotionCausePipeline",
    "PairPipeline",
    "TripletPipeline",
    "lexicon_mask_for",
    "normalise_input",
    "output_kind_of",
]
