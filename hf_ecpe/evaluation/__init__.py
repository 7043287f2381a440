"""Evaluation: metric functions in plain numpy (no ``evaluate`` import) and loaders for the ``evaluate`` modules.

``load(name)`` returns the packaged ``evaluate`` module ``name`` (``available_metrics()`` lists them); the functions
below compute the same numbers without ``evaluate``. Bad inputs raise :class:`MetricInputError` (a ``ValueError``)
naming the input and the example index.
"""

from ._validation import MetricInputError
from .classification import cause_entailment_scores, emotion_accuracy
from .generation import (
    BLEU_IMPLEMENTATIONS,
    bert_score_means,
    corpus_bleu,
    distinct_n,
    empathetic_generation_scores,
)
from .loading import available_metrics, load, module_path
from .pairs import (
    ECF_CATEGORIES,
    MECPE_FOUR_CATEGORIES,
    REFERENCE_EPSILON,
    aggregate_folds,
    consistency_scores,
    ecpe_scores,
    offset_bucket,
    pair_scores_by_offset,
    prf,
)
from .ranking import average_precision, pair_auprc_scores
from .reccon import RECCON_IMPOSSIBLE_ANSWER, lcs_f1, reccon_span_scores, squad_f1
from .spans import SEMEVAL_CATEGORIES, locate_gold_cause_span, semeval_span_scores
from .triplets import TRIPLET_KEYS, triplet_scores, triplets_from_pairs

__all__ = [
    "BLEU_IMPLEMENTATIONS",
    "ECF_CATEGORIES",
    "MECPE_FOUR_CATEGORIES",
    "RECCON_IMPOSSIBLE_ANSWER",
    "REFERENCE_EPSILON",
    "SEMEVAL_CATEGORIES",
    "TRIPLET_KEYS",
    "MetricInputError",
    "aggregate_folds",
    "available_metrics",
    "average_precision",
    "bert_score_means",
    "cause_entailment_scores",
    "consistency_scores",
    "corpus_bleu",
    "distinct_n",
    "ecpe_scores",
    "emotion_accuracy",
    "empathetic_generation_scores",
    "lcs_f1",
    "load",
    "locate_gold_cause_span",
    "module_path",
    "offset_bucket",
    "pair_auprc_scores",
    "pair_scores_by_offset",
    "prf",
    "reccon_span_scores",
    "semeval_span_scores",
    "squad_f1",
    "triplet_scores",
    "triplets_from_pairs",
]
