"""A2NetModel: encoder construction, PFN / heads / pair head faithfulness, loss, windowing and decoding."""

from __future__ import annotations

import math
from unittest import mock

import pytest
import torch
import torch.nn.functional as F
from conftest import build_tiny_encoder
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

from hf_ecpe import A2NetConfig, A2NetModel
from hf_ecpe.data.collators import ClauseCollator
from hf_ecpe.models.a2net import modeling_a2net
from hf_ecpe.models.a2net.modeling_a2net import (
    PAIR_LOGIT_FILL,
    A2NetOrthogonalLinear,
    build_candidate_mask,
    inter_task_alignment_loss,
    plan_unit_windows,
)

SMALL = {"pfn_hidden_size": 8, "position_embedding_size": 4}
ROWS = [
    {"units": ["i was so happy", "because i passed the exam", "she felt sad"], "pairs": [{"emotion": 0, "cause": 1}]},
    {"units": ["he is angry", "they lost the game"], "pairs": [{"emotion": 0, "cause": 1}]},
]


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder_dir):
    return AutoTokenizer.from_pretrained(tiny_encoder_dir)


@pytest.fixture(scope="module")
def collate(tokenizer):
    return ClauseCollator(tokenizer)


@pytest.fixture()
def model(tiny_encoder_dir):
    torch.manual_seed(0)
    return A2NetModel.from_encoder(str(tiny_encoder_dir), **SMALL)


def doc(count: int, words: str = "i was so happy") -> list[str]:
    return [words] * count


# ----- construction ---------------------------------------------------------------------------------------------


def test_from_encoder_keeps_the_pretrained_encoder_weights(tiny_encoder_dir):
    pretrained = BertModel.from_pretrained(tiny_encoder_dir)
    for source in (str(tiny_encoder_dir), pretrained):
        model = A2NetModel.from_encoder(source, **SMALL)
        state = model.encoder.state_dict()
        for name, tensor in pretrained.state_dict().items():
            assert torch.equal(state[name], tensor), name
    assert model.config.encoder["model_type"] == "bert"
    assert model.config.hf_ecpe_version is not None  # stamped by the library


def test_config_dict_builds_a_random_encoder_of_that_shape():
    encoder = BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    model = A2NetModel(A2NetConfig(encoder=encoder.to_dict(), **SMALL))
    assert isinstance(model.encoder, BertModel)
    assert model.encoder.config.hidden_size == 16
    assert model.partition_filter.input_transform.in_features == 16
    assert "BertLayer" in model._no_split_modules and "A2NetPartitionFilter" in model._no_split_modules
    with pytest.raises(ValueError, match="A2NetConfig.encoder is None"):
        A2NetModel(A2NetConfig())


def test_trust_remote_code_in_the_nested_encoder_config_is_never_honoured():
    encoder = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2).to_dict()
    encoder.update(trust_remote_code=True, auto_map={"AutoModel": "attacker/repo--modeling_evil.EvilModel"})
    config = A2NetConfig(encoder=encoder, **SMALL)
    assert "trust_remote_code" not in config.encoder
    config.encoder["trust_remote_code"] = True  # even when put back after validation
    for_model, from_config = (
        mock.Mock(wraps=modeling_a2net.AutoConfig.for_model),
        mock.Mock(wraps=modeling_a2net.AutoModel.from_config),
    )
    with (
        mock.patch.object(modeling_a2net.AutoConfig, "for_model", for_model),
        mock.patch.object(modeling_a2net.AutoModel, "from_config", from_config),
    ):
        model = A2NetModel(config)
    assert "trust_remote_code" not in for_model.call_args.kwargs
    assert from_config.call_args.kwargs["trust_remote_code"] is False
    assert type(model.encoder) is BertModel  # the library class, no remote code


def test_everything_is_float32_even_from_bfloat16_sources(tmp_path, tiny_encoder_dir):
    bf16_dir = tmp_path / "bf16_encoder"
    BertModel.from_pretrained(tiny_encoder_dir).to(torch.bfloat16).save_pretrained(bf16_dir)
    model = A2NetModel.from_encoder(str(bf16_dir), **SMALL)
    assert {p.dtype for p in model.parameters()} == {torch.float32}

    encoder = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2).to_dict()
    encoder["dtype"] = "bfloat16"
    model = A2NetModel(A2NetConfig(encoder=encoder, **SMALL))
    assert {p.dtype for p in model.parameters()} == {torch.float32}

    model.to(torch.bfloat16).save_pretrained(tmp_path / "bf16_a2net")
    assert {p.dtype for p in A2NetModel.from_pretrained(tmp_path / "bf16_a2net").parameters()} == {torch.float32}
    explicit = A2NetModel.from_pretrained(tmp_path / "bf16_a2net", dtype=torch.bfloat16)
    assert {p.dtype for p in explicit.parameters()} == {torch.bfloat16}


