"""MultimodalPairScorerModel: construction, fusion, candidates, pair head, loss, RPCL hooks, decoding, save/load and
remote code."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import build_tiny_encoder, run_without_hf_ecpe
from transformers import AutoConfig, AutoModel, AutoTokenizer, BertConfig, BertModel
from transformers.dynamic_module_utils import check_imports, get_imports

import hf_ecpe
from hf_ecpe.data.collators import ClauseCollator
from hf_ecpe.data.multimodal import FeatureTable, MultimodalCollator
from hf_ecpe.losses.rpcl import RPCL_DEFAULTS, ccps_loss, cdmr_loss, corruption_keep_mask, pair_probabilities
from hf_ecpe.models.pair_scorer import (
    PAIR_LOGIT_FILL,
    MultimodalPairScorerConfig,
    MultimodalPairScorerModel,
    build_candidate_mask,
    decode_pair_logits,
    pair_margins,
    speaker_relations,
)
from hf_ecpe.models.pair_scorer.configuration_pair_scorer import TRAINING_ONLY_KEYS
from hf_ecpe.models.pair_scorer.modeling_pair_scorer import SPEAKER_UNKNOWN

MODEL_TYPE = "hf-ecpe-pair-scorer"
CODE_FILES = ("configuration_pair_scorer.py", "modeling_pair_scorer.py")
AUDIO_DIM, VISUAL_DIM = 6, 4
SMALL = {
    "context_hidden_size": 8,
    "context_num_heads": 2,
    "pair_hidden_size": 8,
    "relative_position_size": 4,
    "speaker_embedding_size": 3,
    "max_relative_position": 3,
}
ROWS = [
    {
        "id": "1",
        "units": ["i was so happy", "because i passed the exam", "she felt sad", "her dog died"],
        "speakers": ["A", "B", "A", "B"],
        "pairs": [{"emotion": 0, "cause": 1}, {"emotion": 2, "cause": 3}, {"emotion": 2, "cause": 2}],
    },
    {"id": "2", "units": ["he is angry", "they lost the game"], "speakers": ["C", "C"], "pairs": [[1, 0]]},
]


def feature_tables() -> tuple[FeatureTable, FeatureTable]:
    rng = np.random.default_rng(0)
    keys = [f"dia{row['id']}utt{k + 1}" for row in ROWS for k in range(len(row["units"]))]
    audio = {key: rng.normal(size=AUDIO_DIM) * 100 for key in keys}  # openSMILE-like scale
    visual = {key: rng.normal(size=VISUAL_DIM) for key in keys}
    return FeatureTable(audio, name="audio"), FeatureTable(visual, name="visual")


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder_dir):
    return AutoTokenizer.from_pretrained(tiny_encoder_dir)


@pytest.fixture(scope="module")
def collate(tokenizer):
    audio, visual = feature_tables()
    return MultimodalCollator(tokenizer, audio=audio, visual=visual)


@pytest.fixture()
def model(tiny_encoder_dir):
    torch.manual_seed(0)
    return MultimodalPairScorerModel.from_encoder(
        str(tiny_encoder_dir), audio_dim=AUDIO_DIM, visual_dim=VISUAL_DIM, **SMALL
    )


@pytest.fixture(scope="module")
def registered():
    """What ``hf_ecpe._registration.register_models`` will do once the model is in ``METHODS``."""
    AutoConfig.register(MODEL_TYPE, MultimodalPairScorerConfig, exist_ok=True)
    AutoModel.register(MultimodalPairScorerConfig, MultimodalPairScorerModel, exist_ok=True)
    MultimodalPairScorerConfig.register_for_auto_class()
    MultimodalPairScorerModel.register_for_auto_class("AutoModel")


# ----- construction and config ----------------------------------------------------------------------------------


def test_from_encoder_keeps_the_pretrained_encoder_weights(tiny_encoder_dir):
    pretrained = BertModel.from_pretrained(tiny_encoder_dir)
    for source in (str(tiny_encoder_dir), pretrained):
        model = MultimodalPairScorerModel.from_encoder(source, **SMALL)
        state = model.encoder.state_dict()
        for name, tensor in pretrained.state_dict().items():
            assert torch.equal(state[name], tensor), name
    assert model.config.encoder["model_type"] == "bert"
    assert model.fusion is None  # text only: h_t is the text vector
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_config_dict_builds_a_random_encoder_and_drops_trust_remote_code():
    encoder = BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    encoder = {**encoder.to_dict(), "trust_remote_code": True}
    config = MultimodalPairScorerConfig(encoder=encoder, audio_dim=AUDIO_DIM, **SMALL)
    assert "trust_remote_code" not in config.encoder
    model = MultimodalPairScorerModel(config)
    assert type(model.encoder) is BertModel and model.encoder.config.hidden_size == 16
    assert model.fusion.audio.projection.in_features == AUDIO_DIM and model.fusion.visual is None
    assert model.context.gru.hidden_size == 4 and model.context.gru.bidirectional
    assert model.pair_head.hidden_layer.in_features == 2 * 8 + 4 + 3
    assert "BertLayer" in model._no_split_modules and "PairScorerPairHead" in model._no_split_modules
    with pytest.raises(ValueError, match="MultimodalPairScorerConfig.encoder is None"):
        MultimodalPairScorerModel(MultimodalPairScorerConfig())


def test_config_validates_its_fields():
    for field, value in [
        ("candidates", "future"),
        ("context_layer", "lstm"),
        ("candidate_window", -1),
        ("audio_dim", -3),
        ("visual_dim", 2.5),
        ("decode_threshold", 1.0),
        ("decode_top_k", 0),
        ("emotion_loss_weight", -1),
        ("modality_layer_norm", "yes"),
        ("max_window_tokens", 2),
    ]:
        with pytest.raises(ValueError, match=field):
            MultimodalPairScorerConfig(**{field: value})
    with pytest.raises(ValueError, match="even"):
        MultimodalPairScorerConfig(context_hidden_size=7)
    with pytest.raises(ValueError, match="divisible"):
        MultimodalPairScorerConfig(context_layer="transformer", context_hidden_size=10, context_num_heads=4)
    with pytest.raises(ValueError, match="model_type"):
        MultimodalPairScorerConfig(encoder={"hidden_size": 16})
    assert MultimodalPairScorerConfig(audio_dim=0, visual_dim=None).audio_dim is None
    config = MultimodalPairScorerConfig(encoder={"model_type": "bert"}, candidates="window", candidate_window=2)
    again = MultimodalPairScorerConfig.from_dict(config.to_dict())
    assert (again.candidates, again.candidate_window, again.encoder) == ("window", 2, {"model_type": "bert"})


def test_config_shares_a2nets_settings_and_declares_speaker_support():
    """The settings that drifted: partial checkpoints, speaker prefixes and the encoder's Auto class exist here too,
    with A2Net's meaning; the class declares what the model returns and that it reads speaker ids."""
    assert MultimodalPairScorerConfig.output_kind == "pairs" and MultimodalPairScorerConfig.supports_speaker_ids
    default = MultimodalPairScorerConfig()
    assert (default.prepend_speaker, default.encoder_weights_package, default.encoder_auto_class) == (
        False,
        None,
        "AutoModel",
    )
    config = MultimodalPairScorerConfig(prepend_speaker=True, encoder_weights_package="some_encoder_pkg")
    again = MultimodalPairScorerConfig.from_dict(config.to_dict())
    assert again.prepend_speaker is True and again.encoder_weights_package == "some_encoder_pkg"
    assert hf_ecpe.A2NetConfig(prepend_speaker=True).prepend_speaker is True


