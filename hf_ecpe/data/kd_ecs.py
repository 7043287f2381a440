"""KD-ECS training data: candidate-pair examples with gold labels, datasets and the training collator (the library
side of ``hf_ecpe.models.kd_ecs``).

One example per candidate pair (u_i, u_j), j <= i, of a conversation (RECCON's questions include j = i). Targets
``i``: every utterance (``candidate_targets="all"``, what inference sees: neutral targets teach "no cause") or only
the utterances whose gold emotion is not neutral (``"emotional"``: RECCON's question set, the paper's 27,917
training pairs).

Prompts (history truncation included), tokenizer binding, prompt batches and decoding live in the model folder,
``hf_ecpe.models.kd_ecs.processing_kd_ecs`` (what ``model.predict`` runs, shipped as remote code); this module builds
the training examples on them (:func:`pair_examples` = :func:`conversation_examples` + gold labels) and re-exports
the ones the training and evaluation code use.

**Gold spans**: a pair's ``cause_span`` (characters in u_j); a pair without one (ECF, synthetic data) takes the
whole utterance. Several spans for one (i, j) keep the first (RECCON's scorer reads the first answer).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from hf_ecpe.data.schema import NEUTRAL, NO_SPAN
from hf_ecpe.models.kd_ecs.configuration_kd_ecs import CANDIDATE_TARGETS
from hf_ecpe.models.kd_ecs.modeling_kd_ecs import IGNORE_INDEX
from hf_ecpe.models.kd_ecs.processing_kd_ecs import (
    PromptCollator,
    build_prompt,
    conversation_examples,
    decode_conversation,
    is_student,
    pad_prompts,
    predict_examples,
    prepare_tokenizer,
    whole_unit,
)

logger = logging.getLogger(__name__)

#: Columns of a prepared example (one candidate pair).
EXAMPLE_COLUMNS = (
    "id",
    "emotion_index",
    "cause_index",
    "units",
    "speakers",
    "emotion",
    "relation",
    "cause_span",
    "input_ids",
    "cause_token_range",
    "cause_offsets",
    "start_position",
    "end_position",
    "length",
)


# ---------------------------------------------------------------------------------------------------------------
# Examples
# ---------------------------------------------------------------------------------------------------------------


def span_token_positions(cause_offsets: Sequence[Sequence[int]], first: int, span: Sequence[int]) -> tuple[int, int]:
    """Prompt token positions (start, end inclusive) of the character span ``[cs, ce)`` of u_j."""
    cs, ce = int(span[0]), int(span[1])
    inside = [k for k, (a, b) in enumerate(cause_offsets) if b > a and a < ce and b > cs]
    if not inside:
        raise ValueError(f"character span {[cs, ce]} covers no token of its utterance")
    return first + inside[0], first + inside[-1]


def gold_relations(row: Mapping[str, Any]) -> dict[tuple[int, int], list[int]]:
    """(emotion, cause) → the first gold cause span (whole utterance when the corpus gives none); pairs with the cause
    after the emotion are not candidates and are skipped."""
    relations: dict[tuple[int, int], list[int]] = {}
    n = len(row["units"])
    for number, pair in enumerate(row.get("pairs") or []):
        if isinstance(pair, Mapping):
            i, j, span = int(pair["emotion"]), int(pair["cause"]), list(pair.get("cause_span") or NO_SPAN)
        elif isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2:
            (i, j), span = (int(pair[0]), int(pair[1])), list(NO_SPAN)  # 0-based (emotion, cause), no span
        else:
            raise ValueError(f"row {row.get('id')!r}: pair {number} must be a canonical pair dict or (emotion, cause)")
        if not (0 <= i < n and 0 <= j < n):
            raise ValueError(f"row {row.get('id')!r}: pair {number} {(i, j)} is outside the {n} units")
        if j > i:
            continue
        if span == NO_SPAN:
            span = whole_unit(row["units"][j])
        relations.setdefault((i, j), span)
    return relations


def target_utterances(row: Mapping[str, Any], candidate_targets: str) -> list[int]:
    emotions = row.get("emotions") or []
    if candidate_targets == "emotional":
        if len(emotions) != len(row["units"]):
            raise ValueError("candidate_targets='emotional' needs the gold 'emotions' of every utterance")
        return [i for i, emotion in enumerate(emotions) if emotion != NEUTRAL]
    if candidate_targets != "all":
        raise ValueError(f"candidate_targets must be one of {CANDIDATE_TARGETS}, got {candidate_targets!r}")
    return list(range(len(row["units"])))


def pair_examples(
    row: Mapping[str, Any], config: Any, tokenizer: Any, candidate_targets: str = "all", *, labelled: bool = True
) -> list[dict[str, Any]]:
    """One example per candidate pair of a canonical row (columns :data:`EXAMPLE_COLUMNS`): the prompts of
    :func:`conversation_examples` for the targets of ``candidate_targets`` plus, with ``labelled``, the gold labels
    (``relation``: 1 / 0, or -100 when the row has no ``pairs``; ``cause_span``; ``start_position`` /
    ``end_position``: the span's prompt token positions, -100 without a span)."""
    relations = gold_relations(row) if labelled else {}
    has_pairs = labelled and "pairs" in row
    prompts = conversation_examples(
        config,
        tokenizer,
        row["units"],
        row.get("speakers"),
        row.get("emotions"),
        target_utterances(row, candidate_targets),
        conversation_id=str(row.get("id", "")),
        where=f"row {row.get('id')!r}",
    )
    examples = []
    for prompt in prompts:
        span = relations.get((prompt["emotion_index"], prompt["cause_index"]))
        start = end = IGNORE_INDEX
        if span is not None:
            start, end = span_token_positions(prompt["cause_offsets"], prompt["cause_token_range"][0], span)
        labels = {
            "relation": (1 if span is not None else 0) if has_pairs else IGNORE_INDEX,
            "cause_span": list(span) if span is not None else list(NO_SPAN),
            "start_position": start,
            "end_position": end,
        }
        examples.append({name: labels[name] if name in labels else prompt[name] for name in EXAMPLE_COLUMNS})
    return examples


def prepare_dataset(dataset: Any, config: Any, tokenizer: Any, split: str = "train") -> Any:
    """``MethodSpec.prepare_dataset``: canonical rows → one row per candidate pair (columns :data:`EXAMPLE_COLUMNS`),
    targets by ``config.candidate_targets``; the tokenizer is bound first (student tokens, verbaliser ids)."""
    from datasets import Dataset

    prepare_tokenizer(tokenizer, config)
    targets = getattr(config, "candidate_targets", "all")
    rows = [example for row in dataset for example in pair_examples(row, config, tokenizer, targets)]
    if not rows:
        raise ValueError(f"the {split} split gives no candidate pair (candidate_targets={targets!r})")
    logger.info("KD-ECS: %d %s rows -> %d candidate-pair prompts", len(dataset), split, len(rows))
    return Dataset.from_list(rows)


# ---------------------------------------------------------------------------------------------------------------
# Collators
# ---------------------------------------------------------------------------------------------------------------


class KdEcsCollator(PromptCollator):
    """Batches KD-ECS examples for the teacher or the student (by the config's class).

    Rows are prepared examples (:func:`prepare_dataset`) or canonical conversation rows, expanded here to all their
    candidate pairs (``candidate_targets="all"``). The prompt batch of :class:`PromptCollator` (right-padded
    ``input_ids`` / ``attention_mask``, the student's ``cause_token_mask``: what prediction reads), labels when the rows have them (``emotion_labels``, ``relation_labels``,
    ``start_positions``, ``end_positions``), ``teacher_logits`` from a cached column, and — with ``teacher_tokenizer``
    and ``teacher_config`` and no cached logits — the teacher's prompts as ``teacher_input_ids`` /
    ``teacher_attention_mask``.
    """

    def __init__(self, tokenizer: Any, config: Any, teacher_tokenizer: Any = None, teacher_config: Any = None) -> None:
        super().__init__(tokenizer, config)
        self.teacher_tokenizer = (
            prepare_tokenizer(teacher_tokenizer, teacher_config) if teacher_tokenizer is not None else None
        )
        self.teacher_config = teacher_config

    def examples(self, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        out: list[Mapping[str, Any]] = []
        for row in rows:
            if "input_ids" in row:
                out.append(row)
            else:
                out.extend(pair_examples(row, self.config, self.tokenizer, "all", labelled="pairs" in row))
        return out

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        examples = self.examples(rows)
        if not examples:
            raise ValueError("KdEcsCollator got no candidate pair")
        batch = self.prompt_batch(examples)
        if is_student(self.config):
            if any(e.get("emotion") for e in examples) and not self.config.given_emotion:
                labels = self.config.emotion_labels
                batch["emotion_labels"] = torch.tensor(
                    [labels.index(e["emotion"]) if e.get("emotion") in labels else IGNORE_INDEX for e in examples]
                )
        if any(int(e.get("relation", IGNORE_INDEX)) != IGNORE_INDEX for e in examples):
            batch["relation_labels"] = torch.tensor([int(e.get("relation", IGNORE_INDEX)) for e in examples])
            if is_student(self.config):
                batch["start_positions"] = torch.tensor([int(e["start_position"]) for e in examples])
                batch["end_positions"] = torch.tensor([int(e["end_position"]) for e in examples])
        if all(e.get("teacher_logits") is not None for e in examples):
            batch["teacher_logits"] = torch.tensor([list(e["teacher_logits"]) for e in examples], dtype=torch.float)
        elif self.teacher_tokenizer is not None:
            prompts = [
                build_prompt(
                    self.teacher_config,
                    self.teacher_tokenizer,
                    e["units"],
                    e["speakers"],
                    int(e["emotion_index"]),
                    int(e["cause_index"]),
                    e.get("emotion") or None,
                    where=f"row {e.get('id')!r}",
                )["input_ids"]
                for e in examples
            ]
            teacher = pad_prompts(prompts, self.teacher_tokenizer.pad_token_id)
            batch["teacher_input_ids"] = teacher["input_ids"]
            batch["teacher_attention_mask"] = teacher["attention_mask"]
        return batch


def collator_factory(tokenizer: Any, config: Any, training_args: Any) -> KdEcsCollator:
    """``MethodSpec.collator``: the student's collator also builds the teacher's prompts when the training arguments
    name a teacher (``teacher_model_name_or_path``) and the config distils."""
    teacher_path = getattr(training_args, "teacher_model_name_or_path", None)
    if is_student(config) and config.uses_teacher and teacher_path:
        from transformers import AutoConfig, AutoTokenizer

        from hf_ecpe._registration import register_models

        register_models()
        return KdEcsCollator(
            tokenizer, config, AutoTokenizer.from_pretrained(teacher_path), AutoConfig.from_pretrained(teacher_path)
        )
    return KdEcsCollator(tokenizer, config)


__all__ = [
    "CANDIDATE_TARGETS",
    "EXAMPLE_COLUMNS",
    "KdEcsCollator",
    "collator_factory",
    "gold_relations",
    "pair_examples",
    "prepare_dataset",
    "span_token_positions",
    "target_utterances",
    # defined in the model folder (hf_ecpe.models.kd_ecs.processing_kd_ecs), used through this module by training
    "build_prompt",
    "decode_conversation",
    "is_student",
    "predict_examples",
    "prepare_tokenizer",
    "whole_unit",
]