def test_reference_initialisation(model):
    fresh = A2NetModel(model.config)
    orthogonal = [m for m in fresh.modules() if isinstance(m, A2NetOrthogonalLinear)]
    assert len(orthogonal) == 2 + 4 + 2  # PFN W_x and transform, four head layers, two pair-head layers
    for module in orthogonal:
        weight = module.weight
        gram = weight @ weight.T if weight.shape[0] <= weight.shape[1] else weight.T @ weight
        assert torch.allclose(gram, torch.eye(gram.shape[0]), atol=1e-5)
    embedding = fresh.pair_scorer.position_embeddings.weight
    assert embedding.abs().max() <= math.sqrt(6 / sum(embedding.shape))  # xavier_uniform
    recurrent = fresh.partition_filter.hidden_transform.weight  # PyTorch default (kaiming_uniform a=sqrt(5))
    assert recurrent.abs().max() <= 1 / math.sqrt(recurrent.shape[1])


def test_config_validates_its_fields():
    for field, value in [
        ("pos_window", -1),
        ("alignment_reduction", "batchmean"),
        ("decoding", "beam"),
        ("dropconnect", 1.5),
        ("decode_top_k", 0),
        ("alignment_weight", -0.1),
        ("max_window_tokens", 2),
    ]:
        with pytest.raises(ValueError, match=field):
            A2NetConfig(**{field: value})
    with pytest.raises(ValueError, match="model_type"):
        A2NetConfig(encoder={"hidden_size": 16})
    config = A2NetConfig(encoder={"model_type": "bert"}, pos_window=3, alignment_reduction="per_document")
    again = A2NetConfig.from_dict(config.to_dict())
    assert (again.pos_window, again.alignment_reduction, again.encoder) == (3, "per_document", {"model_type": "bert"})


# ----- forward and loss -----------------------------------------------------------------------------------------


def test_forward_shapes_masks_and_loss(model, collate):
    batch = collate(ROWS)
    output = model(**batch)
    assert output.emotion_logits.shape == output.cause_logits.shape == (2, 3)
    assert output.pair_logits.shape == output.candidate_mask.shape == (2, 3, 3)
    assert output.unit_states.shape == (2, 3, 16)
    assert output.candidate_mask.dtype == torch.bool
    assert output.candidate_mask[0].all() and output.candidate_mask[1, :2, :2].all()
    assert not output.candidate_mask[1, 2].any() and not output.candidate_mask[1, :, 2].any()
    assert (output.pair_logits[~output.candidate_mask] == PAIR_LOGIT_FILL).all()
    assert (output.unit_states[1, 2] == 0).all()
    assert torch.isfinite(output.loss)
    output.loss.backward()
    assert model.encoder.embeddings.word_embeddings.weight.grad.abs().sum() > 0
    assert model.partition_filter.hidden_transform.weight.grad.abs().sum() > 0
    assert model.pair_scorer.position_embeddings.weight.grad.abs().sum() > 0


def test_loss_is_pair_plus_weighted_unit_and_alignment_terms(model, collate):
    model.eval()  # deterministic, so that score_pairs can be re-run on the returned unit states
    batch = collate(ROWS)
    output = model(**batch)
    mask, units = output.candidate_mask, batch["unit_mask"]
    loss_pair = F.binary_cross_entropy_with_logits(output.pair_logits[mask], batch["pair_labels"][mask])
    loss_emotion = F.binary_cross_entropy_with_logits(output.emotion_logits[units], batch["emotion_labels"][units])
    loss_cause = F.binary_cross_entropy_with_logits(output.cause_logits[units], batch["cause_labels"][units])
    scores = model.score_pairs(output.unit_states, units)
    loss_alignment = inter_task_alignment_loss(
        scores.emotion_logits,
        scores.cause_logits,
        scores.emotion_features,
        scores.cause_features,
        scores.pair_logits,
        scores.candidate_mask,
        units,
    )
    assert torch.allclose(output.loss_pair, loss_pair)
    assert torch.allclose(output.loss_emotion, loss_emotion)
    assert torch.allclose(output.loss_cause, loss_cause)
    assert torch.allclose(output.loss_alignment, loss_alignment)
    expected = loss_pair + 0.4 * (loss_emotion + loss_cause) + 0.4 * loss_alignment
    assert torch.allclose(output.loss, expected)

    model.config.emotion_cause_weight, model.config.alignment_weight = 0.0, 0.0
    assert torch.allclose(model(**batch).loss, loss_pair)
    model.config.alignment_reduction = "per_document"
    per_document = inter_task_alignment_loss(
        scores.emotion_logits,
        scores.cause_logits,
        scores.emotion_features,
        scores.cause_features,
        scores.pair_logits,
        scores.candidate_mask,
        units,
        reduction="per_document",
    )
    assert torch.allclose(model(**batch).loss_alignment, per_document)


