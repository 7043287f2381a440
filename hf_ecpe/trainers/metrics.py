"""``compute_metrics`` for pair models in the ``Trainer``: decode the pair logits, score them with the ``ecpe`` metric.

The Trainer concatenates per-batch predictions along the batch axis and pads only the *second* axis (with -100),
so a ``(B, N, N)`` pair matrix whose ``N`` changes from batch to batch cannot travel as is. :func:`pack_predictions`
and :func:`pack_labels` therefore flatten, per document, the ``n × n`` block of its real units into the first
``n²`` columns of a ``(B, N²)`` row and send ``n`` along; :func:`unpack` reverses that on the gathered arrays.

:class:`EcpeComputeMetrics` then decodes every document as the models' ``predict`` does
(:func:`hf_ecpe.prediction.decode_document`: the model's own ``decode_pairs``, its configured
strategy; with the sentiment lexicon of ``EcpeTrainingArguments.decode_lexicon`` when one is set, which the trainer
packs as a ``(B, N)`` mask after the predictions) and reports, with :func:`hf_ecpe.evaluation.pairs.ecpe_scores`,
``pair_*``, ``emotion_*`` and ``cause_*`` precision / recall / F1 (emotion and cause as projections of the pair sets,
the RankCP / A2Net scorer), the emotion and cause heads' own F1 (``emotion_head_*``, ``cause_head_*``: σ > 0.5 against
the units of the gold pairs) and A2Net's consistency between heads and pairs
(:func:`hf_ecpe.evaluation.pairs.consistency_scores`). For a model with a category head (``category_logits``) and
gold ``emotion_category_labels`` it adds the category-aware pair scores of the ``ecpe`` metric
(``category_pair_*``: a pair counts when emotion, cause and the emotion utterance's category match; ``weighted_*``:
the SemEval-2024 / MECPE weighted scores) and ``category_accuracy`` over the labelled utterances.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hf_ecpe.evaluation.pairs import consistency_scores, ecpe_scores, prf
from hf_ecpe.losses.rpcl import pair_margins
from hf_ecpe.prediction import decode_document

# Padding value of the packed rows; the unpacking never reads it (it reads the first n or n² entries only).
PACK_PAD = -100.0


def _pack_square(matrix: torch.Tensor, n_units: torch.Tensor) -> torch.Tensor:
    """``(B, N, N)`` → ``(B, N²)`` float: row b holds ``matrix[b, :n_b, :n_b]`` flattened, then padding."""
    batch, width = matrix.shape[0], matrix.shape[1]
    packed = torch.full((batch, width * width), PACK_PAD, dtype=torch.float32, device=matrix.device)
    for b in range(batch):
        n = int(n_units[b])
        packed[b, : n * n] = matrix[b, :n, :n].reshape(-1).float()
    return packed


def pack_predictions(
    outputs: Any, unit_mask: torch.Tensor, lexicon_mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, ...]:
    """Model outputs of one batch → ``(n_units (B,1), emotion_logits (B,N), cause_logits (B,N), pair_logits (B,N²),
    candidate_mask (B,N²))`` and, when the model has a category head, ``category_logits (B,N,C)``, then, when a
    ``lexicon_mask`` `(B, N)` is given (the sentiment units of the reference decoding), that mask; all float32;
    2-way pair logits are packed as their binary margin ``s1 - s0``. Units must be left-aligned
    (``unit_mask[b, :n_b]`` true)."""
    n_units = unit_mask.sum(dim=-1)
    packed = (
        n_units.float().unsqueeze(-1),
        outputs["emotion_logits"].float(),
        outputs["cause_logits"].float(),
        _pack_square(pair_margins(outputs["pair_logits"]), n_units),
        _pack_square(outputs["candidate_mask"], n_units),
    )
    category_logits = outputs.get("category_logits")
    if category_logits is not None:
        packed = (*packed, category_logits.float())
    if lexicon_mask is not None:
        packed = (*packed, lexicon_mask.float())
    return packed


def pack_labels(inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """Gold of one batch → ``(n_units (B,1), pair_labels (B,N²))`` (the emotion/cause labels derive from the pairs)
    and, when the batch has them, ``emotion_category_labels (B,N)`` as float (-100 = no label)."""
    n_units = inputs["unit_mask"].sum(dim=-1)
    packed = (n_units.float().unsqueeze(-1), _pack_square(inputs["pair_labels"], n_units))
    if inputs.get("emotion_category_labels") is not None:
        packed = (*packed, inputs["emotion_category_labels"].float())
    return packed


@dataclass
class DocumentPrediction:
    """One document after unpacking: its unit count and the model's raw scores (numpy, unpadded)."""

    n_units: int
    emotion_logits: np.ndarray  # (n,)
    cause_logits: np.ndarray  # (n,)
    pair_logits: np.ndarray  # (n, n), i = emotion, j = cause
    candidate_mask: np.ndarray  # (n, n) bool
    category_logits: np.ndarray | None = None  # (n, C) for a model with a category head
    lexicon_mask: np.ndarray | None = None  # (n,) bool: sentiment units, when the evaluation has a lexicon

    def pair_probabilities(self) -> np.ndarray:
        """``(n, n)`` float64 P(pair) = sigmoid(pair_logits), computed without overflow."""
        return np.exp(-np.logaddexp(0.0, -self.pair_logits.astype(np.float64)))