def test_rpcl_settings_are_not_part_of_the_model():
    assert set(TRAINING_ONLY_KEYS) == set(RPCL_DEFAULTS)
    for key, value in RPCL_DEFAULTS.items():
        with pytest.raises(ValueError, match=f"{key}.*RPCL training settings"):
            MultimodalPairScorerConfig(**{key: value})
    assert not set(MultimodalPairScorerConfig().to_dict()) & set(RPCL_DEFAULTS)


def test_initialisation_of_the_new_layers(model):
    fresh = MultimodalPairScorerModel(model.config)
    recurrent = fresh.context.gru.weight_hh_l0  # (3 gates * 4, 4)
    assert torch.allclose(recurrent.T @ recurrent, torch.eye(4), atol=1e-5)  # orthogonal init
    assert (fresh.context.gru.bias_ih_l0 == 0).all() and (fresh.pair_head.output_layer.bias == 0).all()
    assert fresh.pair_head.hidden_layer.weight.std() < 0.05  # normal(0, 0.02)


def test_gradient_checkpointing(model, collate):
    model.gradient_checkpointing_enable()
    assert model.encoder.encoder.layer[0].gradient_checkpointing
    model.train()
    model(**collate(ROWS)).loss.backward()
    assert model.encoder.embeddings.word_embeddings.weight.grad is not None