def test_inference_without_labels_and_tuple_output(model, collate):
    batch = collate([{"units": row["units"]} for row in ROWS])
    output = model(**batch)
    assert output.loss is None and output.loss_pair is None and output.loss_alignment is not None
    as_tuple = model.eval()(**batch, return_dict=False)
    assert isinstance(as_tuple, tuple)
    with pytest.raises(ValueError, match="Give all of emotion_labels"):
        labelled = collate(ROWS)
        model(**{k: v for k, v in labelled.items() if k != "pair_labels"})


def test_unit_mask_defaults_and_bad_batches(model, collate):
    model.eval()
    batch = collate(ROWS)
    without = {k: v for k, v in batch.items() if k != "unit_mask"}
    assert torch.equal(model(**without).pair_logits, model(**batch).pair_logits)
    with pytest.raises(ValueError, match="unit_token_index"):
        model(input_ids=batch["input_ids"])
    holes = batch["unit_mask"].clone()
    holes[0, 1] = False
    with pytest.raises(ValueError, match="prefix"):
        model(**{**batch, "unit_mask": holes})
    outside = batch["unit_token_index"].clone()
    outside[1, 1] = 40
    with pytest.raises(ValueError, match="outside a row"):
        model(**{**batch, "unit_token_index": outside})
    with pytest.raises(ValueError, match="pair_labels must have shape"):
        model(**{**batch, "pair_labels": batch["pair_labels"][:, :2]})


def test_short_document_scores_do_not_depend_on_its_batch(model, collate):
    """Per-document candidates and kernel: padding a document (here beyond K + 1 units) changes none of its scores."""
    model.config.pos_window = 2  # N = 6 > K + 1 = 3: the reference's windowed regime
    model.pair_scorer.pos_window = 2
    model.pair_scorer.position_embeddings = torch.nn.Embedding(5, 4)
    model.eval()
    short = {"units": ["i was so happy", "because i passed the exam", "she felt sad"]}
    long = {"units": doc(6, "he is angry")}
    alone = model(**collate([short]))
    together = model(**collate([short, long]))
    assert torch.allclose(together.pair_logits[0, :3, :3], alone.pair_logits[0], atol=1e-5)
    assert torch.allclose(together.emotion_logits[0, :3], alone.emotion_logits[0], atol=1e-5)
    assert together.candidate_mask[1].sum() == 6 + 2 * 5 + 2 * 4  # |j - i| <= 2 in a 6-unit document


def test_candidate_mask_window():
    mask = build_candidate_mask(torch.tensor([[True] * 5 + [False]]), pos_window=1)
    expected = torch.zeros(6, 6, dtype=torch.bool)
    for i in range(5):
        for j in range(5):
            expected[i, j] = abs(j - i) <= 1
    assert torch.equal(mask[0], expected)


# ----- faithfulness of the layers to the reference code ---------------------------------------------------------


def reference_pfn(layer, x):
    """The reference's ``pfn_unit``/``encoder`` loop restated (eval: W_h * (1 - p))."""
    hidden_size = layer.hidden_size
    h = torch.zeros(x.size(0), hidden_size)
    c_in = torch.zeros(x.size(0), hidden_size)
    w_h = layer.hidden_transform.weight * (1 - layer.hidden_transform.dropconnect)

    def cumsoftmax(t):
        return torch.cumsum(F.softmax(t, -1), dim=-1)

    outputs = []
    for t in range(x.size(1)):
        gates = layer.input_transform(x[:, t]) + F.linear(h, w_h, layer.hidden_transform.bias)
        c, eg_cin, rg_cin, eg_c, rg_c = gates.chunk(5, 1)
        eg_cin, rg_cin = 1 - cumsoftmax(eg_cin), cumsoftmax(rg_cin)
        eg_c, rg_c = 1 - cumsoftmax(eg_c), cumsoftmax(rg_c)
        c = torch.tanh(c)
        overlap_c = rg_c * eg_c
        upper_c, downer_c = rg_c - overlap_c, eg_c - overlap_c
        overlap_cin = rg_cin * eg_cin
        upper_cin, downer_cin = rg_cin - overlap_cin, eg_cin - overlap_cin
        share = overlap_cin * c_in + overlap_c * c
        c_cau = upper_cin * c_in + upper_c * c
        c_emo = downer_cin * c_in + downer_c * c
        outputs.append((torch.tanh(c_emo), torch.tanh(c_cau), torch.tanh(share)))
        c_in = layer.transform(torch.cat((c_cau, c_emo, share), dim=-1))
        h = torch.tanh(c_in)
    return tuple(torch.stack(part, 1) for part in zip(*outputs))