def candidate_rankings(
    docs: list[DocumentPrediction], gold: list[list[tuple[int, int]]]
) -> tuple[list[list[float]], list[list[int]], list[int]]:
    """Per document, the P(pair) of every candidate, its 0/1 gold label (same order) and the number of gold pairs
    outside the candidates — the inputs of :func:`hf_ecpe.evaluation.pair_auprc_scores`."""
    scores, labels, unreachable = [], [], []
    for doc, pairs in zip(docs, gold):
        probabilities = doc.pair_probabilities()
        gold_set = set(pairs)
        rows, cols = np.nonzero(doc.candidate_mask)
        scores.append(probabilities[rows, cols].tolist())
        labels.append([int((int(i), int(j)) in gold_set) for i, j in zip(rows, cols)])
        unreachable.append(sum(1 for i, j in gold_set if not doc.candidate_mask[i, j]))
    return scores, labels, unreachable


def _as_tuple(value: Any, expected: int | tuple[int, ...], what: str) -> tuple:
    expected = (expected,) if isinstance(expected, int) else expected
    if not isinstance(value, (tuple, list)) or len(value) not in expected:
        got = f"{type(value).__name__} of length {len(value)}" if isinstance(value, (tuple, list)) else type(value)
        raise ValueError(
            f"EcpeComputeMetrics expected {what} packed by hf_ecpe.trainers.metrics "
            f"({' or '.join(map(str, expected))} arrays), got {got}. "
            "Use it with EcpeTrainer, whose prediction_step packs the model outputs."
        )
    return tuple(np.asarray(v) for v in value)


def unpack(predictions: Any, label_ids: Any | None = None) -> tuple[list[DocumentPrediction], list[list] | None]:
    """Gathered ``EvalPrediction`` arrays → per-document predictions and, with ``label_ids``, gold pair lists."""
    n_units, emotion, cause, pair, candidate, *extra = _as_tuple(predictions, (5, 6, 7), "predictions")
    category = [array for array in extra if array.ndim == 3]  # (B, N, C) category logits
    lexicon = [array for array in extra if array.ndim == 2]  # (B, N) lexicon mask
    docs = []
    for b in range(n_units.shape[0]):
        n = int(round(float(n_units[b, 0])))
        docs.append(
            DocumentPrediction(
                n_units=n,
                emotion_logits=emotion[b, :n],
                cause_logits=cause[b, :n],
                pair_logits=pair[b, : n * n].reshape(n, n),
                candidate_mask=candidate[b, : n * n].reshape(n, n) > 0.5,
                category_logits=category[0][b, :n] if category else None,
                lexicon_mask=lexicon[0][b, :n] > 0.5 if lexicon else None,
            )
        )
    gold = None
    if label_ids is not None:
        label_units, pair_labels, *_ = _as_tuple(label_ids, (2, 3), "label_ids")
        gold = []
        for b in range(label_units.shape[0]):
            n = int(round(float(label_units[b, 0])))
            matrix = pair_labels[b, : n * n].reshape(n, n)
            gold.append([(int(e), int(c)) for e, c in zip(*np.nonzero(matrix > 0.5))])
    return docs, gold


def unpack_gold_categories(label_ids: Any) -> list[np.ndarray] | None:
    """Gathered ``label_ids`` → per document the ``(n,)`` int gold category indices (-100 = no label), or ``None``
    when the labels carry no categories."""
    arrays = _as_tuple(label_ids, (2, 3), "label_ids")
    if len(arrays) == 2:
        return None
    label_units, _, categories = arrays
    return [
        np.rint(categories[b, : int(round(float(label_units[b, 0])))]).astype(np.int64)
        for b in range(label_units.shape[0])
    ]


