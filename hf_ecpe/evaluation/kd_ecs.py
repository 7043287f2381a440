"""KD-ECS scores (the runner is ``hf_ecpe.trainers.kd_ecs.evaluate_kd_ecs``; the trainers report the same numbers).

- :func:`kd_ecs_scores`: the RECCON scores of per-prompt predictions (``reccon_span``: EM, Pos./Neg. F1 over every
  candidate pair of the gold emotion utterances, negatives without span; ``cause_entailment``: utterance-level
  Pos./Neg./macro F1; Emo Acc);
- :func:`span_pair_scores`: the SemEval-2024 subtask-1 scores (``ecpe_span``: official strict / proportional) and the
  triplet scores of the triplet-LLM benchmark of decoded conversations (:class:`SpanPairPrediction`).

The predictions come from the model folder's ``predict_examples`` / ``decode_conversation``
(``hf_ecpe.models.kd_ecs.processing_kd_ecs``), the functions ``model.predict`` runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..data.kd_ecs import gold_relations
from ..data.schema import NEUTRAL
from ..data.spans import char_span_to_token_span
from ..models.kd_ecs.modeling_kd_ecs import IGNORE_INDEX
from ..models.kd_ecs.processing_kd_ecs import SpanPairPrediction, aggregate_emotions, is_student, whole_unit
from .classification import cause_entailment_scores, emotion_accuracy
from .reccon import reccon_span_scores
from .spans import semeval_span_scores
from .triplets import triplet_scores


def _question_texts(example: Mapping[str, Any], prediction: Mapping[str, Any], causal: bool) -> tuple[str, str]:
    unit = example["units"][int(example["cause_index"])]
    relation = int(example["relation"]) == 1
    gold = unit[int(example["cause_span"][0]) : int(example["cause_span"][1])] if relation else ""
    if not causal:
        return "", gold
    span = prediction.get("span")
    predicted = unit[span[0] : span[1]] if span else unit.strip()
    return predicted, gold


def kd_ecs_scores(
    examples: Sequence[Mapping[str, Any]],
    predictions: Sequence[Mapping[str, Any]],
    config: Any,
    threshold: float | None = None,
) -> dict[str, float]:
    """RECCON scores of KD-ECS predictions over prepared examples (``predict_examples`` of the model folder).

    Questions: every labelled candidate pair (u_i, u_j) whose target u_i has a non-neutral gold emotion (RECCON's
    question set); a cause question's gold is its span text, a no-cause question's is ``""``; the prediction is the
    decoded span (the whole utterance for the teacher) when the causal probability exceeds the threshold, else
    ``""``. Returns ``exact_match_pos``, ``f1_pos``, ``f1_neg``, ``f1_all``, ``span_macro_f1`` (mean of the Pos. and
    Neg. F1: the paper's macro_F1), ``utterance_{pos,neg,macro}_f1`` (the paper's ECPE columns), ``emotion_accuracy``
    (every target utterance, emotion = argmax of its mean logits) and ``e2e_*`` (the same span scores when a target
    predicted neutral gets no cause), plus the question counts.
    """
    threshold = config.decode_threshold if threshold is None else float(threshold)
    student = is_student(config)
    emotions = aggregate_emotions(examples, predictions, config.emotion_labels) if student else {}
    predicted, gold, e2e, predicted_relation, gold_relation = [], [], [], [], []
    for example, prediction in zip(examples, predictions):
        if not example.get("emotion") or example["emotion"] == NEUTRAL or int(example["relation"]) == IGNORE_INDEX:
            continue
        causal = prediction["causal_probability"] > threshold
        text, truth = _question_texts(example, prediction, causal)
        predicted.append(text)
        gold.append(truth)
        predicted_relation.append(int(causal))
        gold_relation.append(int(example["relation"]))
        if student and not config.given_emotion:
            label = emotions.get((example["id"], int(example["emotion_index"])), (None, 0.0))[0]
            e2e.append("" if label == NEUTRAL else text)
    scores: dict[str, float] = {"num_questions": len(gold), "num_cause_questions": sum(map(bool, gold_relation))}
    if gold:
        entailment = cause_entailment_scores(predicted_relation, gold_relation)
        scores.update({f"utterance_{key}": value for key, value in entailment.items()})
        if student:
            spans = reccon_span_scores(predicted, gold)
            scores.update({key: spans[key] for key in ("exact_match_pos", "f1_pos", "f1_neg", "f1_all")})
            scores["span_macro_f1"] = (spans["f1_pos"] + spans["f1_neg"]) / 2
            if e2e:
                spans = reccon_span_scores(e2e, gold)
                scores.update({f"e2e_{key}": spans[key] for key in ("exact_match_pos", "f1_pos", "f1_neg")})
                scores["e2e_span_macro_f1"] = (spans["f1_pos"] + spans["f1_neg"]) / 2
    if student and not config.given_emotion:
        gold_emotions = {(e["id"], int(e["emotion_index"])): e["emotion"] for e in examples if e.get("emotion")}
        keys = [key for key in gold_emotions if key in emotions]
        if keys:
            scores["emotion_accuracy"] = emotion_accuracy(
                [emotions[key][0] for key in keys], [gold_emotions[key] for key in keys]
            )
            scores["num_emotion_utterances"] = len(keys)
    return scores


def span_pair_scores(
    rows: Sequence[Mapping[str, Any]],
    decoded: Sequence[SpanPairPrediction],
    labels: Sequence[str],
    language: str = "en",
) -> dict[str, float]:
    """SemEval-2024 subtask-1 scores (``semeval_span_scores``: official strict / proportional, whitespace-token spans,
    the corpus's non-neutral labels as categories) and the triplet scores of the triplet-LLM benchmark
    (``triplet_scores`` on character spans, emotion span = the whole utterance) of decoded conversations."""

    def token_span(unit: str, span: Sequence[int]) -> tuple[int, int]:
        if span[1] <= span[0]:
            return 0, 0
        return char_span_to_token_span(unit, int(span[0]), int(span[1]), expand=True)

    categories = [label for label in labels if label != NEUTRAL]
    semeval_pred, semeval_gold, triplet_pred, triplet_gold, units = [], [], [], [], []
    for row, result in zip(rows, decoded):
        texts = list(row["units"])
        units.append(texts)
        pred_pairs, gold_pairs, pred_triplets, gold_triplets = [], [], [], []
        for pair in result.pairs:
            i, j = pair.emotion_index, pair.cause_index
            start, end = token_span(texts[j], pair.cause_span)
            pred_pairs.append({"emotion": i, "cause": j, "start": start, "end": end, "category": pair.category})
            emotion_span = whole_unit(texts[i])
            pred_triplets.append(_triplet(i, emotion_span, j, pair.cause_span, pair.category))
        emotions = row.get("emotions") or []
        for (i, j), span in gold_relations(row).items():
            category = next(
                (
                    p["category"]
                    for p in row["pairs"]
                    if int(p["emotion"]) == i and int(p["cause"]) == j and p["category"]
                ),
                emotions[i] if i < len(emotions) else "",
            )
            if category not in categories:
                continue
            start, end = token_span(texts[j], span)
            gold_pairs.append({"emotion": i, "cause": j, "start": start, "end": end, "category": category})
            gold_triplets.append(_triplet(i, whole_unit(texts[i]), j, span, category))
        semeval_pred.append([p for p in pred_pairs if p["category"] in categories])
        semeval_gold.append(gold_pairs)
        triplet_pred.append([t for t in pred_triplets if t["category"] in categories and t["cause_end"] > t["cause_start"]])  # fmt: skip
        triplet_gold.append(gold_triplets)
    scores = {f"semeval_{k}": v for k, v in semeval_span_scores(semeval_pred, semeval_gold, categories=categories).items()}  # fmt: skip
    scores.update({f"triplet_{k}": v for k, v in triplet_scores(triplet_pred, triplet_gold, units, language=language).items()})  # fmt: skip
    return scores


def _triplet(i: int, emotion_span: Sequence[int], j: int, cause_span: Sequence[int], category: str) -> dict:
    return {
        "emotion_unit": i,
        "emotion_start": int(emotion_span[0]),
        "emotion_end": int(emotion_span[1]),
        "cause_unit": j,
        "cause_start": int(cause_span[0]),
        "cause_end": int(cause_span[1]),
        "category": category,
    }


__all__ = ["kd_ecs_scores", "span_pair_scores"]