def test_partition_filter_matches_the_reference_equations(model):
    layer = model.partition_filter.eval()
    x = torch.randn(2, 4, 16)
    for ours, theirs in zip(layer(x), reference_pfn(layer, x)):
        assert torch.allclose(ours, theirs, atol=1e-6)
    # causal: appending units never changes earlier states
    longer = layer(torch.cat([x, torch.randn(2, 3, 16)], dim=1))
    assert torch.allclose(longer[0][:, :4], layer(x)[0], atol=1e-6)


def test_dropconnect_masks_in_training_and_scales_in_evaluation(model):
    linear = model.partition_filter.hidden_transform
    linear.train()
    first, second = linear.effective_weight(), linear.effective_weight()
    zero_fraction = (first == 0).float().mean().item()
    assert 0.02 < zero_fraction < 0.3  # p = 0.1 on 8 x 40 weights
    assert not torch.equal(first, second)  # a new mask per forward
    linear.eval()
    assert torch.equal(linear.effective_weight(), linear.weight * 0.9)


def reference_pair_logits(scorer, h_e, h_c, k):
    """The reference's ``re_unit.forward`` for ONE document (no padding): candidates in row-major order."""
    n = h_e.size(0)
    emo_pos = torch.arange(1, n + 1).repeat_interleave(n)
    cau_pos = torch.arange(1, n + 1).repeat(n)
    rel_pos = cau_pos - emo_pos
    if n > k + 1:
        keep = rel_pos.abs() <= k
        emo_pos, cau_pos, rel_pos = emo_pos[keep], cau_pos[keep], rel_pos[keep]
    couples = torch.cat([h_e[emo_pos - 1], h_c[cau_pos - 1]], dim=-1)
    rel_emb = scorer.position_embeddings(rel_pos + k)
    rel = rel_pos.float()
    kernel = torch.exp(-((rel[:, None] - rel[None, :]) ** 2))
    rel_emb = kernel @ rel_emb
    pair = scorer.layer_norm(scorer.hidden_layer(torch.cat([couples, rel_emb], dim=-1)))
    pair = scorer.output_layer(scorer.activation(scorer.dropout(pair))).squeeze(-1)
    return pair, emo_pos - 1, cau_pos - 1


@pytest.mark.parametrize(("units", "window"), [(4, 5), (7, 2)])
def test_pair_head_matches_the_reference_for_one_document(model, units, window):
    model.config.pos_window = window
    model.pair_scorer.pos_window = window
    model.pair_scorer.position_embeddings = torch.nn.Embedding(2 * window + 1, 4)
    model.eval()
    unit_states = torch.randn(1, units, 16)
    scores = model.score_pairs(unit_states, torch.ones(1, units, dtype=torch.bool))
    h_emo, h_cau, h_share = model.partition_filter(unit_states)
    expected, emotion, cause = reference_pair_logits(
        model.pair_scorer, (h_emo + h_share)[0], (h_cau + h_share)[0], window
    )
    assert int(scores.candidate_mask.sum()) == expected.numel()
    assert torch.allclose(scores.pair_logits[0, emotion, cause], expected, atol=1e-5)


def test_unit_heads_follow_the_reference(model):
    heads = model.unit_heads
    h_e, h_c, h_s = torch.randn(3, 2, 4, 8).unbind(0)
    emotion_logits, cause_logits, v_e, v_c = heads(h_e, h_c, h_s)
    assert torch.allclose(v_e, F.leaky_relu(heads.emotion_hidden(torch.cat([h_e, h_s], -1))))
    assert torch.allclose(cause_logits, heads.cause_output(v_c).squeeze(-1))
    assert torch.allclose(emotion_logits, heads.emotion_output(v_e).squeeze(-1))


def test_score_pairs_reruns_on_modified_unit_states(model, collate):
    model.eval()
    batch = collate(ROWS)
    output = model(**batch)
    again = model.score_pairs(output.unit_states, batch["unit_mask"])
    assert torch.equal(again.pair_logits, output.pair_logits)
    perturbed = model.score_pairs(output.unit_states + 0.5 * torch.randn_like(output.unit_states), batch["unit_mask"])
    assert not torch.allclose(perturbed.pair_logits[output.candidate_mask], output.pair_logits[output.candidate_mask])


