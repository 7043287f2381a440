"""Span-level emotion–cause–category triplets: strict and token-overlap (proportional) micro P/R/F1.

Thin ``evaluate`` wrapper over :func:`hf_ecpe.evaluation.triplet_scores`; see README.md (the metric card).
"""

import datasets
import evaluate

from hf_ecpe.evaluation.triplets import triplet_records, triplet_scores, unit_texts

_CITATION = """\
@inproceedings{bi-liu-2020-ecsp,
  title = {A Multi-Task Learning Model for Emotion-Cause Span-Pair Extraction and Classification},
  author = {Bi, Hongliang and Liu, Pengyuan},
  booktitle = {Proceedings of CCL},
  year = {2020}
}
@inproceedings{wang-etal-2024-semeval,
  title = {{S}em{E}val-2024 Task 3: Multimodal Emotion Cause Analysis in Conversations},
  author = {Wang, Fanfan and Ma, Heqing and Xia, Rui and Yu, Jianfei and Cambria, Erik},
  booktitle = {Proceedings of SemEval-2024},
  year = {2024}
}
"""

_DESCRIPTION = """\
Emotion-cause-category triplet scores for documents and conversations. A triplet is an emotion span, a cause span
(character offsets inside one unit each) and a category. Strict: both spans and the category must equal a gold
triplet (set semantics, micro P/R/F1). Proportional: token-overlap credit in the style of the SemEval-2024 Task 3
proportional scorer, with whitespace tokens (English) or characters (Chinese) as tokens.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `dict`): per example the predicted triplets `{"emotion_unit", "emotion_start",
        "emotion_end", "cause_unit", "cause_start", "cause_end", "category"}` (0-based unit indices, `[start, end)`
        character offsets into the unit's text).
    references (`list` of `list` of `dict`): per example the gold triplets, same form.
    units (`list` of `list` of `str`): per example the unit texts (clauses or utterances).
    language (`str`, default "en"): "en" counts whitespace tokens, "zh" counts characters (spaces excluded).
Returns:
    strict_precision, strict_recall, strict_f1, proportional_precision, proportional_recall, proportional_f1.
Examples:
    >>> triplet = evaluate.load("metrics/triplet")
    >>> t = {"emotion_unit": 0, "emotion_start": 0, "emotion_end": 5, "cause_unit": 1, "cause_start": 0,
    ...      "cause_end": 8, "category": "joy"}
    >>> triplet.compute(predictions=[[t]], references=[[t]], units=[["happy", "passed the exam"]])["strict_f1"]
    1.0
"""

_TRIPLET = {
    "emotion_unit": datasets.Value("int64"),
    "emotion_start": datasets.Value("int64"),
    "emotion_end": datasets.Value("int64"),
    "cause_unit": datasets.Value("int64"),
    "cause_start": datasets.Value("int64"),
    "cause_end": datasets.Value("int64"),
    "category": datasets.Value("string"),
}


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Triplet(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.List(_TRIPLET),
                    "references": datasets.List(_TRIPLET),
                    "units": datasets.List(datasets.Value("string")),
                }
            ),
            reference_urls=["https://arxiv.org/abs/2504.12331", "https://github.com/NUSTM/SemEval-2024_ECAC"],
        )

    # Inputs are validated before Arrow encoding, so a malformed triplet raises MetricInputError naming the example
    # (its index within the batch) instead of an Arrow error.
    def add_batch(self, *, predictions=None, references=None, units=None, **kwargs):
        """Add a batch of examples (triplet lists and unit texts)."""
        super().add_batch(
            predictions=triplet_records(predictions, what="predictions"),
            references=triplet_records(references, what="references"),
            units=unit_texts(units),
            **kwargs,
        )

    def add(self, *, prediction=None, reference=None, units=None, **kwargs):
        """Add one example."""
        if prediction is not None:
            (prediction,) = triplet_records([prediction], what="prediction")
        if reference is not None:
            (reference,) = triplet_records([reference], what="reference")
        if units is not None:
            (units,) = unit_texts([units])
        super().add(prediction=prediction, reference=reference, units=units, **kwargs)

    def _compute(self, predictions, references, units, language="en"):
        return triplet_scores(predictions, references, units, language=language)