@dataclass
class EcpeComputeMetrics:
    """``compute_metrics`` for :class:`~hf_ecpe.trainers.EcpeTrainer`: pair / emotion / cause P/R/F1, head F1,
    consistency.

    Args:
        model: the pair model (anything with A2Net's ``decode_pairs`` and ``decode_units``), or a zero-argument
            callable returning it (the trainer passes one, so a model reloaded at the end of training is used).
        unit_threshold: σ threshold of the emotion / cause heads.
        decode_kwargs: overrides for ``decode_pairs`` (``strategy``, ``threshold``, ``top_k``); default: the model
            config's decoding.
    """

    model: Any
    unit_threshold: float = 0.5
    decode_kwargs: dict[str, Any] | None = None

    @classmethod
    def metric_names(cls, config: Any = None) -> frozenset[str]:
        """The names :meth:`__call__` reports for a model with ``config`` (``None``: any pair model, so the category
        scores too); checked against ``metric_for_best_model`` before training."""
        names = set(ecpe_scores([[]], [[]], num_units=[1]))
        names |= {f"{task}_{m}" for task in ("emotion_head", "cause_head") for m in ("precision", "recall", "f1")}
        names |= {"emotion_consistency", "cause_consistency", "predicted_pairs_per_document"}
        if config is None or getattr(config, "emotion_categories", None):
            scores = ecpe_scores([[]], [[]], num_units=[1], categories=["joy"], with_categories=True)
            names |= {key for key in scores if key.startswith(("category_pair_", "weighted_"))}
            names.add("category_accuracy")
        return frozenset(names)

    def _model(self) -> Any:
        model = self.model() if callable(self.model) and not isinstance(self.model, torch.nn.Module) else self.model
        for name in ("decode_pairs", "decode_units"):
            if not hasattr(model, name):
                raise TypeError(f"EcpeComputeMetrics needs a pair model with a {name}() method, got {type(model)}")
        return model

    def decode(self, docs: list[DocumentPrediction]) -> tuple[list[list], list[list[int]], list[list[int]]]:
        """Predicted pairs and head-selected emotion / cause units per document, decoded as ``predict`` decodes
        (:func:`hf_ecpe.prediction.decode_document`)."""
        model = self._model()
        settings = dict(self.decode_kwargs or {})
        settings["decoding"] = settings.pop("strategy", None)  # decode_pairs' name for it
        pairs, emotions, causes = [], [], []
        for doc in docs:
            if doc.n_units == 0:
                pairs.append([]), emotions.append([]), causes.append([])
                continue
            outputs = {
                "pair_logits": torch.from_numpy(doc.pair_logits)[None],
                "candidate_mask": torch.from_numpy(doc.candidate_mask)[None],
                "emotion_logits": torch.from_numpy(doc.emotion_logits)[None],
                "cause_logits": torch.from_numpy(doc.cause_logits)[None],
            }
            decoded = decode_document(
                model, outputs, unit_threshold=self.unit_threshold, lexicon_flags=doc.lexicon_mask, **settings
            )
            pairs.append([(emotion, cause) for emotion, cause, _ in decoded.pairs])
            emotions.append([int(index) for index, _ in decoded.emotion_units])
            causes.append([int(index) for index, _ in decoded.cause_units])
        return pairs, emotions, causes

    def __call__(self, eval_prediction: Any) -> dict[str, float]:
        docs, gold = unpack(eval_prediction.predictions, eval_prediction.label_ids)
        if gold is None:
            raise ValueError("EcpeComputeMetrics needs gold pairs: evaluate on rows with a 'pairs' column")
        predicted, head_emotions, head_causes = self.decode(docs)
        num_units = [doc.n_units for doc in docs]
        metrics = ecpe_scores(predicted, gold, num_units=num_units)
        for task, position, heads in (("emotion_head", 0, head_emotions), ("cause_head", 1, head_causes)):
            correct = predicted_count = gold_count = 0
            for doc_heads, doc_gold in zip(heads, gold):
                gold_units = {pair[position] for pair in doc_gold}
                correct += len(set(doc_heads) & gold_units)
                predicted_count += len(set(doc_heads))
                gold_count += len(gold_units)
            p, r, f = prf(correct, predicted_count, gold_count)
            metrics.update({f"{task}_precision": p, f"{task}_recall": r, f"{task}_f1": f})
        consistency = consistency_scores(predicted, head_emotions, head_causes, num_units=num_units)
        metrics["emotion_consistency"] = consistency["emotion_consistency"]
        metrics["cause_consistency"] = consistency["cause_consistency"]
        metrics["predicted_pairs_per_document"] = float(np.mean([len(p) for p in predicted])) if predicted else 0.0
        gold_categories = unpack_gold_categories(eval_prediction.label_ids)
        if gold_categories is not None and docs and docs[0].category_logits is not None:
            metrics.update(self.category_scores(docs, predicted, gold, gold_categories))
        return metrics

    def category_scores(
        self,
        docs: list[DocumentPrediction],
        predicted: list[list[tuple[int, int]]],
        gold: list[list[tuple[int, int]]],
        gold_categories: list[np.ndarray],
    ) -> dict[str, float]:
        """Category-aware pair scores: each predicted pair takes its emotion utterance's best non-neutral category
        (``decode_categories``), each gold pair the gold label of its emotion utterance."""
        model = self._model()
        names = list(model.config.emotion_categories)
        predicted_triples, gold_triples = [], []
        correct = labelled = 0
        for doc, doc_pairs, doc_gold, labels in zip(docs, predicted, gold, gold_categories):
            if doc.n_units == 0:
                predicted_triples.append([]), gold_triples.append([])
                continue
            unit_mask = torch.ones(1, doc.n_units, dtype=torch.bool)
            decoded = model.decode_categories(torch.from_numpy(doc.category_logits).unsqueeze(0), unit_mask)[0]
            predicted_triples.append([(e, c, decoded[e][0]) for e, c in doc_pairs])
            gold_triples.append([(e, c, names[labels[e]] if labels[e] >= 0 else "neutral") for e, c in doc_gold])
            known = labels >= 0
            correct += int((doc.category_logits.argmax(axis=-1)[known] == labels[known]).sum())
            labelled += int(known.sum())
        scores = ecpe_scores(
            predicted_triples,
            gold_triples,
            num_units=[doc.n_units for doc in docs],
            categories=names,
            with_categories=True,
        )
        result = {k: v for k, v in scores.items() if k.startswith(("category_pair_", "weighted_"))}
        result["category_accuracy"] = correct / labelled if labelled else 0.0
        return result