def test_gradient_checkpointing(model, collate):
    model.gradient_checkpointing_enable()
    assert model.encoder.encoder.layer[0].gradient_checkpointing
    model.train()
    model(**collate(ROWS)).loss.backward()
    assert model.encoder.embeddings.word_embeddings.weight.grad is not None


# ----- documents longer than the encoder window -----------------------------------------------------------------


def test_plan_unit_windows_by_hand():
    starts = [6 * i for i in range(8)]  # 8 units of 6 tokens
    windows, owner = plan_unit_windows(starts, 48, max_tokens=20, overlap_units=2)
    assert windows == [(0, 3), (1, 4), (2, 5), (3, 6), (4, 7), (5, 8)]
    assert owner == [0, 0, 1, 2, 3, 4, 5, 5]  # each unit from the window where it sits in the middle
    windows, owner = plan_unit_windows(starts, 48, max_tokens=20, overlap_units=1)
    assert windows == [(0, 3), (2, 5), (4, 7), (6, 8)]
    assert owner == [0, 0, 0, 1, 1, 2, 2, 3]
    windows, owner = plan_unit_windows([0, 4, 6, 30], 34, max_tokens=26, overlap_units=2)
    # units of 4, 2, 24 and 4 tokens: a window from unit 2 could not hold unit 3, so the third window starts at 3
    assert windows == [(0, 2), (1, 3), (3, 4)]
    assert owner == [0, 0, 1, 2]
    assert plan_unit_windows(starts, 48, max_tokens=48, overlap_units=2) == ([(0, 8)], [0] * 8)
    with pytest.raises(ValueError, match="unit 2 has 24 tokens, more than the encoder window of 20"):
        plan_unit_windows([0, 4, 6, 30], 34, max_tokens=20, overlap_units=2)


@pytest.fixture(scope="module")
def short_window_dir(tmp_path_factory):
    return build_tiny_encoder(tmp_path_factory.mktemp("tiny_bert_32"), max_position_embeddings=32)


def test_long_documents_are_windowed_without_losing_units(short_window_dir):
    torch.manual_seed(0)
    model = A2NetModel.from_encoder(str(short_window_dir), **SMALL).eval()
    tokenizer = AutoTokenizer.from_pretrained(short_window_dir)
    long = {"units": doc(20), "pairs": [{"emotion": 19, "cause": 18}, {"emotion": 10, "cause": 8}]}
    batch = ClauseCollator(tokenizer)([long])
    assert batch["input_ids"].shape[1] == 120 > model.max_window_tokens == 32
    output = model(**batch)
    assert torch.isfinite(output.loss)
    assert (output.unit_states[0].abs().sum(-1) > 0).all()  # every unit got a vector
    assert output.candidate_mask[0, 10, 8] and output.candidate_mask[0, 19, 18]  # gold pairs stay candidates

    starts = batch["unit_token_index"][0].tolist()
    windows, owner = plan_unit_windows(starts, 120, 32, model.config.window_overlap_units)
    for unit in range(20):
        first, end = windows[owner[unit]]
        if 0 < unit < 19:  # every inner unit has context on both sides of its window
            assert first < unit < end - 1
        token_start, token_end = starts[first], (starts[end] if end < 20 else 120)
        types = batch["token_type_ids"][:, token_start:token_end]
        types = 1 - types if int(types[0, 0]) == 1 else types
        hidden = model.encoder(
            input_ids=batch["input_ids"][:, token_start:token_end], token_type_ids=types
        ).last_hidden_state
        assert torch.allclose(output.unit_states[0, unit], hidden[0, starts[unit] - token_start], atol=1e-5)


def test_short_documents_are_identical_whether_or_not_windowing_runs(short_window_dir):
    torch.manual_seed(0)
    model = A2NetModel.from_encoder(str(short_window_dir), **SMALL).eval()
    collate = ClauseCollator(AutoTokenizer.from_pretrained(short_window_dir))
    short = {"units": ["i was so happy", "because i passed the exam"]}
    alone = model(**collate([short]))  # one plain encoder pass
    mixed = model(**collate([short, {"units": doc(20)}]))  # the batch needs windows
    assert torch.allclose(mixed.unit_states[0, :2], alone.unit_states[0], atol=1e-5)
    assert torch.allclose(mixed.pair_logits[0, :2, :2], alone.pair_logits[0], atol=1e-5)
    assert torch.allclose(mixed.emotion_logits[0, :2], alone.emotion_logits[0], atol=1e-5)


