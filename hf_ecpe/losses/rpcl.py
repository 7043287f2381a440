"""RPCL: robust pair-confidence objectives for any pair scorer (training only; inference is unchanged).

Pan et al. 2026, "Learning Robust Pair Confidence for Multimodal Emotion-Cause Pair Extraction". No public code exists;
these functions follow the method description (see ``docs`` and the RPCL issue): a row-wise confidence-difference margin
against hard negatives (CDMR) and a corrupted-view pair-score stability term (CCPS).

Shapes: B documents/conversations, N units, pair tensors indexed ``[b, i, j]`` with i = emotion unit, j = cause unit.
Pair logits may be 2-way ``(B, N, N, 2)`` (class 1 = "is a pair") or a single binary logit ``(B, N, N)``, which is read
as the 2-way logits ``[0, s]`` (so softmax gives ``[1 - σ(s), σ(s)]``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# The binary logit and P(pair) of binary `(B,N,N)` or 2-way `(B,N,N,2)` pair logits: one original, in
# hf_ecpe.modeling_utils (the model folders carry checked copies), re-exported here.
from ..modeling_utils import pair_margins, pair_probabilities

__all__ = [
    "RPCL_DEFAULTS",
    "ccps_loss",
    "cdmr_loss",
    "corruption_keep_mask",
    "pair_margins",
    "pair_probabilities",
    "two_way_logits",
]

RPCL_DEFAULTS = {
    "cdmr_k": 8,
    "cdmr_m0": 0.05,
    "ccps_rho": 0.30,
    "lambda_row": 0.3,
    "lambda_cor": 0.75,
    "lambda_ali": 0.2,
}


def two_way_logits(pair_logits: torch.Tensor) -> torch.Tensor:
    """``(B,N,N)`` binary logits → ``(B,N,N,2)`` as ``[0, s]``; ``(B,N,N,2)`` is returned unchanged."""
    if pair_logits.dim() == 4 and pair_logits.size(-1) == 2:
        return pair_logits
    if pair_logits.dim() != 3:
        raise ValueError(f"pair logits must be (B,N,N) or (B,N,N,2), got shape {tuple(pair_logits.shape)}")
    return torch.stack([torch.zeros_like(pair_logits), pair_logits], dim=-1)


def cdmr_loss(
    pair_probs: torch.Tensor,
    pair_labels: torch.Tensor,
    candidate_mask: torch.Tensor,
    cause_probs: torch.Tensor | None,
    k: int = 8,
    m0: float = 0.05,
    adaptive: bool = True,
) -> torch.Tensor:
    """Confidence-Difference Margin Ranking over each emotion row.

    For every row i (emotion unit) that has both gold and non-gold valid candidates, take the top-``k`` non-gold
    candidates by current ``p_ij`` (selection without gradient; all of them when fewer than k); for every gold ``j+``
    and hard negative ``j-`` the hinge ``max(0, m - (p_ij+ - p_ij-))`` with the adaptive margin
    ``m = m0 * exp(sg(q_j- - q_j+))``, ``q`` = P(cause) from the cause head (no gradient through the margin).
    ``adaptive=False`` uses the fixed margin ``m = m0`` instead (the paper's "fixed-margin ranking" control, Table 3,
    and the "w/o adaptive margin" ablation, Table 5); ``cause_probs`` is then not read.

    Args:
        pair_probs: ``(B,N,N)`` pair probabilities ``p_ij``.
        pair_labels: ``(B,N,N)`` 1 for gold pairs.
        candidate_mask: ``(B,N,N)`` bool, valid candidates.
        cause_probs: ``(B,N)`` P(unit is a cause) (may be ``None`` with ``adaptive=False``).
    Returns:
        The mean hinge over all (row, gold, hard negative) triples of the batch; 0 (with a graph) when there are none.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if pair_probs.shape != pair_labels.shape or pair_probs.shape != candidate_mask.shape:
        raise ValueError(
            f"pair_probs {tuple(pair_probs.shape)}, pair_labels {tuple(pair_labels.shape)} and candidate_mask "
            f"{tuple(candidate_mask.shape)} must have the same (B,N,N) shape"
        )
    candidate_mask = candidate_mask.bool()
    gold = (pair_labels > 0.5) & candidate_mask
    negative = (~(pair_labels > 0.5)) & candidate_mask
    n = pair_probs.size(-1)
    k = min(k, n)
    with torch.no_grad():
        ranking = pair_probs.detach().masked_fill(~negative, float("-inf"))
        neg_values, neg_index = ranking.topk(k, dim=-1)  # (B,N,k)
        hard_valid = torch.isfinite(neg_values)
    p_neg = pair_probs.gather(-1, neg_index)  # (B,N,k)
    if adaptive:
        q = cause_probs.detach()
        q_neg = q.gather(-1, neg_index.flatten(1)).view_as(neg_index)  # (B,N,k): q of each hard negative's cause
        q_pos = q.unsqueeze(1).expand_as(pair_probs)  # (B,N,N): q_j for every candidate j
        margin = m0 * torch.exp(q_neg.unsqueeze(2) - q_pos.unsqueeze(3))  # (B,N,N+,k)
    else:
        margin = torch.full((), m0, dtype=pair_probs.dtype, device=pair_probs.device)
    gap = pair_probs.unsqueeze(3) - p_neg.unsqueeze(2)  # (B,N,N+,k)
    triples = gold.unsqueeze(3) & hard_valid.unsqueeze(2)
    if not triples.any():
        return pair_probs.sum() * 0.0
    hinge = F.relu(margin - gap)
    return hinge[triples].mean()


