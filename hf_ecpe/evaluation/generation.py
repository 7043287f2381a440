"""Scores for emotion–cause-aware empathetic response generation (Gao et al. 2021 and peers).

Reference: ``A-Rain/EmpDialogue_RecEC`` ``hard_gen/main.py::calc_metrics`` and ``hard_gen/metric_utils.py``.

- **BLEU** (0–100): by default sacrebleu's ``corpus_bleu`` with its defaults (13a tokenisation, exponential
  smoothing, case-sensitive, corpus-level counts, brevity penalty from summed lengths); ``bleu_impl="nltk"``
  reproduces NLTK ``corpus_bleu`` on whitespace tokens as Gao et al. use it (weights ``(0.25,) * 4``, no smoothing,
  ×100). The two differ: NLTK counts ``max(1, #n-grams)`` per segment, so very short hypotheses enlarge its totals.
- **Dist-1 / Dist-2** (0–1): corpus-level distinct n-grams / all n-grams over the whitespace tokens of every
  prediction (Gao's ``calc_diversity``); n-grams never cross predictions. With no n-gram at all the ratio is 0.0
  (the reference divides by zero). This is neither the per-sentence average nor Li et al.'s (2016) distinct n-grams
  / total tokens.
- **BERTScore** (optional): ``bert_score.score`` with a *local* model directory (``model_type=<dir>``,
  ``num_layers``), idf off, mean P/R/F over predictions; with a baseline file the values are rescaled
  ``(x - b) / (1 - b)`` with row ``num_layers`` of the file, as ``rescale_with_baseline=True`` does. Gao et al. use
  roberta-large, layer 17, rescaled. A prediction or reference that is empty after ``strip()`` scores raw
  P = R = F = 0 (bert-score's rule, applied here because bert-score 0.3.13 crashes on empty strings with
  transformers 5), then the same rescaling.
- **Emotion accuracy** (optional, 0–1): :func:`hf_ecpe.evaluation.emotion_accuracy`, the share of examples whose
  predicted emotion label equals the gold one, over all examples (Gao et al. average texar's per-batch accuracies;
  with batches of unequal size the two differ slightly).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._validation import MetricInputError, check_same_length, input_error
from .classification import emotion_accuracy

BLEU_IMPLEMENTATIONS = ("sacrebleu", "nltk")


def generation_texts(column: Any, *, what: str) -> Any:
    """Check that ``column`` is a list of texts (``str``; ``""`` for an empty response); ``None`` passes unchanged."""
    if column is None:
        return None
    if isinstance(column, (str, bytes)) or not hasattr(column, "__len__"):
        raise input_error(what, None, f"expected one text per example (a list of str), got {column!r:.80}")
    for i, text in enumerate(column):
        if not isinstance(text, str):
            raise input_error(what, i, f"expected a text (str; '' for an empty response), got {text!r}")
    return list(column)


def corpus_bleu(predictions: Sequence[str], references: Sequence[str], *, impl: str = "sacrebleu") -> float:
    """Corpus BLEU-4 on the 0–100 scale with one reference per prediction (see the module docstring for ``impl``).

    An empty corpus scores 0.0 (sacrebleu raises on it).
    """
    check_same_length({"predictions": predictions, "references": references})
    hyps, refs = generation_texts(predictions, what="predictions"), generation_texts(references, what="references")
    if impl not in BLEU_IMPLEMENTATIONS:
        raise MetricInputError(f"bleu_impl: expected one of {BLEU_IMPLEMENTATIONS}, got {impl!r}")
    if not hyps:
        return 0.0
    if impl == "sacrebleu":
        import sacrebleu

        return float(sacrebleu.corpus_bleu(hyps, [refs]).score)
    if impl == "nltk":
        from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu

    return 100.0 * float(nltk_corpus_bleu([[r.split()] for r in refs], [h.split() for h in hyps]))


def distinct_n(predictions: Sequence[str], n: int) -> float:
    """Corpus-level Dist-n: distinct n-grams / all n-grams over the whitespace tokens of every prediction (0.0 if
    there is none)."""
    if n < 1:
        raise MetricInputError(f"n: expected a positive n-gram order, got {n}")
    texts = generation_texts(predictions, what="predictions")
    ngrams = list(
        itertools.chain.from_iterable(
            zip(*(tokens[k:] for k in range(n))) for tokens in (text.split() for text in texts)
        )
    )
    return len(set(ngrams)) / len(ngrams) if ngrams else 0.0


def repeated_ngram_share(predictions: Sequence[str], n: int = 3) -> float:
    """Share of predictions in which some n-gram of whitespace tokens occurs twice (0.0 for no prediction): the
    degeneration rate ("i 'm sorry . i 'm sorry .")."""
    if n < 1:
        raise MetricInputError(f"n: expected a positive n-gram order, got {n}")
    texts = generation_texts(predictions, what="predictions")
    if not texts:
        return 0.0
    repeated = 0
    for text in texts:
        tokens = text.split()
        grams = list(zip(*(tokens[k:] for k in range(n))))
        repeated += len(grams) != len(set(grams))
    return repeated / len(texts)


def _baseline_row(baseline_path: str | Path, num_layers: int) -> list[float]:
    """Row ``num_layers`` (0-based data row, as bert-score's ``iloc[num_layers]``) of a baseline CSV: ``P, R, F``."""
    with open(baseline_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    data = rows[1:]  # header: LAYER,P,R,F
    if num_layers >= len(data) or len(data[num_layers]) < 4:
        raise MetricInputError(
            f"bertscore_baseline_path: {baseline_path} has no row for layer {num_layers} "
            "(expected a CSV with header LAYER,P,R,F and one row per layer from 0)"
        )
    return [float(value) for value in data[num_layers][1:4]]


def bert_score_means(
    predictions: Sequence[str],
    references: Sequence[str],
    *,
    model_path: str | Path,
    num_layers: int,
    baseline_path: str | Path | None = None,
    batch_size: int = 64,
    device: str | None = None,
) -> dict[str, float]:
    """Mean BERTScore P/R/F over predictions with a local model directory (never downloads; see module docstring).

    Returns ``bertscore_precision``, ``bertscore_recall``, ``bertscore_f1`` (rescaled when ``baseline_path`` is given).
    """
    check_same_length({"predictions": predictions, "references": references})
    hyps, refs = generation_texts(predictions, what="predictions"), generation_texts(references, what="references")
    model_dir = Path(model_path)
    if not model_dir.is_dir():
        raise MetricInputError(
            f"bertscore_model: {model_path!r} is not a local directory; pass the folder of a saved model and "
            "tokenizer (e.g. roberta-large saved with save_pretrained) — nothing is downloaded"
        )
    if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
        raise MetricInputError(
            f"bertscore_num_layers: expected a positive int (roberta-large: 17), got {num_layers!r}"
        )
    if baseline_path is not None and not Path(baseline_path).is_file():
        raise MetricInputError(f"bertscore_baseline_path: {baseline_path!r} is not a file")
    baseline = None if baseline_path is None else _baseline_row(baseline_path, num_layers)
    if not hyps:
        return {"bertscore_precision": 0.0, "bertscore_recall": 0.0, "bertscore_f1": 0.0}
    try:
        import bert_score
        import torch
        from transformers import AutoTokenizer
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("BERTScore needs `bert-score`: pip install 'hf-ecpe[metrics]'") from err

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    if tokenizer.model_max_length > 1_000_000:
        raise MetricInputError(
            f"bertscore_model: the tokenizer in {model_dir} has no model_max_length (bert-score truncates to it); "
            "set it, e.g. tokenizer.model_max_length = 512, and save_pretrained again"
        )
    raw = torch.zeros(len(hyps), 3)
    scored = [i for i, (h, r) in enumerate(zip(hyps, refs)) if h.strip() and r.strip()]
    if scored:
        p, r, f = bert_score.score(
            [hyps[i] for i in scored],
            [refs[i] for i in scored],
            model_type=str(model_dir),
            num_layers=num_layers,
            idf=False,
            batch_size=batch_size,
            device=device,
        )
        raw[scored] = torch.stack([p, r, f], dim=-1).float()
    if baseline is not None:  # bert-score: float64 row -> float32, then (x - b) / (1 - b) in float32
        baselines = torch.tensor(baseline, dtype=torch.float64).float()
        raw = (raw - baselines) / (1 - baselines)
    means = raw.mean(dim=0)
    return {
        "bertscore_precision": float(means[0]),
        "bertscore_recall": float(means[1]),
        "bertscore_f1": float(means[2]),
    }


def empathetic_generation_scores(
    predictions: Sequence[str],
    references: Sequence[str],
    *,
    bleu_impl: str = "sacrebleu",
    bertscore_model: str | Path | None = None,
    bertscore_num_layers: int | None = None,
    bertscore_baseline_path: str | Path | None = None,
    bertscore_batch_size: int = 64,
    device: str | None = None,
    emotion_predictions: Sequence[str] | None = None,
    emotion_references: Sequence[str] | None = None,
) -> dict[str, float]:
    """BLEU, Dist-1/2 and, when asked, BERTScore and emotion accuracy of generated responses.

    Args:
        predictions, references: one generated and one gold response per example (pre-tokenised text is fine).
        bleu_impl: ``"sacrebleu"`` (default) or ``"nltk"`` (Gao et al. 2021).
        bertscore_model, bertscore_num_layers, bertscore_baseline_path: a local model directory, the layer to use
            (required with a model) and an optional rescale-baseline CSV.
        emotion_predictions, emotion_references: per example emotion labels; both or neither.

    Returns:
        ``bleu`` (0–100), ``dist_1``, ``dist_2`` and, when computed, ``bertscore_precision``, ``bertscore_recall``,
        ``bertscore_f1``, ``emotion_accuracy``.
    """
    n = check_same_length({"predictions": predictions, "references": references})
    results = {
        "bleu": corpus_bleu(predictions, references, impl=bleu_impl),
        "dist_1": distinct_n(predictions, 1),
        "dist_2": distinct_n(predictions, 2),
    }
    if bertscore_model is not None:
        if bertscore_num_layers is None:
            raise MetricInputError(
                "bertscore_num_layers: required with bertscore_model (bert-score has no default for a local model; "
                "roberta-large as in Gao et al.: 17)"
            )
        results.update(
            bert_score_means(
                predictions,
                references,
                model_path=bertscore_model,
                num_layers=bertscore_num_layers,
                baseline_path=bertscore_baseline_path,
                batch_size=bertscore_batch_size,
                device=device,
            )
        )
    elif bertscore_num_layers is not None or bertscore_baseline_path is not None:
        raise MetricInputError("bertscore_num_layers / bertscore_baseline_path given without bertscore_model")
    if (emotion_predictions is None) != (emotion_references is None):
        raise MetricInputError("pass both emotion_predictions and emotion_references, or neither")
    if emotion_predictions is not None:
        if len(emotion_predictions) != n:
            raise MetricInputError(
                f"emotion_predictions has {len(emotion_predictions)} entries for {n} predictions; give one per example"
            )
        results["emotion_accuracy"] = emotion_accuracy(emotion_predictions, emotion_references)
    return results


__all__ = [
    "BLEU_IMPLEMENTATIONS",
    "bert_score_means",
    "corpus_bleu",
    "distinct_n",
    "empathetic_generation_scores",
    "generation_texts",
    "repeated_ngram_share",
]