def test_mean_pooling_by_hand():
    from hf_ecpe.models.a2net.modeling_a2net import pool_units

    hidden = torch.arange(2 * 6 * 1, dtype=torch.float32).reshape(2, 6, 1)
    attention = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]])
    index = torch.tensor([[0, 2], [0, 0]])  # doc 0: units at 0 and 2 (5 tokens); doc 1: one unit, 6 tokens
    mask = torch.tensor([[True, True], [True, False]])
    mean = pool_units(hidden, attention, index, mask, "mean")
    assert mean[0, :, 0].tolist() == [0.5, 3.0]  # tokens {0, 1} and {2, 3, 4}
    assert mean[1, 0, 0].item() == pytest.approx(sum(range(6, 12)) / 6)
    assert mean[1, 1, 0].item() == 0.0  # padded unit
    assert pool_units(hidden, attention, index, mask, "cls")[0, :, 0].tolist() == [0.0, 2.0]


def test_mean_pooled_long_documents_match_a_per_window_computation(short_window_dir):
    torch.manual_seed(0)
    model = A2NetModel.from_encoder(str(short_window_dir), unit_pooling="mean", **SMALL).eval()
    tokenizer = AutoTokenizer.from_pretrained(short_window_dir)
    batch = ClauseCollator(tokenizer)([{"units": doc(20)}])
    output = model(**batch)
    starts = batch["unit_token_index"][0].tolist()
    windows, owner = plan_unit_windows(starts, 120, 32, model.config.window_overlap_units)
    for unit in range(20):
        first, end = windows[owner[unit]]
        token_start, token_end = starts[first], (starts[end] if end < 20 else 120)
        types = batch["token_type_ids"][:, token_start:token_end]
        types = 1 - types if int(types[0, 0]) == 1 else types
        hidden = model.encoder(
            input_ids=batch["input_ids"][:, token_start:token_end], token_type_ids=types
        ).last_hidden_state[0]
        unit_end = starts[unit + 1] if unit + 1 < 20 else 120
        expected = hidden[starts[unit] - token_start : unit_end - token_start].mean(0)
        assert torch.allclose(output.unit_states[0, unit], expected, atol=1e-5)
    short = {"units": ["i was so happy", "because i passed the exam"]}
    alone = model(**ClauseCollator(tokenizer)([short]))
    mixed = model(**ClauseCollator(tokenizer)([short, {"units": doc(20)}]))
    assert torch.allclose(mixed.unit_states[0, :2], alone.unit_states[0], atol=1e-5)


def test_a_unit_longer_than_the_window_needs_max_unit_tokens(short_window_dir):
    model = A2NetModel.from_encoder(str(short_window_dir), **SMALL).eval()
    tokenizer = AutoTokenizer.from_pretrained(short_window_dir)
    rows = [{"units": ["i was so happy", " ".join(["happy"] * 40), "she felt sad"]}]
    with pytest.raises(ValueError, match="unit 1 has 42 tokens.*max_unit_tokens"):
        model(**ClauseCollator(tokenizer)(rows))
    output = model(**ClauseCollator(tokenizer, max_unit_tokens=32)(rows))
    assert torch.isfinite(output.pair_logits[output.candidate_mask]).all()


# ----- decoding -------------------------------------------------------------------------------------------------


def hand_made_logits():
    unit_mask = torch.tensor([[True, True, True], [True, True, False]])
    candidate_mask = build_candidate_mask(unit_mask, 5)
    logits = torch.full((2, 3, 3), -3.0)
    logits[0, 0, 0], logits[0, 0, 1], logits[0, 1, 2] = -1.0, -2.0, -0.5  # every probability < 0.5
    logits[1, 1, 0], logits[1, 0, 1], logits[1, 0, 0], logits[1, 1, 1] = 3.0, 2.0, 1.0, 0.5
    logits[1, 1, 2] = logits[1, 2, 2] = 10.0  # padded unit 2: must never be decoded
    return logits, candidate_mask


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def pairs_of(decoded):
    return [[(e, c) for e, c, _ in doc_pairs] for doc_pairs in decoded]