# ----- forward, masks, loss -------------------------------------------------------------------------------------


def test_forward_shapes_masks_and_gradients(model, collate):
    batch = collate(ROWS)
    output = model(**batch)
    assert output.emotion_logits.shape == output.cause_logits.shape == (2, 4)
    assert output.pair_logits.shape == (2, 4, 4, 2)
    assert output.candidate_mask.shape == (2, 4, 4) and output.candidate_mask.dtype == torch.bool
    assert output.unit_states.shape == (2, 4, 16)
    past = torch.tril(torch.ones(4, 4, dtype=torch.bool))  # j <= i
    assert torch.equal(output.candidate_mask[0], past)
    real = torch.tensor([True, True, False, False])
    assert torch.equal(output.candidate_mask[1], past & real[:, None] & real[None, :])
    assert output.candidate_mask[1].sum() == 3  # (0,0), (1,0), (1,1)
    off = output.pair_logits[~output.candidate_mask]
    assert (off[:, 0] == 0).all() and (off[:, 1] == PAIR_LOGIT_FILL).all()
    assert (pair_probabilities(output.pair_logits)[~output.candidate_mask] == 0).all()
    assert (output.unit_states[1, 2:] == 0).all()
    assert torch.isfinite(output.loss)
    output.loss.backward()
    for name, parameter in [
        ("encoder", model.encoder.embeddings.word_embeddings.weight),
        ("audio", model.fusion.audio.projection.weight),
        ("visual", model.fusion.visual.projection.weight),
        ("gate", model.fusion.gate.weight),
        ("gru", model.context.gru.weight_hh_l0),
        ("position", model.pair_head.relative_positions.weight),
        ("speaker", model.pair_head.speaker_relations.weight),
        ("pair", model.pair_head.output_layer.weight),
    ]:
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_loss_is_pair_cross_entropy_plus_weighted_unit_terms(model, collate):
    model.eval()
    batch = collate(ROWS)
    output = model(**batch)
    mask, units = output.candidate_mask, batch["unit_mask"]
    loss_pair = F.cross_entropy(output.pair_logits[mask], batch["pair_labels"][mask].long())
    loss_emotion = F.binary_cross_entropy_with_logits(output.emotion_logits[units], batch["emotion_labels"][units])
    loss_cause = F.binary_cross_entropy_with_logits(output.cause_logits[units], batch["cause_labels"][units])
    assert torch.allclose(output.loss_pair, loss_pair)
    assert torch.allclose(output.loss_emotion, loss_emotion)
    assert torch.allclose(output.loss_cause, loss_cause)
    assert torch.allclose(output.loss, loss_pair + loss_emotion + loss_cause)
    model.config.emotion_loss_weight, model.config.cause_loss_weight = 0.5, 0.0
    assert torch.allclose(model(**batch).loss, loss_pair + 0.5 * loss_emotion)


def test_inference_without_labels_tuple_output_and_label_checks(model, collate):
    model.eval()
    batch = collate([{k: v for k, v in row.items() if k != "pairs"} for row in ROWS])
    output = model(**batch)
    assert output.loss is None and output.loss_pair is None and output.pair_logits is not None
    assert isinstance(model(**batch, return_dict=False), tuple)
    labelled = collate(ROWS)
    with pytest.raises(ValueError, match="Give all of emotion_labels"):
        model(**{k: v for k, v in labelled.items() if k != "pair_labels"})
    with pytest.raises(ValueError, match="pair_labels must have shape"):
        model(**{**labelled, "pair_labels": labelled["pair_labels"][:, :2]})
    with pytest.raises(ValueError, match="unit_token_index"):
        model(input_ids=labelled["input_ids"])
    holes = labelled["unit_mask"].clone()
    holes[0, 1] = False
    with pytest.raises(ValueError, match="prefix"):
        model(**{**labelled, "unit_mask": holes})


