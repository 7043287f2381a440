"""A2Net cross-task consistency: do the emotion and cause heads predict the units implied by the predicted pairs?

Thin ``evaluate`` wrapper over :func:`hf_ecpe.evaluation.consistency_scores`; see README.md (the metric card).
"""

import datasets
import evaluate

from hf_ecpe.evaluation.pairs import REFERENCE_EPSILON, consistency_module_columns, consistency_scores

_CITATION = """\
@inproceedings{chen-etal-2022-a2net,
  title = {Aligned Representation Learning for Emotion Cause Pair Extraction ({A}$^2${N}et)},
  booktitle = {Proceedings of COLING},
  year = {2022}
}
"""

_DESCRIPTION = """\
Cross-task consistency as printed by A2Net (`utils.eval_consistency`): the share of emotion (cause) units implied by
the predicted pairs that the emotion (cause) classification head also predicts, micro over the corpus on per-example
sets, with 1e-8 added to the denominators. No gold annotation is involved.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of pairs): per example the predicted pairs `[emotion, cause]` (a third category
        element is accepted and ignored).
    emotion_predictions (`list` of `list` of `int`): per example the unit indices predicted by the emotion head.
    cause_predictions (`list` of `list` of `int`): per example the unit indices predicted by the cause head.
    num_units (`int` or `list` of `int`, optional): units per example; indices must be below it.
    epsilon (`float`, default 1e-8): added to every denominator.
Returns:
    emotion_consistency, cause_consistency (A2Net's R_e, R_c), and emotion/cause_consistency_precision and _f1.
Examples:
    >>> consistency = evaluate.load("metrics/consistency")
    >>> consistency.compute(predictions=[[[2, 1], [3, 1]]], emotion_predictions=[[2]], cause_predictions=[[1]])[
    ...     "emotion_consistency"]
    0.4999999975
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Consistency(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.List(datasets.List(datasets.Value("string"))),
                    "emotion_predictions": datasets.List(datasets.Value("int64")),
                    "cause_predictions": datasets.List(datasets.Value("int64")),
                }
            ),
            reference_urls=["https://github.com/csj199813/A2Net_ECPE"],
        )

    # evaluate appends the inputs description to these docstrings, so they must exist. Inputs are checked before
    # Arrow encoding (the int head features would truncate 0.7 into 0), so the module refuses exactly what
    # consistency_scores refuses, with the same message.
    def add_batch(
        self, *, predictions=None, references=None, emotion_predictions=None, cause_predictions=None, **kwargs
    ):
        """Add a batch of examples (pairs may hold ints or strings)."""
        predictions, emotion_predictions, cause_predictions = consistency_module_columns(
            predictions, emotion_predictions, cause_predictions
        )
        super().add_batch(
            predictions=predictions,
            references=references,
            emotion_predictions=emotion_predictions,
            cause_predictions=cause_predictions,
            **kwargs,
        )

    def add(self, *, prediction=None, reference=None, emotion_predictions=None, cause_predictions=None, **kwargs):
        """Add one example (pairs may hold ints or strings)."""
        if prediction is not None and emotion_predictions is not None and cause_predictions is not None:
            (prediction,), (emotion_predictions,), (cause_predictions,) = consistency_module_columns(
                [prediction], [emotion_predictions], [cause_predictions]
            )
        super().add(
            prediction=prediction,
            reference=reference,
            emotion_predictions=emotion_predictions,
            cause_predictions=cause_predictions,
            **kwargs,
        )

    def _compute(self, predictions, emotion_predictions, cause_predictions, num_units=None, epsilon=REFERENCE_EPSILON):
        return consistency_scores(
            predictions, emotion_predictions, cause_predictions, num_units=num_units, epsilon=epsilon
        )
