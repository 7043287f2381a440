"""A2Net's inter-task alignment loss against the reference number and hand-written computations."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from hf_ecpe.losses import inter_task_alignment_loss
from hf_ecpe.models.a2net import modeling_a2net

# Appendix A.1 of docs/reference-methods-and-metrics.md: B=2, N=3, H=300, document lengths 3 and 2.
REFERENCE_VALUE = 0.0016957412  # KL_div.forward of csj199813/A2Net_ECPE@bf06134 on these inputs (float32)
PER_DOCUMENT_VALUE = 0.0196272284  # the "per-document softmax, sum over candidates, mean over documents" variant


def appendix_inputs(dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    pair_logits = torch.tensor(
        [[1.0, -1.0, 0.0, 0.5, 2.0, -0.5, 0.2, 0.1, -1.5], [0.0, 1.0, -2.0, 1.5, -0.3, 0.0, 0.0, 0.0, 0.0]]
    ).reshape(2, 3, 3)
    unit_mask = torch.tensor([[True, True, True], [True, True, False]])
    return {
        "emotion_logits": torch.tensor([[2.0, -1.0, 0.5], [0.3, 1.2, -9.0]], dtype=dtype),
        "cause_logits": torch.tensor([[-0.5, 1.5, 0.0], [1.0, -2.0, -9.0]], dtype=dtype),
        "emotion_features": torch.linspace(-1, 1, 1800).reshape(2, 3, 300).to(dtype),
        "cause_features": torch.cos(torch.arange(1800.0)).reshape(2, 3, 300).to(dtype),
        "pair_logits": pair_logits.to(dtype),
        # N = 3 <= K + 1 = 6: every pair of real units is a candidate (13 in all)
        "candidate_mask": unit_mask[:, :, None] & unit_mask[:, None, :],
        "unit_mask": unit_mask,
    }


def reference_code_restated(inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """The reference's ``KL_div.forward`` written out with the same operations, in the same order."""
    pred_e = torch.sigmoid(inputs["emotion_logits"].unsqueeze(2))
    pred_c = torch.sigmoid(inputs["cause_logits"].unsqueeze(1))
    subwork_table = torch.pow(torch.bmm(pred_e, pred_c), 1 / 2)
    sent_e, sent_c = inputs["emotion_features"], inputs["cause_features"]
    constraint = torch.bmm(sent_e, sent_c.transpose(-2, -1)) / math.sqrt(sent_e.size(-1))
    unit_mask = inputs["unit_mask"]
    mask_table = ~(unit_mask[:, :, None] & unit_mask[:, None, :])  # 1 - adjacency of the doc x doc block
    constraint = constraint.masked_fill(mask_table, -1e9)
    constraint = F.softmax(constraint, dim=-1)
    final = torch.mul(subwork_table, constraint).reshape(2, 9)
    couples_mask = inputs["candidate_mask"].reshape(2, 9)
    final = final.masked_select(couples_mask)
    couples_pred = torch.sigmoid(inputs["pair_logits"].reshape(2, 9)).masked_select(couples_mask)
    criterion = torch.nn.KLDivLoss(reduction="sum")  # the reference's default "mean" = sum / number of elements
    loss_1 = criterion(F.log_softmax(final, -1), F.softmax(couples_pred, -1)) / final.numel()
    loss_2 = criterion(F.log_softmax(couples_pred, -1), F.softmax(final, -1)) / final.numel()
    return 1 / 2 * (loss_2 + loss_1)


def per_document_by_hand(inputs: dict[str, torch.Tensor]) -> float:
    """Per document: alpha over its real units, pseudo scores, softmax over its candidates, symmetric KL summed over
    candidates; then the mean over documents. Plain loops, float64."""
    values = []
    for doc in range(2):
        length = int(inputs["unit_mask"][doc].sum())
        e = inputs["emotion_logits"][doc, :length].double()
        c = inputs["cause_logits"][doc, :length].double()
        v_e = inputs["emotion_features"][doc, :length].double()
        v_c = inputs["cause_features"][doc, :length].double()
        pseudo, pair = [], []
        for i in range(length):
            scores = torch.stack([torch.dot(v_e[i], v_c[j]) / math.sqrt(v_e.size(-1)) for j in range(length)])
            alpha = torch.exp(scores) / torch.exp(scores).sum()
            for j in range(length):
                if inputs["candidate_mask"][doc, i, j]:
                    pseudo.append(alpha[j] * torch.sqrt(torch.sigmoid(e[i]) * torch.sigmoid(c[j])))
                    pair.append(torch.sigmoid(inputs["pair_logits"][doc, i, j].double()))
        pseudo_dist = torch.exp(torch.stack(pseudo)) / torch.exp(torch.stack(pseudo)).sum()
        pair_dist = torch.exp(torch.stack(pair)) / torch.exp(torch.stack(pair)).sum()
        kl_pair_pseudo = sum(q * (math.log(q) - math.log(p)) for p, q in zip(pseudo_dist.tolist(), pair_dist.tolist()))
        kl_pseudo_pair = sum(p * (math.log(p) - math.log(q)) for p, q in zip(pseudo_dist.tolist(), pair_dist.tolist()))
        values.append(0.5 * (kl_pair_pseudo + kl_pseudo_pair))
    return sum(values) / len(values)


