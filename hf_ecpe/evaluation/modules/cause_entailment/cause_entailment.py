"""Causal Emotion Entailment (RECCON subtask 2) / KD-ECS utterance-pair classification: Pos./Neg./macro F1.

Thin ``evaluate`` wrapper over :func:`hf_ecpe.evaluation.cause_entailment_scores`; see README.md (the metric card).
"""

import datasets
import evaluate

from hf_ecpe.evaluation.classification import cause_entailment_module_columns, cause_entailment_scores

_CITATION = """\
@article{poria-etal-2021-recognizing,
  title = {Recognizing Emotion Cause in Conversations},
  author = {Poria, Soujanya and Majumder, Navonil and Hazarika, Devamanyu and Ghosal, Deepanway and
            Bhardwaj, Rishabh and Jian, Samson Yu Bai and Hong, Pengfei and Ghosh, Romila and Roy, Abhinaba and
            Chhaya, Niyati and Gelbukh, Alexander and Mihalcea, Rada},
  journal = {Cognitive Computation},
  year = {2021}
}
"""

_DESCRIPTION = """\
Binary classification of (target utterance, candidate cause utterance) pairs as RECCON's eval_classification.py
reports it with sklearn.metrics.classification_report: Pos. F1 (class 1), Neg. F1 (class 0) and their macro
average; optionally the accuracy of the predicted emotion of each target utterance (KD-ECS "Emo Acc").
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): 0/1 decision per utterance pair (1 = the candidate causes the emotion).
    references (`list` of `int`): 0/1 gold label per utterance pair.
    emotion_predictions (`list` of `str` or `int`, optional): predicted emotion per target utterance.
    emotion_references (`list` of `str` or `int`, optional): gold emotion per target utterance (with the above).
    emotion_labels (`list` of `str`, optional): known emotion labels; others raise.
Returns:
    pos_f1, neg_f1, macro_f1, and emotion_accuracy when emotions are given.
Examples:
    >>> cee = evaluate.load("metrics/cause_entailment")
    >>> cee.compute(predictions=[1, 0, 1, 0], references=[1, 0, 0, 0])["macro_f1"]
    0.7333333333333334
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class CauseEntailment(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("int32"), "references": datasets.Value("int32")}
            ),
            reference_urls=["https://github.com/declare-lab/RECCON"],
        )

    # Labels are checked before Arrow encoding (the int32 features would truncate 0.9 into 0), so the module refuses
    # exactly what cause_entailment_scores refuses, with the same message.
    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Add a batch of 0/1 pair decisions and gold labels."""
        predictions, references = cause_entailment_module_columns(predictions, references)
        super().add_batch(predictions=predictions, references=references, **kwargs)

    def add(self, *, prediction=None, reference=None, **kwargs):
        """Add one 0/1 pair decision and its gold label."""
        predictions, references = cause_entailment_module_columns(
            None if prediction is None else [prediction], None if reference is None else [reference]
        )
        super().add(
            prediction=None if predictions is None else predictions[0],
            reference=None if references is None else references[0],
            **kwargs,
        )

    def _compute(
        self, predictions, references, emotion_predictions=None, emotion_references=None, emotion_labels=None
    ):
        return cause_entailment_scores(
            predictions,
            references,
            emotion_predictions=emotion_predictions,
            emotion_references=emotion_references,
            emotion_labels=emotion_labels,
        )