def corruption_keep_mask(
    unit_mask: torch.Tensor,
    pair_labels: torch.Tensor,
    rho: float = 0.30,
    generator: torch.Generator | None = None,
    protect_gold: bool = True,
) -> torch.Tensor:
    """Which unit representations survive the CCPS corruption, ``(B,N)`` bool.

    Units in any gold pair (as emotion or cause) are protected; every other real unit is dropped (zeroed) with
    probability ``rho``. Padding units are kept (they are masked elsewhere). Deterministic for a seeded ``generator``.
    ``protect_gold=False`` drops every real unit with probability ``rho``, gold units included (the paper's
    "utterance-dropout consistency" control, Table 3); the same draws are used, so with a generator in the same
    state the two masks differ only at gold units.
    """
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho must be in [0, 1], got {rho}")
    gold = pair_labels > 0.5
    protected = gold.any(dim=2) | gold.any(dim=1)
    draws = torch.rand(unit_mask.shape, generator=generator, device="cpu").to(unit_mask.device)
    dropped = (draws < rho) & unit_mask.bool()
    if protect_gold:
        dropped = dropped & ~protected
    return ~dropped


def ccps_loss(
    clean_pair_logits: torch.Tensor,
    corrupted_pair_logits: torch.Tensor,
    pair_labels: torch.Tensor,
    candidate_mask: torch.Tensor,
    lambda_cor: float = 0.75,
    lambda_ali: float = 0.2,
) -> dict[str, torch.Tensor]:
    """Corrupted-view pair-score stability.

    ``lambda_cor * CE(corrupted logits, labels) + lambda_ali * mean ||softmax(corrupted) - sg(softmax(clean))||^2``,
    both means over valid candidates. The clean prediction is a stop-gradient reference.

    Returns ``{"loss_ccps_ce": ..., "loss_ccps_align": ..., "loss_ccps": weighted sum}`` (unweighted components).
    """
    clean = two_way_logits(clean_pair_logits)
    corrupted = two_way_logits(corrupted_pair_logits)
    mask = candidate_mask.bool()
    if not mask.any():
        zero = corrupted.sum() * 0.0
        return {"loss_ccps_ce": zero, "loss_ccps_align": zero, "loss_ccps": zero}
    labels = (pair_labels > 0.5).long()[mask]
    ce = F.cross_entropy(corrupted[mask], labels)
    pi_clean = clean.detach().softmax(dim=-1)[mask]
    pi_corrupted = corrupted.softmax(dim=-1)[mask]
    align = (pi_corrupted - pi_clean).pow(2).sum(dim=-1).mean()
    return {"loss_ccps_ce": ce, "loss_ccps_align": align, "loss_ccps": lambda_cor * ce + lambda_ali * align}
