import math

import pytest
import torch

from hf_ecpe.losses.rpcl import ccps_loss, cdmr_loss, corruption_keep_mask, pair_probabilities, two_way_logits


def setup_row():
    """One document, 4 units. Row 0: gold j=1, negatives j=0,2,3. Row 1: negatives only. Row 2: gold only."""
    p = torch.tensor(
        [
            [0.60, 0.62, 0.30, 0.10],
            [0.90, 0.80, 0.70, 0.00],
            [0.00, 0.00, 0.50, 0.00],
            [0.00, 0.00, 0.00, 0.00],
        ]
    ).unsqueeze(0)
    labels = torch.zeros(1, 4, 4)
    labels[0, 0, 1] = 1
    labels[0, 2, 2] = 1
    cand = torch.zeros(1, 4, 4, dtype=torch.bool)
    cand[0, 0, :] = True
    cand[0, 1, :3] = True
    cand[0, 2, 2] = True
    q = torch.tensor([[0.2, 0.7, 0.1, 0.9]])
    return p, labels, cand, q


def test_cdmr_hand_computed_top_k():
    p, labels, cand, q = setup_row()
    # k=2: hard negatives of row 0 are j=0 (0.60) and j=2 (0.30); rows 1 and 2 have no (gold, negative) couple.
    m_10 = 0.05 * math.exp(0.2 - 0.7)  # q_j- - q_j+ for j-=0, j+=1
    h1 = max(0.0, m_10 - (0.62 - 0.60))
    h2 = max(0.0, 0.05 * math.exp(0.1 - 0.7) - (0.62 - 0.30))
    expected = (h1 + h2) / 2
    got = cdmr_loss(p, labels, cand, q, k=2, m0=0.05)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    assert expected > 0


def test_cdmr_fewer_negatives_than_k_uses_all():
    p, labels, cand, q = setup_row()
    hinges = [max(0.0, 0.05 * math.exp(q[0, j].item() - 0.7) - (0.62 - p[0, 0, j].item())) for j in (0, 2, 3)]
    got = cdmr_loss(p, labels, cand, q, k=8)
    assert got.item() == pytest.approx(sum(hinges) / 3, rel=1e-5)


def test_cdmr_margin_is_driven_by_the_cause_head():
    p, labels, cand, q = setup_row()
    low = cdmr_loss(p, labels, cand, torch.tensor([[0.0, 1.0, 0.0, 0.0]]), k=1)
    high = cdmr_loss(p, labels, cand, torch.tensor([[1.0, 0.0, 0.0, 0.0]]), k=1)
    # a negative whose cause unit looks more like a cause than the gold one gets a larger margin
    assert high.item() > low.item()
    assert low.item() == pytest.approx(max(0.0, 0.05 * math.exp(-1.0) - 0.02), rel=1e-5)
    assert high.item() == pytest.approx(0.05 * math.exp(1.0) - 0.02, rel=1e-5)


def test_cdmr_zero_without_triples_and_keeps_graph():
    p, labels, cand, q = setup_row()
    p = p.clone().requires_grad_(True)
    no_gold = torch.zeros_like(labels)
    loss = cdmr_loss(p, no_gold, cand, q)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.count_nonzero(p.grad) == 0


def test_cdmr_gradients_flow_to_pairs_not_to_margin_or_selection():
    p, labels, cand, q = setup_row()
    p = p.clone().requires_grad_(True)
    q = q.clone().requires_grad_(True)
    cdmr_loss(p, labels, cand, q, k=2).backward()
    assert q.grad is None  # stop-gradient through the margin
    grad = p.grad[0]
    assert grad[0, 1] < 0 and grad[0, 0] > 0  # push gold up, the active hard negative down
    assert grad[0, 3] == 0  # not selected among the top-2: no gradient
    assert grad[0, 2] == 0  # selected but its hinge is inactive


