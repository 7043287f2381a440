"""RECCON subtask 1 (causal span extraction): EM / SQuAD F1 / LCS F1 on cause questions, F1 of the no-cause class,
F1 over all questions — as ``declare-lab/RECCON`` ``eval_qa.py`` computes them.

Thin ``evaluate`` wrapper over :func:`hf_ecpe.evaluation.reccon_span_scores`; see README.md (the metric card).
"""

import datasets
import evaluate

from hf_ecpe.evaluation.reccon import reccon_span_scores, span_texts

_CITATION = """\
@article{poria-etal-2021-recognizing,
  title = {Recognizing Emotion Cause in Conversations},
  author = {Poria, Soujanya and Majumder, Navonil and Hazarika, Devamanyu and Ghosal, Deepanway and Bhardwaj, Rishabh
            and Jian, Samson Yu Bai and Hong, Pengfei and Ghosh, Romila and Roy, Abhinaba and Chhaya, Niyati
            and Gelbukh, Alexander and Mihalcea, Rada},
  journal = {Cognitive Computation},
  volume = {13},
  pages = {1317--1332},
  year = {2021}
}
"""

_DESCRIPTION = """\
RECCON causal span extraction scores over questions (one question = one target utterance and one candidate cause
utterance). A question's gold answer is the cause span text, or "" when the candidate is not a cause. Scores follow
the published `eval_qa.py::evaluate_results` (exact / partial / wrong buckets by stripped string containment);
`reccon_compat=True` also reproduces its order-dependent stale-variable miscount of the no-cause class.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str`): per question the predicted cause span text, "" for "no cause".
    references (`list` of `str`): per question the gold cause span text, "" for a no-cause question.
    reccon_compat (`bool`, default False): reproduce the published script's quirks (order-dependent; may raise
        ValueError where the script raises NameError or TypeError).
Returns:
    exact_match_pos, f1_pos, lcs_f1_pos (cause questions), f1_neg (the no-cause class), f1_all, lcs_f1_all
    (all questions); floats in [0, 1] (the script prints percentages).
Examples:
    >>> reccon_span = evaluate.load("metrics/reccon_span")
    >>> scores = reccon_span.compute(predictions=["my makeup bag", ""], references=["i lost my makeup bag", ""])
    >>> round(scores["f1_pos"], 4), scores["f1_neg"]
    (0.75, 1.0)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class RecconSpan(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
            codebase_urls=["https://github.com/declare-lab/RECCON"],
            reference_urls=["https://arxiv.org/abs/2012.11820"],
        )

    # Texts are checked before Arrow encoding, so None or a number raises MetricInputError naming the question.
    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Add a batch of questions (span texts)."""
        super().add_batch(
            predictions=span_texts(predictions, what="predictions"),
            references=span_texts(references, what="references"),
            **kwargs,
        )

    def add(self, *, prediction=None, reference=None, **kwargs):
        """Add one question."""
        if prediction is not None:
            (prediction,) = span_texts([prediction], what="prediction")
        if reference is not None:
            (reference,) = span_texts([reference], what="reference")
        super().add(prediction=prediction, reference=reference, **kwargs)

    def _compute(self, predictions, references, reccon_compat=False):
        return reccon_span_scores(predictions, references, reccon_compat=reccon_compat)