def select_pair_threshold(
    probabilities: list[np.ndarray], candidate_masks: list[np.ndarray], gold: list[list[tuple[int, int]]]
) -> tuple[float, float]:
    """The decision threshold ``t`` of the ``"threshold"`` decoding (keep candidates with P > t) that maximises the
    micro pair F1 over the documents, and that F1.

    ``probabilities`` / ``candidate_masks``: per document, the ``(n, n)`` P(pair) and candidate matrices; ``gold``: the
    gold pairs (those outside the candidates count in the recall denominator). The threshold lies midway between the
    lowest kept score and the next lower one, so it does not sit on a validation score. No gold pair retrievable
    → ``(0.5, 0.0)``.
    """
    scores, labels = [], []
    total_gold = 0
    for probability, mask, pairs in zip(probabilities, candidate_masks, gold):
        gold_set = set(pairs)
        total_gold += len(gold_set)
        rows, cols = np.nonzero(mask)
        scores.append(probability[rows, cols])
        labels.append(np.array([(int(i), int(j)) in gold_set for i, j in zip(rows, cols)], dtype=np.float64))
    if not scores or total_gold == 0:
        return 0.5, 0.0
    scores_all, labels_all = np.concatenate(scores), np.concatenate(labels)
    if scores_all.size == 0:
        return 0.5, 0.0
    order = np.argsort(-scores_all, kind="mergesort")
    sorted_scores, sorted_labels = scores_all[order], labels_all[order]
    last_of_tie = np.r_[np.nonzero(np.diff(sorted_scores))[0], sorted_scores.size - 1]
    true_positives = np.cumsum(sorted_labels)[last_of_tie]
    predicted = last_of_tie + 1
    f1 = 2 * true_positives / (predicted + total_gold)
    best = int(np.argmax(f1))
    if f1[best] <= 0:
        return 0.5, 0.0
    kept_lowest = float(sorted_scores[last_of_tie[best]])
    next_lower = float(sorted_scores[last_of_tie[best] + 1]) if best + 1 < last_of_tie.size else 0.0
    return (kept_lowest + next_lower) / 2.0, float(f1[best])


def build_compute_metrics(model: Any | Callable[[], Any], **kwargs: Any) -> EcpeComputeMetrics:
    """Shorthand for :class:`EcpeComputeMetrics` (``model`` or a callable returning it)."""
    return EcpeComputeMetrics(model, **kwargs)
