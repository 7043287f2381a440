"""Collators: canonical rows (:mod:`hf_ecpe.data.schema`) -> model batches."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase
from transformers.utils import logging

from hf_ecpe.prediction import check_unit_tokenizer, unit_token_tensors

from .schema import BASIC_EMOTION_MAP, normalize_emotion

logger = logging.get_logger(__name__)


@dataclass
class ClauseCollator:
    """Batch documents for clause-level ECPE models (A2Net; RankCP-style input).

    Each document becomes ONE token sequence ``[CLS] u1 [SEP] [CLS] u2 [SEP] ...`` (the tokenizer's own
    ``cls_token_id`` / ``sep_token_id``, e.g. ``<s> u1 </s> <s> u2 </s>`` for MPNet or RoBERTa; units tokenised
    without special tokens) with segment ids alternating 0/1 per unit, as the A2Net/RankCP reference, for encoders
    that have segment embeddings. Documents are never truncated: sequences may be longer than the encoder's window,
    which the model handles by windowing.

    Args:
        tokenizer: the encoder's tokenizer (must define a CLS and a SEP token).
        max_unit_tokens: off by default (every token kept). When set, a unit longer than ``max_unit_tokens`` tokens
            *including* its ``[CLS]`` and ``[SEP]`` keeps only its first ``max_unit_tokens - 2`` word pieces (a warning
            says how many units were cut). Use it when a single unit is longer than the encoder's window.
        emotion_categories: the category labels of a model with a category head (its
            ``config.emotion_categories``); rows with pairs must then also have ``emotions`` (one label per unit,
            normalised with :func:`hf_ecpe.data.schema.normalize_emotion`), and a label outside the list is an error.
        segment_ids: whether to return ``token_type_ids``; default (``None``): when the tokenizer lists them among
            its ``model_input_names`` (BERT-style tokenizers do; MPNet's and RoBERTa's, whose encoders have no
            segment embeddings, do not).

    Returns (B documents, T tokens, N = most units in the batch):
        ``input_ids``, ``attention_mask`` and (see ``segment_ids``) ``token_type_ids``: `(B, T)` long, right-padded;
        ``unit_token_index`` `(B, N)` long: position of each unit's ``[CLS]`` (0 for padding units);
        ``unit_mask`` `(B, N)` bool; and, when every row has ``pairs``: ``emotion_labels`` / ``cause_labels``
        `(B, N)` float (1 for units that are the emotion / the cause of some pair, as the reference derives them) and
        ``pair_labels`` `(B, N, N)` float (1 at ``[emotion, cause]``); with ``emotion_categories`` also
        ``emotion_category_labels`` `(B, N)` long (index of each unit's normalised ``emotions`` label in
        ``emotion_categories``, -100 at padding).

    Rows need ``units`` (list of str); ``pairs`` (list of ``{"emotion": int, "cause": int, ...}`` with 0-based unit
    indices, or ``(emotion, cause)`` pairs) is optional.
    """

    tokenizer: PreTrainedTokenizerBase
    max_unit_tokens: int | None = None
    emotion_categories: Sequence[str] | None = None
    segment_ids: bool | None = None

    def __post_init__(self) -> None:
        if self.segment_ids is None:
            self.segment_ids = "token_type_ids" in getattr(self.tokenizer, "model_input_names", ())
        check_unit_tokenizer(self.tokenizer, self.max_unit_tokens, "ClauseCollator")

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        if len(rows) == 0:
            raise ValueError("ClauseCollator got an empty batch")
        unit_lists = [self._units(row, index) for index, row in enumerate(rows)]
        with_pairs = [row.get("pairs") is not None for row in rows]
        if any(with_pairs) and not all(with_pairs):
            missing = [_row_name(row, index) for index, row in enumerate(rows) if row.get("pairs") is None]
            raise ValueError(
                f"rows {missing} have no 'pairs' while other rows of the batch do; give pairs for every row "
                "(training / evaluation) or for none (inference)"
            )

        tensors, truncated = unit_token_tensors(self.tokenizer, unit_lists, self.max_unit_tokens)
        if truncated:
            logger.warning(
                "ClauseCollator: cut %d unit(s) to max_unit_tokens=%d tokens", truncated, self.max_unit_tokens
            )
        batch, units_max = tensors["unit_mask"].shape
        input_ids, attention_mask, token_type_ids = (
            tensors[k] for k in ("input_ids", "attention_mask", "token_type_ids")
        )
        unit_token_index, unit_mask = tensors["unit_token_index"], tensors["unit_mask"]
        output = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self.segment_ids:
            output["token_type_ids"] = token_type_ids
        output.update(unit_token_index=unit_token_index, unit_mask=unit_mask)
        if all(with_pairs):
            emotion_labels = torch.zeros((batch, units_max), dtype=torch.float)
            cause_labels = torch.zeros((batch, units_max), dtype=torch.float)
            pair_labels = torch.zeros((batch, units_max, units_max), dtype=torch.float)
            for doc, row in enumerate(rows):
                for emotion, cause in _pair_indices(row, doc, len(unit_lists[doc])):
                    emotion_labels[doc, emotion] = 1.0
                    cause_labels[doc, cause] = 1.0
                    pair_labels[doc, emotion, cause] = 1.0
            output.update(emotion_labels=emotion_labels, cause_labels=cause_labels, pair_labels=pair_labels)
            if self.emotion_categories is not None:
                output["emotion_category_labels"] = self._category_labels(rows, unit_lists, units_max)
        return output

    def _category_labels(
        self, rows: Sequence[Mapping[str, Any]], unit_lists: list[list[str]], units_max: int
    ) -> torch.Tensor:
        """`(B, N)` long: index of each unit's normalised emotion label in ``emotion_categories``; -100 at padding."""
        index = {name: k for k, name in enumerate(self.emotion_categories)}
        labels = torch.full((len(rows), units_max), -100, dtype=torch.long)
        for doc, row in enumerate(rows):
            emotions = row.get("emotions")
            if emotions is None or isinstance(emotions, str) or len(emotions) != len(unit_lists[doc]):
                got = "none" if emotions is None else f"{type(emotions).__name__} of length {len(emotions)}"
                raise ValueError(
                    f"row {_row_name(row, doc)}: a model with emotion categories needs 'emotions', one label per "
                    f"unit ({len(unit_lists[doc])}), got {got}"
                )
            for number, label in enumerate(emotions):
                name = normalize_emotion(label) if isinstance(label, str) else label
                if name not in index and isinstance(label, str):
                    # a corpus spelling of a basic emotion ("happiness") for a model in that vocabulary ("joy")
                    basic = BASIC_EMOTION_MAP.get(name, name)
                    name = basic if basic in index else name
                if name not in index:
                    raise ValueError(
                        f"row {_row_name(row, doc)}: unit {number} has emotion {label!r}, which is not one of the "
                        f"model's categories {list(self.emotion_categories)}; map it to one of them or build the "
                        "model with a category list that includes it"
                    )
                labels[doc, number] = index[name]
        return labels

    @staticmethod
    def _units(row: Mapping[str, Any], index: int) -> list[str]:
        if not isinstance(row, Mapping):
            raise ValueError(f"ClauseCollator expects rows as dicts with a 'units' list, got {type(row).__name__}")
        units = row.get("units")
        if units is None:
            raise ValueError(f"row {_row_name(row, index)} has no 'units' column (list of clause/utterance strings)")
        if isinstance(units, str) or not isinstance(units, Sequence):
            raise ValueError(
                f"row {_row_name(row, index)}: 'units' must be a list of strings, got {type(units).__name__}"
            )
        if len(units) == 0:
            raise ValueError(f"row {_row_name(row, index)} has no units (empty 'units' list)")
        for number, unit in enumerate(units):
            if not isinstance(unit, str):
                raise ValueError(f"row {_row_name(row, index)}: unit {number} is {type(unit).__name__}, not a string")
        return list(units)


