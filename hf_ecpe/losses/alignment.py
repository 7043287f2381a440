"""A2Net's inter-task alignment loss (Chen et al., COLING 2022, Eq. 13): the original.

The A2Net model folder computes it in ``forward`` and, being remote code, carries a checked copy
(``# Copied from hf_ecpe.losses.alignment.<name>``, ``python -m hf_ecpe.tools.check_copies``); other trainers use
this one (``hf_ecpe.losses.inter_task_alignment_loss``).
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from ..modeling_utils import PAIR_LOGIT_FILL, _check_shape

ALIGNMENT_REDUCTIONS = ("reference", "per_document", "paper")
ALIGNMENT_DIRECTIONS = ("both", "ecpe_to_ee_ce", "ee_ce_to_ecpe")


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


def _symmetric(kl_pseudo_pair: torch.Tensor, kl_pair_pseudo: torch.Tensor, direction: str) -> torch.Tensor:
    """Eq. 13's ``1/2 (KL(y~ || y^) + KL(y^ || y~))``, or half of the one term that ``direction`` keeps."""
    if direction == "ecpe_to_ee_ce":
        return 0.5 * kl_pseudo_pair
    if direction == "ee_ce_to_ecpe":
        return 0.5 * kl_pair_pseudo
    return 0.5 * (kl_pseudo_pair + kl_pair_pseudo)


def _masked_log_softmax(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log_softmax over the last dim restricted to ``mask`` (masked entries get a finite, negligible value)."""
    return F.log_softmax(values.masked_fill(~mask, PAIR_LOGIT_FILL), dim=-1)


__all__ = ["ALIGNMENT_DIRECTIONS", "ALIGNMENT_REDUCTIONS", "inter_task_alignment_loss"]
