"""ECPE pair extraction: micro pair / emotion / cause P/R/F1 (RankCP/A2Net ``eval_func``), optionally category-aware.

Thin ``evaluate`` wrapper over :func:`hf_ecpe.evaluation.ecpe_scores`; see README.md (the metric card).
"""

import datasets
import evaluate

from hf_ecpe.evaluation.pairs import REFERENCE_EPSILON, ecpe_module_columns, ecpe_scores

_CITATION = """\
@inproceedings{xia-ding-2019-emotion,
  title = {Emotion-Cause Pair Extraction: A New Task to Emotion Analysis in Texts},
  author = {Xia, Rui and Ding, Zixiang},
  booktitle = {Proceedings of ACL},
  year = {2019}
}
@inproceedings{wang-etal-2024-semeval,
  title = {{S}em{E}val-2024 Task 3: Multimodal Emotion Cause Analysis in Conversations},
  author = {Wang, Fanfan and Ma, Heqing and Xia, Rui and Yu, Jianfei and Cambria, Erik},
  booktitle = {Proceedings of SemEval-2024},
  year = {2024}
}
"""

_DESCRIPTION = """\
Emotion-cause pair extraction scores. Pairs are matched per example as sets of (emotion_index, cause_index); precision,
recall and F1 are micro over the corpus, with 1e-8 added to every denominator (RankCP/A2Net `eval_func`). Emotion and
cause scores are the projections of the pair sets. Pairs given as [emotion, cause, category] also get category-aware
micro scores and SemEval-2024 subtask-2 gold-share-weighted scores ("neutral" is never scored).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of pairs): per example the predicted pairs, each `[emotion_index, cause_index]` or
        `[emotion_index, cause_index, category]` (0-based unit indices; ints or digit strings; one form per corpus).
    references (`list` of `list` of pairs): per example the gold pairs, in the same form.
    num_units (`int` or `list` of `int`, optional): units per example; indices must be below it.
    categories (`list` of `str`, optional): allowed categories (default: the seven ECF/SemEval classes).
    weighted_categories (`list` of `str`, optional): categories of the weighted average (default: all but neutral).
    with_categories (`bool`, optional): None = category scores when pairs carry categories; True = always (even
        for a corpus without pairs); False = ignore categories.
    epsilon (`float`, default 1e-8): added to every denominator, as the reference scorers do; 0 gives exact ratios.
Returns:
    pair_precision, pair_recall, pair_f1, emotion_precision, emotion_recall, emotion_f1, cause_precision,
    cause_recall, cause_f1; with categories also category_pair_precision/recall/f1 and weighted_precision/recall/f1.
Examples:
    >>> ecpe = evaluate.load("metrics/ecpe")
    >>> ecpe.compute(predictions=[[[2, 1], [2, 2]]], references=[[[2, 1]]])["pair_precision"]
    0.49999999875
"""

# A pair is stored as a list of strings so that [e, c] and [e, c, "category"] share one Arrow type; indices are
# turned back into ints (and validated) by ecpe_scores.
_PAIRS = datasets.List(datasets.List(datasets.Value("string")))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Ecpe(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": _PAIRS, "references": _PAIRS}),
            reference_urls=[
                "https://github.com/Determined22/Rank-Emotion-Cause",
                "https://github.com/NUSTM/SemEval-2024_ECAC",
            ],
        )

    # evaluate appends the inputs description to these docstrings, so they must exist. Pairs are checked before they
    # are stored as strings (True -> "True", 1.5 -> "1.5"), so the module refuses exactly what ecpe_scores refuses.
    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Add a batch of examples (pairs may hold ints or strings)."""
        predictions, references = ecpe_module_columns(predictions, references)
        super().add_batch(predictions=predictions, references=references, **kwargs)

    def add(self, *, prediction=None, reference=None, **kwargs):
        """Add one example (pairs may hold ints or strings)."""
        predictions, references = ecpe_module_columns(
            None if prediction is None else [prediction], None if reference is None else [reference]
        )
        super().add(
            prediction=None if predictions is None else predictions[0],
            reference=None if references is None else references[0],
            **kwargs,
        )

    def _compute(
        self,
        predictions,
        references,
        num_units=None,
        categories=None,
        weighted_categories=None,
        with_categories=None,
        epsilon=REFERENCE_EPSILON,
    ):
        return ecpe_scores(
            predictions,
            references,
            num_units=num_units,
            categories=categories,
            weighted_categories=weighted_categories,
            with_categories=with_categories,
            epsilon=epsilon,
        )