def _row_name(row: Mapping[str, Any], index: int) -> str:
    row_id = row.get("id") if isinstance(row, Mapping) else None
    return f"{index} (id={row_id!r})" if row_id is not None else str(index)


def _pair_indices(row: Mapping[str, Any], index: int, unit_count: int) -> list[tuple[int, int]]:
    """0-based ``(emotion, cause)`` of the row's pairs (dicts of the canonical schema or 2-sequences), validated."""
    result = []
    for number, pair in enumerate(row["pairs"]):
        if isinstance(pair, Mapping):
            if "emotion" not in pair or "cause" not in pair:
                raise ValueError(
                    f"row {_row_name(row, index)}: pair {number} needs 'emotion' and 'cause' keys: {pair!r}"
                )
            emotion, cause = pair["emotion"], pair["cause"]
        elif isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2:
            emotion, cause = pair
        else:
            raise ValueError(
                f"row {_row_name(row, index)}: pair {number} must be a dict with 'emotion'/'cause' or an "
                f"(emotion, cause) pair, got {pair!r}"
            )
        for name, value in (("emotion", emotion), ("cause", cause)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < unit_count:
                raise ValueError(
                    f"row {_row_name(row, index)}: pair {number} has {name} index {value!r}; 0-based unit indices "
                    f"in [0, {unit_count}) are expected"
                )
        result.append((int(emotion), int(cause)))
    return result


__all__ = ["ClauseCollator"]
