"""SemEval-2024 Task 3 subtask 1: emotion–cause span pair P/R/F1, strict and proportional, as the official scorer.

Thin ``evaluate`` wrapper over :func:`hf_ecpe.evaluation.semeval_span_scores`; see README.md (the metric card).
"""

import datasets
import evaluate

from hf_ecpe.evaluation.pairs import REFERENCE_EPSILON
from hf_ecpe.evaluation.spans import semeval_span_scores, span_pair_records

_CITATION = """\
@inproceedings{wang-etal-2024-semeval,
  title = {{S}em{E}val-2024 Task 3: Multimodal Emotion Cause Analysis in Conversations},
  author = {Wang, Fanfan and Ma, Heqing and Xia, Rui and Yu, Jianfei and Cambria, Erik},
  booktitle = {Proceedings of SemEval-2024},
  year = {2024}
}
"""

_DESCRIPTION = """\
Emotion-cause span pair scores of SemEval-2024 Task 3 subtask 1 (textual emotion-cause pair extraction in
conversations), computed exactly as the official CodaLab scorer: per-conversation de-duplication, strict matching
(same utterances, category and token boundaries) and proportional token-overlap matching, per-category P/R/F1 with
1e-8 epsilons, gold-share-weighted and micro averages; "neutral" is never scored.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `dict`): per conversation the predicted span pairs
        `{"emotion": int, "category": str, "cause": int, "start": int, "end": int}`: 0-based emotion and cause
        utterance indices, the emotion category, and the `[start, end)` whitespace-token span of the cause in the
        cause utterance.
    references (`list` of `list` of `dict`): per conversation the gold span pairs, same form.
    categories (`list` of `str`, optional): scored categories in class order (default: anger, disgust, fear, joy,
        sadness, surprise); "neutral" is always accepted and never scored.
    epsilon (`float`, default 1e-8): added to every denominator as the scorer does; 0 gives exact ratios.
Returns:
    weighted_strict_precision, weighted_strict_recall, weighted_strict_f1 (main ranking metric),
    weighted_proportional_precision/recall/f1, strict_precision/recall/f1, proportional_precision/recall/f1.
Examples:
    >>> ecpe_span = evaluate.load("metrics/ecpe_span")
    >>> pair = {"emotion": 1, "category": "sadness", "cause": 0, "start": 0, "end": 5}
    >>> round(ecpe_span.compute(predictions=[[pair]], references=[[pair]])["weighted_strict_f1"], 6)
    1.0
"""

_SPAN_PAIR = {
    "emotion": datasets.Value("int64"),
    "category": datasets.Value("string"),
    "cause": datasets.Value("int64"),
    "start": datasets.Value("int64"),
    "end": datasets.Value("int64"),
}


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EcpeSpan(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.List(_SPAN_PAIR), "references": datasets.List(_SPAN_PAIR)}
            ),
            codebase_urls=["https://github.com/NUSTM/SemEval-2024_ECAC"],
            reference_urls=["https://nustm.github.io/SemEval-2024_ECAC/"],
        )

    # Inputs are validated (and digit strings / numpy ints made ints) before Arrow encoding, so a malformed pair
    # raises MetricInputError naming the example (its index within the batch) instead of an Arrow error.
    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Add a batch of conversations (lists of span pair dicts)."""
        super().add_batch(
            predictions=span_pair_records(predictions, what="predictions"),
            references=span_pair_records(references, what="references"),
            **kwargs,
        )

    def add(self, *, prediction=None, reference=None, **kwargs):
        """Add one conversation (a list of span pair dicts)."""
        if prediction is not None:
            (prediction,) = span_pair_records([prediction], what="prediction")
        if reference is not None:
            (reference,) = span_pair_records([reference], what="reference")
        super().add(prediction=prediction, reference=reference, **kwargs)

    def _compute(self, predictions, references, categories=None, epsilon=REFERENCE_EPSILON):
        return semeval_span_scores(predictions, references, categories=categories, epsilon=epsilon)
