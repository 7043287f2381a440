"""Pair AUPRC: pooled average precision of scored candidate pairs, best-threshold F1 and fixed-threshold F1.

Thin ``evaluate`` wrapper over :func:`hf_ecpe.evaluation.pair_auprc_scores`; see README.md (the metric card).
"""

import datasets
import evaluate

from hf_ecpe.evaluation.ranking import pair_auprc_module_columns, pair_auprc_scores

_CITATION = """\
@article{scikit-learn,
  title = {Scikit-learn: Machine Learning in {P}ython},
  author = {Pedregosa, F. and others},
  journal = {Journal of Machine Learning Research},
  volume = {12},
  pages = {2825--2830},
  year = {2011}
}
"""

_DESCRIPTION = """\
Average precision (area under the step-wise precision-recall curve, no interpolation) of the scores of all candidate
emotion-cause pairs, pooled over the corpus; identical to sklearn.metrics.average_precision_score on the
concatenated candidates (tied scores form one threshold). Also the best F1 over thresholds and, with `threshold`, the
F1 at a fixed threshold. Gold pairs missing from the candidates can be counted in the recall (`num_unreachable`).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): per example the score of every candidate pair.
    references (`list` of `list` of `int`): per example the 0/1 gold label of each candidate, same order.
    threshold (`float`, optional): fixed decision threshold (chosen on validation data).
    inclusive (`bool`, default True): positive when score >= threshold; False: score > threshold.
    num_unreachable (`int` or `list` of `int`, default 0): gold pairs absent from the candidates (total or per
        example); added to the recall denominators, never retrieved.
    average (`str`, default "pooled"): "pooled" (one AP over all candidates) or "per_example" (mean AP over the
        examples that have a gold pair).
Returns:
    auprc, best_f1, best_threshold; with threshold also precision_at_threshold, recall_at_threshold, f1_at_threshold.
Examples:
    >>> auprc = evaluate.load("metrics/pair_auprc")
    >>> auprc.compute(predictions=[[0.2, 0.9, 0.1], [0.7, 0.6, 0.5]], references=[[1, 0, 0], [0, 1, 1]])["auprc"]
    0.4777777777777778
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class PairAuprc(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.List(datasets.Value("float64")),
                    "references": datasets.List(datasets.Value("int32")),
                }
            ),
            reference_urls=[
                "https://scikit-learn.org/stable/modules/generated/sklearn.metrics.average_precision_score.html"
            ],
        )

    # Scores and labels are checked before Arrow encoding (the int32 labels would truncate 1.99 into 1), so the module
    # refuses exactly what pair_auprc_scores refuses, with the same message.
    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Add a batch of examples (candidate scores and their 0/1 labels)."""
        predictions, references = pair_auprc_module_columns(predictions, references)
        super().add_batch(predictions=predictions, references=references, **kwargs)

    def add(self, *, prediction=None, reference=None, **kwargs):
        """Add one example (its candidate scores and their 0/1 labels)."""
        if prediction is not None and reference is not None:
            (prediction,), (reference,) = pair_auprc_module_columns([prediction], [reference])
        super().add(prediction=prediction, reference=reference, **kwargs)

    def _compute(self, predictions, references, threshold=None, inclusive=True, num_unreachable=0, average="pooled"):
        return pair_auprc_scores(
            predictions,
            references,
            threshold=threshold,
            inclusive=inclusive,
            num_unreachable=num_unreachable,
            average=average,
        )
