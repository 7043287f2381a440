"""KD-ECS's losses (Chen et al., AAAI 2024; docs/kd-ecs.md): the originals.

The KD-ECS model folder computes them in the student's and the teacher's ``forward`` and, being remote code, carries
checked copies (``# Copied from hf_ecpe.losses.kd_ecs.<name>``, ``python -m hf_ecpe.tools.check_copies``).
Shapes: B prompts, V verbaliser words (the causal connectives first, then the non-causal ones).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def connective_loss(
    connective_logits: torch.Tensor, relation_labels: torch.Tensor, num_causal: int, target: str = "fixed"
) -> torch.Tensor | None:
    """Cross-entropy of the verbaliser distribution against the gold relation (1 causal, 0 not; -100 ignored).

    ``target="fixed"``: towards one golden word per relation, the first of its list (Eq. 4). ``"relation"``:
    -log of the relation's probability mass (any causal word is right). ``None`` when no example is labelled.
    """
    keep = relation_labels != IGNORE_INDEX
    if not bool(keep.any()):
        return None
    logits = connective_logits[keep].float()
    labels = relation_labels[keep].long()
    if target == "fixed":
        golden = torch.where(labels == 1, torch.zeros_like(labels), torch.full_like(labels, num_causal))
        return F.cross_entropy(logits, golden)
    log_probs = logits.log_softmax(-1)
    causal = log_probs[:, :num_causal].logsumexp(-1)
    other = log_probs[:, num_causal:].logsumexp(-1)
    return -torch.where(labels == 1, causal, other).mean()


def distillation_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float, direction: str = "forward"
) -> torch.Tensor:
    """KL divergence between the temperature-softened verbaliser distributions, summed over words, mean over the batch.

    ``"forward"``: KL(teacher ‖ student) = Σ p_t (log p_t − log p_s), Eq. 12 (Hinton et al.). ``"reverse"``:
    KL(student ‖ teacher), what ``nn.KLDivLoss(reduction="batchmean")(log_softmax(teacher / τ), softmax(student / τ))``
    computes in the reference code (``cubenlp/CP_KD-for-IDRR``). The τ² factor of Eq. 13 is applied by the caller.
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student logits {tuple(student_logits.shape)} and teacher logits {tuple(teacher_logits.shape)} differ: "
            "the teacher and the student must use the same verbaliser words"
        )
    log_student = (student_logits.float() / temperature).log_softmax(-1)
    log_teacher = (teacher_logits.detach().float() / temperature).log_softmax(-1)
    if direction == "forward":
        pointwise = log_teacher.exp() * (log_teacher - log_student)
    elif direction == "reverse":
        pointwise = log_student.exp() * (log_student - log_teacher)
    else:
        raise ValueError(f"direction must be 'forward' or 'reverse', got {direction!r}")
    return pointwise.sum(-1).mean()


__all__ = ["IGNORE_INDEX", "connective_loss", "distillation_loss"]
