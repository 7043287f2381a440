"""The ``emotion-cause`` pipeline task (registered by ``import hf_ecpe``)."""

from .emotion_cause import EmotionCausePipeline, lexicon_mask_for, normalise_input

__all__ = ["EmotionCausePipeline", "lexicon_mask_for", "normalise_input"]