def test_modality_inputs_are_checked_and_used(model, collate, tokenizer):
    model.eval()
    batch = collate(ROWS)
    with pytest.raises(ValueError, match=r"configured with audio_dim=6: pass audio_features of shape \(B, N, 6\)"):
        model(**{k: v for k, v in batch.items() if k != "audio_features"})
    with pytest.raises(ValueError, match=r"visual_features must have shape \(2, 4, 4\)"):
        model(**{**batch, "visual_features": batch["visual_features"][..., :3]})
    changed = batch["audio_features"].clone()
    changed[0, 1, 0] += 50.0  # (a constant shift of the whole vector would vanish in the LayerNorm)
    before, after = model(**batch), model(**{**batch, "audio_features": changed})
    assert not torch.allclose(before.unit_states[0, 1], after.unit_states[0, 1])
    assert torch.equal(before.unit_states[0, 0], after.unit_states[0, 0])  # fusion is per utterance
    text_model = MultimodalPairScorerModel(MultimodalPairScorerConfig(encoder=model.config.encoder, **SMALL)).eval()
    with pytest.raises(ValueError, match="got audio_features but this model has no audio input"):
        text_model(**batch)
    text_batch = ClauseCollator(tokenizer)(ROWS)  # the A2Net collator serves the text-only model too
    assert torch.isfinite(text_model(**text_batch).loss)


def test_fusion_is_a_gated_residual_of_the_concatenation(model):
    fusion = model.fusion.eval()
    text, audio, visual = torch.randn(2, 3, 16), torch.randn(2, 3, AUDIO_DIM), torch.randn(2, 3, VISUAL_DIM)
    audio_p = F.gelu(fusion.audio.projection(F.layer_norm(audio, (AUDIO_DIM,), *_affine(fusion.audio.layer_norm))))
    visual_p = F.gelu(
        fusion.visual.projection(F.layer_norm(visual, (VISUAL_DIM,), *_affine(fusion.visual.layer_norm)))
    )
    joined = torch.cat([text, audio_p, visual_p], dim=-1)
    gate = torch.sigmoid(fusion.gate(joined))
    expected = gate * fusion.fuse(joined) + (1 - gate) * text
    assert torch.allclose(fusion(text, audio, visual), expected, atol=1e-6)


def _affine(layer_norm):
    return layer_norm.weight, layer_norm.bias


# ----- candidates, speakers, pair head --------------------------------------------------------------------------


def test_candidate_sets_by_hand():
    unit_mask = torch.tensor([[True] * 4 + [False]])
    expected = {
        "past": lambda i, j: j <= i,
        "window": lambda i, j: abs(i - j) <= 1,
        "all": lambda i, j: True,
    }
    for name, rule in expected.items():
        mask = build_candidate_mask(unit_mask, name, window=1)[0]
        hand = torch.tensor([[i < 4 and j < 4 and rule(i, j) for j in range(5)] for i in range(5)])
        assert torch.equal(mask, hand), name
    with pytest.raises(ValueError, match="candidates must be one of"):
        build_candidate_mask(unit_mask, "future")


@pytest.mark.parametrize("candidates", ["window", "all"])
def test_model_uses_the_configured_candidate_set(tiny_encoder_dir, collate, candidates):
    model = MultimodalPairScorerModel.from_encoder(
        str(tiny_encoder_dir),
        audio_dim=AUDIO_DIM,
        visual_dim=VISUAL_DIM,
        candidates=candidates,
        candidate_window=1,
        **SMALL,
    )
    batch = collate(ROWS)
    output = model(**batch)
    assert torch.equal(output.candidate_mask, build_candidate_mask(batch["unit_mask"], candidates, 1))
    assert torch.isfinite(output.loss)


def test_speaker_relations():
    unit_mask = torch.tensor([[True, True, True, False]])
    relations = speaker_relations(torch.tensor([[0, 1, 0, -1]]), unit_mask)[0]
    assert relations[0].tolist() == [1, 0, 1, 2] and relations[1].tolist() == [0, 1, 0, 2]
    assert (relations[3] == 2).all()
    assert speaker_relations(torch.tensor([[0, -1, 0, -1]]), unit_mask)[0, 1].tolist() == [2, 2, 2, 2]
    assert (speaker_relations(None, unit_mask) == 2).all()


def test_speaker_ids_change_only_the_pairs_whose_relation_changes(model, collate):
    model.eval()
    batch = collate(ROWS)
    base = model(**batch)
    swapped = batch["speaker_ids"].clone()
    swapped[0, 3] = 0  # utterance 3 now shares a speaker with 0 and 2 instead of 1
    other = model(**{**batch, "speaker_ids": swapped})
    changed = (other.pair_logits - base.pair_logits).abs().sum(-1) > 0
    assert changed[0, 3, 0] and changed[0, 3, 1] and changed[0, 3, 2]
    assert not changed[0, 1, 0] and not changed[1].any()
    unknown = model(**{k: v for k, v in batch.items() if k != "speaker_ids"})
    assert not torch.allclose(unknown.pair_logits[base.candidate_mask], base.pair_logits[base.candidate_mask])
    with pytest.raises(ValueError, match="speaker_ids must be an integer tensor"):
        model(**{**batch, "speaker_ids": batch["speaker_ids"].float()})


