"""The ``emotion-cause`` pipeline task (registered by ``import hf_ecpe``): one pipeline class per output kind."""

from .emotion_cause import (
    PIPELINE_CLASSES,
    EmotionCausePipeline,
    PairPipeline,
    TripletPipeline,
    lexicon_mask_for,
    normalise_input,
    output_kind_of,
)

__all__ = [
    "PIPELINE_CLASSES",
    "EmotionCausePipeline",
    "PairPipeline",
    "TripletPipeline",
    "lexicon_mask_for",
    "normalise_input",
    "output_kind_of",
]
