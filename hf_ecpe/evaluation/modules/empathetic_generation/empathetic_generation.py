"""Empathetic response generation: corpus BLEU, Dist-1/2, optional BERTScore (local model) and emotion accuracy.

Thin ``evaluate`` wrapper over :func:`hf_ecpe.evaluation.empathetic_generation_scores`; see README.md (the card).
"""

import datasets
import evaluate

from hf_ecpe.evaluation.generation import empathetic_generation_scores, generation_texts

_CITATION = """\
@inproceedings{gao-etal-2021-improving-empathetic,
  title = {Improving Empathetic Response Generation by Recognizing Emotion Cause in Conversations},
  author = {Gao, Jun and Liu, Yuhan and Deng, Haolin and Wang, Wei and Cao, Yu and Du, Jiachen and Xu, Ruifeng},
  booktitle = {Findings of EMNLP},
  year = {2021}
}
@inproceedings{post-2018-call,
  title = {A Call for Clarity in Reporting {BLEU} Scores},
  author = {Post, Matt},
  booktitle = {Proceedings of WMT},
  year = {2018}
}
@inproceedings{zhang-etal-2020-bertscore,
  title = {{BERTScore}: Evaluating Text Generation with {BERT}},
  author = {Zhang, Tianyi and Kishore, Varsha and Wu, Felix and Weinberger, Kilian Q. and Artzi, Yoav},
  booktitle = {Proceedings of ICLR},
  year = {2020}
}
"""

_DESCRIPTION = """\
Scores of generated empathetic responses against one reference each: corpus BLEU-4 (sacrebleu defaults, or NLTK
`corpus_bleu` as in Gao et al. 2021), corpus-level Dist-1/Dist-2 over whitespace tokens, BERTScore P/R/F with a
local model directory (never downloaded), and emotion accuracy when emotion labels are given.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str`): generated responses.
    references (`list` of `str`): one gold response per prediction.
    bleu_impl (`str`, default "sacrebleu"): "sacrebleu" or "nltk" (Gao et al. 2021); both on the 0-100 scale.
    bertscore_model (`str`, optional): a local model directory for BERTScore (e.g. roberta-large saved locally).
    bertscore_num_layers (`int`, optional): the layer to use; required with bertscore_model (roberta-large: 17).
    bertscore_baseline_path (`str`, optional): a bert-score baseline CSV; rescales P/R/F when given.
    bertscore_batch_size (`int`, default 64), device (`str`, optional): passed to bert-score.
    emotion_predictions, emotion_references (`list`, optional): one emotion label per example; both or neither.
Returns:
    bleu (0-100), dist_1, dist_2 and, when requested, bertscore_precision, bertscore_recall, bertscore_f1,
    emotion_accuracy.
Examples:
    >>> gen = evaluate.load("metrics/empathetic_generation")
    >>> round(gen.compute(predictions=["i am sorry ."], references=["i am sorry ."])["bleu"], 2)
    100.0
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EmpatheticGeneration(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
            codebase_urls=[
                "https://github.com/A-Rain/EmpDialogue_RecEC",
                "https://github.com/mjpost/sacrebleu",
                "https://github.com/Tiiiger/bert_score",
            ],
        )

    # Texts are checked before Arrow encoding, so None or a number raises MetricInputError naming the example.
    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Add a batch of generated and gold responses."""
        super().add_batch(
            predictions=generation_texts(predictions, what="predictions"),
            references=generation_texts(references, what="references"),
            **kwargs,
        )

    def add(self, *, prediction=None, reference=None, **kwargs):
        """Add one generated and one gold response."""
        if prediction is not None:
            (prediction,) = generation_texts([prediction], what="prediction")
        if reference is not None:
            (reference,) = generation_texts([reference], what="reference")
        super().add(prediction=prediction, reference=reference, **kwargs)

    def _compute(
        self,
        predictions,
        references,
        bleu_impl="sacrebleu",
        bertscore_model=None,
        bertscore_num_layers=None,
        bertscore_baseline_path=None,
        bertscore_batch_size=64,
        device=None,
        emotion_predictions=None,
        emotion_references=None,
    ):
        return empathetic_generation_scores(
            predictions,
            references,
            bleu_impl=bleu_impl,
            bertscore_model=bertscore_model,
            bertscore_num_layers=bertscore_num_layers,
            bertscore_baseline_path=bertscore_baseline_path,
            bertscore_batch_size=bertscore_batch_size,
            device=device,
            emotion_predictions=emotion_predictions,
            emotion_references=emotion_references,
        )