def _pair_logit_by_hand(head, emotion, cause, position_row: int, relation) -> torch.Tensor:
    """The pair head's 2 logits from the concatenation ``[c_i; c_j; R[position_row]; S[relation]]``."""
    features = torch.cat(
        [emotion, cause, head.relative_positions.weight[position_row], head.speaker_relations.weight[relation]]
    )
    return head.output_layer(F.gelu(head.hidden_layer(features)))


def test_pair_head_equals_the_linear_layer_over_the_concatenation(model):
    head = model.pair_head.eval()
    states = torch.randn(1, 5, 8)
    unit_mask = torch.ones(1, 5, dtype=torch.bool)
    speakers = torch.tensor([[0, 1, 0, 2, -1]])
    candidates = build_candidate_mask(unit_mask, "past")
    relations = speaker_relations(speakers, unit_mask)
    logits = head(states, candidates, relations)
    for i, j in [(0, 0), (3, 0), (4, 1), (2, 2)]:
        relative = min(max(i - j, -3), 3) + 3  # clipped at max_relative_position = 3
        expected = _pair_logit_by_hand(head, states[0, i], states[0, j], relative, relations[0, i, j])
        assert torch.allclose(logits[0, i, j], expected, atol=1e-6), (i, j)


def test_positions_per_relation_give_each_speaker_relation_its_own_position_table(tiny_encoder_dir):
    torch.manual_seed(0)
    model = MultimodalPairScorerModel.from_encoder(str(tiny_encoder_dir), positions_per_relation=True, **SMALL)
    head = model.pair_head.eval()
    assert head.relative_positions.num_embeddings == 3 * 7
    states = torch.randn(1, 5, head.hidden_size)
    unit_mask = torch.ones(1, 5, dtype=torch.bool)
    relations = speaker_relations(torch.tensor([[0, 1, 0, 2, -1]]), unit_mask)
    logits = head(states, build_candidate_mask(unit_mask, "all"), relations)
    for i, j in [(0, 0), (3, 0), (0, 4), (4, 1), (1, 2)]:
        row = int(relations[0, i, j]) * 7 + min(max(i - j, -3), 3) + 3
        expected = _pair_logit_by_hand(head, states[0, i], states[0, j], row, relations[0, i, j])
        assert torch.allclose(logits[0, i, j], expected, atol=1e-6), (i, j)
    with torch.no_grad():  # a document's (unknown speakers) +1 prior is not a conversation's
        head.relative_positions.weight[SPEAKER_UNKNOWN * 7 + 3 - 1] += 5.0
    moved = head(states, build_candidate_mask(unit_mask, "all"), relations)
    changed = (moved - logits).abs().sum(-1) > 0
    expected_changed = (relations == SPEAKER_UNKNOWN) & (torch.arange(5)[:, None] - torch.arange(5)[None, :] == -1)
    assert torch.equal(changed, expected_changed)
    with pytest.raises(ValueError, match="positions_per_relation must be True or False"):
        MultimodalPairScorerConfig(positions_per_relation="yes")


# ----- context and batch independence ---------------------------------------------------------------------------


@pytest.mark.parametrize("context_layer", ["bigru", "transformer", "none"])
def test_scores_of_a_conversation_do_not_depend_on_its_batch(tiny_encoder_dir, collate, context_layer):
    torch.manual_seed(0)
    model = MultimodalPairScorerModel.from_encoder(
        str(tiny_encoder_dir), audio_dim=AUDIO_DIM, visual_dim=VISUAL_DIM, context_layer=context_layer, **SMALL
    ).eval()
    with torch.no_grad():  # non-zero biases, as after training: a GRU reading padding would then drift
        for parameter in model.parameters():
            if parameter.dim() == 1:
                parameter.add_(0.5 * torch.randn_like(parameter))
    alone = model(**collate([ROWS[1]]))
    together = model(**collate(ROWS[::-1] + ROWS[:1]))  # padded to 4 utterances beside longer conversations
    assert torch.allclose(together.pair_logits[0, :2, :2], alone.pair_logits[0], atol=1e-5)
    assert torch.allclose(together.emotion_logits[0, :2], alone.emotion_logits[0], atol=1e-5)
    assert torch.allclose(together.cause_logits[0, :2], alone.cause_logits[0], atol=1e-5)