def test_reference_reduction_reproduces_the_reference_number():
    value = inter_task_alignment_loss(**appendix_inputs(), reduction="reference")
    assert value.dtype == torch.float32 and value.dim() == 0
    assert value.item() == pytest.approx(REFERENCE_VALUE, rel=1e-5)


def test_reference_reduction_equals_the_restated_reference_code_in_float64():
    inputs = appendix_inputs(torch.float64)
    expected = reference_code_restated(inputs)
    assert inter_task_alignment_loss(**inputs).item() == pytest.approx(expected.item(), rel=1e-10)


def test_reference_is_the_default_reduction():
    inputs = appendix_inputs()
    assert (
        inter_task_alignment_loss(**inputs).item() == inter_task_alignment_loss(**inputs, reduction="reference").item()
    )


def test_per_document_reduction_matches_the_hand_computation():
    inputs = appendix_inputs()
    value = inter_task_alignment_loss(**inputs, reduction="per_document").item()
    assert value == pytest.approx(per_document_by_hand(inputs), rel=1e-5)
    assert value == pytest.approx(PER_DOCUMENT_VALUE, rel=1e-5)
    assert value > 10 * REFERENCE_VALUE  # the two reductions are genuinely different


@pytest.mark.parametrize("reduction", ["reference", "per_document"])
def test_padding_units_change_nothing(reduction):
    inputs = appendix_inputs()
    padded = {}
    for name, tensor in inputs.items():
        if name in ("emotion_logits", "cause_logits", "unit_mask"):
            padded[name] = F.pad(tensor, (0, 1), value=0)
        elif name in ("emotion_features", "cause_features"):
            padded[name] = torch.cat([tensor, torch.randn(2, 1, 300)], dim=1)
        else:
            padded[name] = F.pad(tensor, (0, 1, 0, 1), value=0)
    padded["emotion_logits"][:, 3] = 5.0  # arbitrary values at the padded unit
    padded["pair_logits"][:, 3, :] = 3.0
    assert inter_task_alignment_loss(**padded, reduction=reduction).item() == pytest.approx(
        inter_task_alignment_loss(**inputs, reduction=reduction).item(), rel=1e-6
    )


@pytest.mark.parametrize("reduction", ["reference", "per_document"])
def test_gradients_reach_both_sides_and_stay_finite_at_saturation(reduction):
    inputs = appendix_inputs()
    inputs["emotion_logits"][1, 2] = -1e4  # sigmoid underflows to 0 at a padded unit: sqrt must not give NaN grads
    leaves = {}
    for name in ("emotion_logits", "cause_logits", "emotion_features", "cause_features", "pair_logits"):
        leaves[name] = inputs[name].clone().requires_grad_(True)
        inputs[name] = leaves[name]
    inter_task_alignment_loss(**inputs, reduction=reduction).backward()
    for name, leaf in leaves.items():
        assert torch.isfinite(leaf.grad).all(), name
        assert leaf.grad.abs().sum() > 0, f"no gradient reaches {name} (there must be no stop-gradient)"


def test_bad_inputs_raise_clear_errors():
    inputs = appendix_inputs()
    with pytest.raises(ValueError, match="reduction must be one of"):
        inter_task_alignment_loss(**inputs, reduction="batchmean")
    with pytest.raises(ValueError, match="pair_logits must have shape"):
        inter_task_alignment_loss(**{**inputs, "pair_logits": inputs["pair_logits"][:, :2]})
    with pytest.raises(ValueError, match="emotion_features and cause_features"):
        inter_task_alignment_loss(**{**inputs, "cause_features": inputs["cause_features"][..., :10]})
    with pytest.raises(ValueError, match="no candidate pair"):
        inter_task_alignment_loss(**{**inputs, "candidate_mask": torch.zeros(2, 3, 3, dtype=torch.bool)})


def test_the_loss_lives_in_losses_and_the_model_folder_carries_a_checked_copy():
    """The original is hf_ecpe.losses.alignment's (issue 22: every loss in losses/); A2Net's self-contained folder
    computes the same numbers with its marked copy, which check_copies keeps identical."""
    from hf_ecpe.losses import alignment
    from hf_ecpe.tools.check_copies import check_copies

    assert inter_task_alignment_loss is alignment.inter_task_alignment_loss
    assert inter_task_alignment_loss.__module__ == "hf_ecpe.losses.alignment"
    source = Path(modeling_a2net.__file__).resolve()
    assert [drift for drift in check_copies() if drift.path.resolve() == source] == []
    inputs = appendix_inputs()
    for reduction in ("reference", "per_document", "paper"):
        assert torch.equal(
            inter_task_alignment_loss(**inputs, reduction=reduction),
            modeling_a2net.inter_task_alignment_loss(**inputs, reduction=reduction),
        )