def test_reference_decoding(model):
    logits, candidates = hand_made_logits()
    decoded = model.decode_pairs(logits, candidates)  # config default: reference, top-3, 0.5
    assert pairs_of(decoded) == [[(1, 2)], [(1, 0), (0, 1), (0, 0)]]  # doc 0: first kept although p < 0.5
    assert decoded[1][0][2] == pytest.approx(sigmoid(3.0))
    lexicon = torch.tensor([[False, False, False], [True, False, False]])
    assert pairs_of(model.decode_pairs(logits, candidates, lexicon_mask=lexicon)) == [
        [(1, 2)],
        [(1, 0), (0, 1), (0, 0)],  # emotion unit 0 has a lexicon word
    ]
    lexicon = torch.tensor([[True, True, True], [False, True, False]])
    assert pairs_of(model.decode_pairs(logits, candidates, lexicon_mask=lexicon)) == [[(1, 2)], [(1, 0)]]
    assert pairs_of(model.decode_pairs(logits, candidates, top_k=1)) == [[(1, 2)], [(1, 0)]]
    assert pairs_of(model.decode_pairs(logits, candidates, threshold=sigmoid(1.5))) == [[(1, 2)], [(1, 0), (0, 1)]]


def test_threshold_decoding_and_ties(model):
    logits, candidates = hand_made_logits()
    decoded = model.decode_pairs(logits, candidates, strategy="threshold")
    assert pairs_of(decoded) == [[], [(1, 0), (0, 1), (0, 0), (1, 1)]]
    assert [p for _, _, p in decoded[1]] == sorted((p for _, _, p in decoded[1]), reverse=True)
    assert pairs_of(model.decode_pairs(logits, candidates, strategy="threshold", top_k=2)) == [[], [(1, 0), (0, 1)]]
    model.config.decoding = "threshold"
    assert pairs_of(model.decode_pairs(logits, candidates)) == pairs_of(decoded)
    tied = torch.zeros(1, 2, 2)
    assert pairs_of(model.decode_pairs(tied, torch.ones(1, 2, 2, dtype=torch.bool), threshold=0.4)) == [
        [(0, 0), (0, 1), (1, 0), (1, 1)]
    ]


def test_decoding_accepts_numpy_and_rejects_nan(model):
    logits, candidates = hand_made_logits()
    assert model.decode_pairs(logits.numpy(), candidates.numpy()) == model.decode_pairs(logits, candidates)
    logits[1, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="row 1 contain NaN"):
        model.decode_pairs(logits, candidates)
    with pytest.raises(ValueError, match="strategy"):
        model.decode_pairs(logits, candidates, strategy="beam")


def test_decode_units():
    logits = torch.tensor([[1.0, -1.0, 2.0], [0.5, 3.0, 9.0]])
    unit_mask = torch.tensor([[True, True, True], [True, True, False]])
    decoded = A2NetModel.decode_units(logits, unit_mask)
    assert [[unit for unit, _ in units] for units in decoded] == [[0, 2], [0, 1]]
    assert decoded[0][1][1] == pytest.approx(sigmoid(2.0))
    assert [[u for u, _ in units] for units in A2NetModel.decode_units(logits, unit_mask, threshold=0.7)] == [
        [0, 2],
        [1],
    ]


def test_model_outputs_decode_end_to_end(model, collate):
    model.eval()
    batch = collate([{"units": row["units"]} for row in ROWS])
    output = model(**batch)
    decoded = model.decode_pairs(output.pair_logits, output.candidate_mask)
    assert all(1 <= len(pairs) <= 3 for pairs in decoded)
    assert all(e < 2 and c < 2 for e, c, _ in decoded[1])  # never the padded unit
    assert isinstance(AutoModel.from_config(model.config), A2NetModel)  # registered by `import hf_ecpe`


# ----- the interface every pair model shares --------------------------------------------------------------------


def test_config_declares_its_output_kind_and_no_speaker_input():
    assert A2NetConfig.output_kind == "pairs" and A2NetConfig.supports_speaker_ids is False
    assert "output_kind" not in A2NetConfig().to_dict()  # class attributes, not saved settings


def test_score_pairs_returns_pair_scores_and_ignores_speaker_ids(model, collate):
    model.eval()
    batch = collate(ROWS)
    output = model(**batch)
    scores = model.score_pairs(output.unit_states, batch["unit_mask"])
    with_speakers = model.score_pairs(output.unit_states, batch["unit_mask"], speaker_ids=torch.zeros(2, 3).long())
    assert isinstance(scores, modeling_a2net.PairScores) and modeling_a2net.A2NetScores is modeling_a2net.PairScores
    assert scores.category_logits is None and scores.emotion_features is not None
    for key in ("emotion_logits", "cause_logits", "pair_logits", "candidate_mask"):
        assert torch.equal(scores[key], output[key]) and torch.equal(with_speakers[key], output[key]), key