# ----- RPCL hooks -----------------------------------------------------------------------------------------------


def test_score_pairs_reruns_only_the_scorer_on_given_unit_states(model, collate):
    model.eval()
    batch = collate(ROWS)
    output = model(**batch)
    again = model.score_pairs(output.unit_states, batch["unit_mask"], batch["speaker_ids"])
    for key in ("emotion_logits", "cause_logits", "pair_logits", "candidate_mask"):
        assert torch.equal(again[key], output[key]), key
    assert again.category_logits is None and again.emotion_features is None  # no category head here
    keep = torch.tensor([[True, True, False, True], [True, True, True, True]])
    scored = model.score_pairs(output.unit_states * keep[:, :, None], batch["unit_mask"], batch["speaker_ids"])
    corrupted = scored.pair_logits
    mask = output.candidate_mask
    assert corrupted.shape == output.pair_logits.shape
    assert not torch.allclose(corrupted[0][mask[0]], output.pair_logits[0][mask[0]])
    assert torch.equal(corrupted[1], output.pair_logits[1])  # conversation 1 untouched
    with pytest.raises(ValueError, match="unit_states must have shape"):
        model.score_pairs(output.unit_states[:, :3], batch["unit_mask"])


def test_rpcl_objectives_train_through_the_model_and_leave_inference_unchanged(model, collate):
    """A CDMR + CCPS step (any RPCL settings) works on the model's outputs and changes nothing in its forward."""
    batch = collate(ROWS)
    model.eval()
    with torch.no_grad():
        before = model(**batch)
    model.train()
    for settings in (RPCL_DEFAULTS, {**RPCL_DEFAULTS, "cdmr_k": 1, "ccps_rho": 0.9, "lambda_cor": 2.0}):
        model.zero_grad()
        output = model(**batch)
        keep = corruption_keep_mask(
            batch["unit_mask"], batch["pair_labels"], settings["ccps_rho"], torch.Generator().manual_seed(0)
        )
        scored = model.score_pairs(output.unit_states * keep[:, :, None], batch["unit_mask"], batch["speaker_ids"])
        corrupted = scored.pair_logits
        row = cdmr_loss(
            pair_probabilities(output.pair_logits),
            batch["pair_labels"],
            output.candidate_mask,
            torch.sigmoid(output.cause_logits),
            k=settings["cdmr_k"],
            m0=settings["cdmr_m0"],
        )
        ccps = ccps_loss(
            output.pair_logits,
            corrupted,
            batch["pair_labels"],
            output.candidate_mask,
            settings["lambda_cor"],
            settings["lambda_ali"],
        )
        total = output.loss + settings["lambda_row"] * row + ccps["loss_ccps"]
        assert torch.isfinite(total)
        total.backward()
        assert model.encoder.embeddings.word_embeddings.weight.grad.abs().sum() > 0
        assert model.pair_head.output_layer.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        after = model(**batch)
    for key in ("pair_logits", "emotion_logits", "cause_logits", "unit_states", "loss"):
        assert torch.equal(after[key], before[key]), key


# ----- decoding -------------------------------------------------------------------------------------------------


def hand_made_logits() -> tuple[torch.Tensor, torch.Tensor]:
    candidate_mask = build_candidate_mask(torch.tensor([[True, True, True], [True, True, False]]), "past")
    logits = torch.zeros(2, 3, 3, 2)
    logits[..., 1] = -3.0
    logits[0, 1, 0] = torch.tensor([0.0, 2.0])  # P = sigmoid(2)
    logits[0, 2, 1] = torch.tensor([1.0, 1.5])  # P = sigmoid(0.5)
    logits[0, 2, 2] = torch.tensor([-1.0, -1.0])  # P = 0.5: not > 0.5
    logits[0, 0, 2] = torch.tensor([0.0, 9.0])  # not a candidate (cause after emotion)
    logits[1, 1, 0] = torch.tensor([0.0, 1.0])
    logits[1, 2, 2] = torch.tensor([0.0, 9.0])  # padded utterance
    return logits, candidate_mask


def sigmoid(x: float) -> float:
    return float(torch.sigmoid(torch.tensor(x)))