def test_corruption_protects_gold_units_and_is_seeded():
    unit_mask = torch.ones(2, 30, dtype=torch.bool)
    unit_mask[1, 20:] = False
    labels = torch.zeros(2, 30, 30)
    labels[0, 3, 1] = 1
    labels[1, 5, 5] = 1
    keeps = [corruption_keep_mask(unit_mask, labels, 0.5, torch.Generator().manual_seed(7)) for _ in range(2)]
    assert torch.equal(keeps[0], keeps[1])
    keep = keeps[0]
    assert keep[0, 3] and keep[0, 1] and keep[1, 5]
    assert keep[1, 20:].all()  # padding untouched
    assert (~keep).any()
    all_dropped = corruption_keep_mask(unit_mask, labels, 1.0)
    assert set(torch.nonzero(all_dropped[0]).flatten().tolist()) == {1, 3}
    with pytest.raises(ValueError, match="rho must be in"):
        corruption_keep_mask(unit_mask, labels, 1.5)


def test_ccps_matches_hand_formula_and_stops_gradient_on_clean_view():
    clean = torch.tensor([[[1.0, -1.0], [0.5, 2.0]]], requires_grad=True)
    corrupted = torch.tensor([[[0.2, -0.5], [1.5, 0.0]]], requires_grad=True)
    labels = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    cand = torch.tensor([[[True, True], [False, True]]])
    out = ccps_loss(clean, corrupted, labels, cand, lambda_cor=0.75, lambda_ali=0.2)
    s_cor = torch.tensor([0.2, -0.5, 0.0])
    s_cln = torch.tensor([1.0, -1.0, 2.0])
    y = torch.tensor([1.0, 0.0, 1.0])
    ce = torch.nn.functional.binary_cross_entropy_with_logits(s_cor, y)
    p_cor, p_cln = torch.sigmoid(s_cor), torch.sigmoid(s_cln)
    align = (2 * (p_cor - p_cln) ** 2).mean()  # both softmax components differ by the same amount
    assert out["loss_ccps_ce"].item() == pytest.approx(ce.item(), rel=1e-5)
    assert out["loss_ccps_align"].item() == pytest.approx(align.item(), rel=1e-5)
    assert out["loss_ccps"].item() == pytest.approx(0.75 * ce.item() + 0.2 * align.item(), rel=1e-5)
    out["loss_ccps"].backward()
    assert clean.grad is None or torch.count_nonzero(clean.grad) == 0
    assert torch.count_nonzero(corrupted.grad) > 0


def test_two_way_logits_and_probabilities():
    s = torch.randn(2, 3, 3)
    assert torch.allclose(pair_probabilities(s), torch.sigmoid(s), atol=1e-6)
    assert two_way_logits(two_way_logits(s)).shape == (2, 3, 3, 2)
    with pytest.raises(ValueError, match="pair logits must be"):
        two_way_logits(torch.zeros(3))


def test_pair_margins_and_probabilities_have_one_original_in_modeling_utils():
    """hf_ecpe.losses re-exports hf_ecpe.modeling_utils' functions (the model folders carry checked copies of them);
    they give what the library computed through the 2-way form ``[0, s]`` before, on binary and 2-way logits."""
    from hf_ecpe import losses, modeling_utils
    from hf_ecpe.losses.rpcl import pair_margins
    from hf_ecpe.models.a2net import modeling_a2net
    from hf_ecpe.models.pair_scorer import modeling_pair_scorer

    assert pair_margins is modeling_utils.pair_margins and pair_probabilities is modeling_utils.pair_probabilities
    assert losses.pair_margins is pair_margins and losses.pair_probabilities is pair_probabilities
    generator = torch.Generator().manual_seed(0)
    two_way = torch.randn(2, 3, 3, 2, generator=generator)
    binary = torch.randn(2, 3, 3, generator=generator)
    for logits in (two_way, binary):
        as_two_way = two_way_logits(logits)
        assert torch.equal(pair_margins(logits), as_two_way.diff(dim=-1).squeeze(-1))
        assert torch.allclose(pair_probabilities(logits), as_two_way.softmax(dim=-1)[..., 1], atol=1e-7, rtol=0)
        for folder in (modeling_a2net, modeling_pair_scorer):
            assert torch.equal(folder.pair_margins(logits), pair_margins(logits))
            assert torch.equal(folder.pair_probabilities(logits), pair_probabilities(logits))
    assert torch.equal(pair_probabilities(two_way), two_way.softmax(dim=-1)[..., 1])  # 2-way: bit for bit
    assert torch.equal(pair_probabilities(binary), torch.sigmoid(binary))
    with pytest.raises(ValueError, match=r"pair_logits must have shape \(B, N, N, 2\) or \(B, N, N\)"):
        pair_margins(torch.zeros(3))