def test_decode_pair_logits_reads_two_way_logits_like_their_margins(model):
    logits, candidates = hand_made_logits()
    two_way = torch.stack([torch.zeros_like(logits), logits], dim=-1)
    assert model.decode_pairs(two_way, candidates) == model.decode_pairs(logits, candidates)
    assert modeling_a2net.decode_pair_logits(two_way, candidates, strategy="threshold", top_k=None) == (
        modeling_a2net.decode_pair_logits(logits, candidates, strategy="threshold", top_k=None)
    )
    assert torch.equal(modeling_a2net.pair_margins(two_way), logits)
    assert torch.allclose(modeling_a2net.pair_probabilities(two_way), torch.sigmoid(logits), atol=1e-6)


# ----- the encoder's Auto class ---------------------------------------------------------------------------------


def pair_models():
    from hf_ecpe import MultimodalPairScorerModel

    small_scorer = {"context_hidden_size": 8, "pair_hidden_size": 8, "relative_position_size": 4}
    return [(A2NetModel, SMALL), (MultimodalPairScorerModel, {**small_scorer, "speaker_embedding_size": 3})]


@pytest.fixture(scope="module")
def mlm_encoder_dir(tiny_encoder_dir, tmp_path_factory):
    """The tiny BERT with an MLM head (as a prompt-based method would use it), saved like a Hub checkpoint."""
    from transformers import BertForMaskedLM

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny_mlm")
    BertForMaskedLM.from_pretrained(tiny_encoder_dir).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_encoder_dir).save_pretrained(folder)
    return folder


@pytest.mark.parametrize(("model_class", "settings"), pair_models(), ids=["a2net", "pair_scorer"])
def test_an_encoder_with_an_mlm_head_is_kept_saved_and_rebuilt(model_class, settings, tmp_path, mlm_encoder_dir):
    from transformers import AutoModelForMaskedLM, BertForMaskedLM

    torch.manual_seed(0)
    model = model_class.from_encoder(str(mlm_encoder_dir), encoder_auto_class=AutoModelForMaskedLM, **settings)
    model.eval()
    assert type(model.encoder) is BertForMaskedLM and model.config.encoder_auto_class == "AutoModelForMaskedLM"
    mlm = BertForMaskedLM.from_pretrained(mlm_encoder_dir)
    for name, tensor in mlm.state_dict().items():  # the MLM head included
        assert torch.equal(model.encoder.state_dict()[name], tensor), name
    batch = ClauseCollator(AutoTokenizer.from_pretrained(mlm_encoder_dir))(ROWS)
    with torch.no_grad():  # unit vectors come from the last hidden state, not from the MLM logits
        hidden = model._run_encoder(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        base = model.encoder.bert(**{k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")})
        output = model(**batch)
    assert torch.equal(hidden, base.last_hidden_state)

    model.save_pretrained(tmp_path / "mlm")
    reloaded = AutoModel.from_pretrained(tmp_path / "mlm").eval()
    assert type(reloaded) is model_class and type(reloaded.encoder) is BertForMaskedLM
    with torch.no_grad():
        again = reloaded(**batch)
    assert torch.equal(again.pair_logits, output.pair_logits)

    # a loaded model: kept whole with its Auto class, its base model with AutoModel (the earlier behaviour)
    assert model_class.from_encoder(mlm, encoder_auto_class="AutoModelForMaskedLM", **settings).encoder is mlm
    kept = model_class.from_encoder(mlm, **settings)
    assert kept.encoder is mlm.bert and kept.config.encoder_auto_class == "AutoModel"
    with pytest.raises(ValueError, match="AutoModelForMaskedLM does not build BertModel"):
        model_class.from_encoder(mlm.bert, encoder_auto_class=AutoModelForMaskedLM, **settings)


def test_configs_saved_before_encoder_auto_class_load_with_automodel(model, collate, tmp_path):
    import json

    model.eval().save_pretrained(tmp_path / "old")
    config_file = tmp_path / "old" / "config.json"
    saved = json.loads(config_file.read_text())
    assert saved.pop("encoder_auto_class") == "AutoModel"
    config_file.write_text(json.dumps(saved))
    reloaded = AutoModel.from_pretrained(tmp_path / "old").eval()
    assert reloaded.config.encoder_auto_class == "AutoModel" and type(reloaded.encoder) is BertModel
    batch = collate(ROWS)
    with torch.no_grad():
        assert torch.equal(reloaded(**batch).pair_logits, model(**batch).pair_logits)
    with pytest.raises(ValueError, match="encoder_auto_class must name a transformers Auto model class"):
        A2NetConfig(encoder_auto_class="BertModel")