def test_threshold_decoding_on_softmax_probabilities(model):
    logits, candidates = hand_made_logits()
    decoded = model.decode_pairs(logits, candidates)
    assert [[(e, c) for e, c, _ in pairs] for pairs in decoded] == [[(1, 0), (2, 1)], [(1, 0)]]
    assert decoded[0][0][2] == pytest.approx(sigmoid(2.0)) and decoded[0][1][2] == pytest.approx(sigmoid(0.5))
    assert decode_pair_logits(logits, candidates, threshold=0.65)[0] == [(1, 0, pytest.approx(sigmoid(2.0)))]
    assert len(model.decode_pairs(logits, candidates, top_k=1)[0]) == 1
    model.config.decode_threshold = 0.0
    assert (2, 2, 0.5) in model.decode_pairs(logits, candidates)[0]  # the config's threshold is the default
    # binary margins (e.g. what a trainer packs) decode to the same pairs and probabilities
    assert model.decode_pairs(pair_margins(logits), candidates) == model.decode_pairs(logits, candidates)
    assert decode_pair_logits(logits.numpy(), candidates.numpy()) == decode_pair_logits(logits, candidates)


def test_reference_strategy_and_bad_inputs(model):
    logits, candidates = hand_made_logits()
    decoded = model.decode_pairs(logits, candidates, strategy="reference", threshold=0.7)
    assert [[(e, c) for e, c, _ in pairs] for pairs in decoded] == [[(1, 0)], [(1, 0)]]
    low = logits.clone()
    low[1, 1, 0] = torch.tensor([3.0, 0.0])
    assert [(e, c) for e, c, _ in model.decode_pairs(low, candidates, strategy="reference")[1]] == [(0, 0)]
    with pytest.raises(ValueError, match="strategy"):
        model.decode_pairs(logits, candidates, strategy="beam")
    with pytest.raises(ValueError, match="candidate_mask must have shape"):
        model.decode_pairs(logits, candidates[:, :2])
    nan = logits.clone()
    nan[0, 1, 0, 1] = float("nan")
    with pytest.raises(ValueError, match="row 0 contain NaN"):
        model.decode_pairs(nan, candidates)


def test_model_outputs_decode_end_to_end(model, collate):
    model.eval()
    batch = collate(ROWS)
    output = model(**batch)
    decoded = model.decode_pairs(output.pair_logits, output.candidate_mask, threshold=0.0)
    assert len(decoded[0]) == int(output.candidate_mask[0].sum()) and len(decoded[1]) == 3
    assert all(c <= e for pairs in decoded for e, c, _ in pairs)
    units = model.decode_units(output.emotion_logits, batch["unit_mask"], threshold=0.0)
    assert [len(u) for u in units] == [4, 2]


# ----- long conversations ---------------------------------------------------------------------------------------


def test_long_conversations_are_windowed_and_short_ones_unchanged(tmp_path_factory):
    folder = build_tiny_encoder(tmp_path_factory.mktemp("tiny_bert_32"), max_position_embeddings=32)
    torch.manual_seed(0)
    model = MultimodalPairScorerModel.from_encoder(str(folder), **SMALL).eval()
    collate = MultimodalCollator(AutoTokenizer.from_pretrained(folder))
    long = {"units": ["i was so happy"] * 20, "speakers": ["A", "B"] * 10, "pairs": [[19, 18], [10, 8]]}
    short = {"units": ["i was so happy", "because i passed the exam"], "speakers": ["A", "B"], "pairs": [[1, 0]]}
    batch = collate([short, long])
    assert batch["input_ids"].shape[1] == 120 > model.max_window_tokens == 32
    output = model(**batch)
    assert torch.isfinite(output.loss)
    assert (output.unit_states[1].abs().sum(-1) > 0).all()  # every utterance got a vector
    alone = model(**collate([short]))
    assert torch.allclose(output.unit_states[0, :2], alone.unit_states[0], atol=1e-5)
    assert torch.allclose(output.pair_logits[0, :2, :2], alone.pair_logits[0], atol=1e-5)


# ----- save / load / Auto classes / remote code -----------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory, tiny_encoder_dir, collate, registered):
    torch.manual_seed(0)
    model = MultimodalPairScorerModel.from_encoder(
        str(tiny_encoder_dir), audio_dim=AUDIO_DIM, visual_dim=VISUAL_DIM, candidates="window", **SMALL
    ).eval()
    folder = tmp_path_factory.mktemp("pair_scorer_checkpoint")
    model.save_pretrained(folder)
    return folder, model, collate(ROWS)


def test_save_pretrained_round_trip(saved):
    folder, model, batch = saved
    loaded = MultimodalPairScorerModel.from_pretrained(folder).eval()
    assert loaded.config.candidates == "window" and loaded.config.audio_dim == AUDIO_DIM
    with torch.no_grad():
        expected, got = model(**batch), loaded(**batch)
    for key in ("pair_logits", "emotion_logits", "cause_logits", "unit_states", "loss"):
        assert torch.equal(got[key], expected[key]), key


def test_auto_classes_and_checkpoint_contents(saved):
    folder, model, batch = saved
    assert type(AutoConfig.from_pretrained(folder)) is MultimodalPairScorerConfig
    loaded = AutoModel.from_pretrained(folder).eval()
    assert type(loaded) is MultimodalPairScorerModel
    with torch.no_grad():
        assert torch.equal(loaded(**batch).pair_logits, model(**batch).pair_logits)
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == MODEL_TYPE
    assert config["auto_map"] == {
        "AutoConfig": "configuration_pair_scorer.MultimodalPairScorerConfig",
        "AutoModel": "modeling_pair_scorer.MultimodalPairScorerModel",
    }
    assert not set(config) & set(RPCL_DEFAULTS)
    for name in CODE_FILES:
        path = str(folder / name)
        third_party = {module for module in get_imports(path) if module not in sys.stdlib_module_names}
        assert third_party == {"transformers"} | ({"torch"} if name.startswith("modeling") else set()), name
        # check_imports raises for a missing package and returns the same-folder (relative) imports
        assert {f"{module}.py" for module in check_imports(path)} <= set(CODE_FILES)


# Run by `run_without_hf_ecpe` (hf_ecpe cannot be imported) with the arguments: checkpoint folder, work folder.
REMOTE_SCRIPT = """
    import sys

    import torch
    from transformers import AutoModel

    folder, work = sys.argv[1:]
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    batch = torch.load(work + "/batch.pt")
    with torch.no_grad():
        output = model(**batch)
        rescored = model.score_pairs(output.unit_states, batch["unit_mask"], batch["speaker_ids"]).pair_logits
    decoded = model.decode_pairs(output.pair_logits, output.candidate_mask, threshold=0.0)
    torch.save(
        {
            "module": type(model).__module__,
            "name": type(model).__name__,
            "pair_logits": output.pair_logits,
            "emotion_logits": output.emotion_logits,
            "loss": output.loss,
            "rescored": rescored,
            "decoded": decoded,
        },
        work + "/remote.pt",
    )
    """


def test_remote_code_without_hf_ecpe_gives_identical_outputs(saved, tmp_path):
    folder, model, batch = saved
    torch.save(batch, tmp_path / "batch.pt")
    with torch.no_grad():
        expected = model(**batch)
    # outputs compared bit for bit: the same thread count as this process
    result = run_without_hf_ecpe(REMOTE_SCRIPT, [str(folder), str(tmp_path)], tmp_path, one_thread=False)
    assert result.returncode == 0, result.stderr[-3000:]
    remote = torch.load(tmp_path / "remote.pt")
    assert remote["module"].startswith("transformers_modules.")
    assert remote["name"] == "MultimodalPairScorerModel"
    assert torch.equal(remote["pair_logits"], expected.pair_logits)
    assert torch.equal(remote["rescored"], expected.pair_logits)
    assert torch.equal(remote["emotion_logits"], expected.emotion_logits)
    assert torch.equal(remote["loss"], expected.loss)
    assert remote["decoded"] == model.decode_pairs(expected.pair_logits, expected.candidate_mask, threshold=0.0)


def test_unit_pooling_copy_matches_a2net():
    """Each model folder is self-contained remote code, so `pool_units` exists twice: keep the copies identical."""
    from hf_ecpe.models.a2net import modeling_a2net
    from hf_ecpe.models.pair_scorer import modeling_pair_scorer

    torch.manual_seed(0)
    hidden = torch.randn(2, 9, 4)
    attention = torch.ones(2, 9, dtype=torch.long)
    attention[1, 6:] = 0
    index = torch.tensor([[0, 3, 5], [0, 4, 0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    for pooling in ("cls", "mean"):
        assert torch.equal(
            modeling_a2net.pool_units(hidden, attention, index, mask, pooling),
            modeling_pair_scorer.pool_units(hidden, attention, index, mask, pooling),
        )
