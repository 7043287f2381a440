"""The A2Net and RPCL papers' experiments as settings (docs/paper-experiments.md): each switch changes what it should
and nothing else; the defaults are the values recorded from the code before the switches existed."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import Dataset, DatasetDict
from transformers import AutoTokenizer, BertConfig

import hf_ecpe  # noqa: F401  (registration)
from hf_ecpe import A2NetConfig, A2NetModel
from hf_ecpe.data import FEATURES, make_pair
from hf_ecpe.data.collators import ClauseCollator
from hf_ecpe.evaluation.confidence import confidence_gaps, margin_violation_severity
from hf_ecpe.evaluation.lexicon import ClauseLexicon, WordLexicon, load_lexicon
from hf_ecpe.losses.rpcl import ccps_loss, cdmr_loss, corruption_keep_mask, pair_probabilities
from hf_ecpe.models.a2net.modeling_a2net import build_candidate_mask, inter_task_alignment_loss
from hf_ecpe.trainers import EcpeTrainingArguments, PairTrainer
from hf_ecpe.trainers.pair import StartEpochEarlyStopping, truncate_row

REPO_ROOT = Path(__file__).resolve().parents[1]
ENCODER = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)


# ----- a fixed batch (the one the golden values were recorded on) ------------------------------------------------


def fixed_batch() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 50, (2, 40), generator=generator)
    ids[:, 0] = 2
    attention = torch.ones(2, 40, dtype=torch.long)
    attention[1, 30:] = 0
    emotion, cause, pair = torch.zeros(2, 6), torch.zeros(2, 6), torch.zeros(2, 6, 6)
    pair[0, 2, 1] = pair[1, 3, 3] = 1
    emotion[0, 2] = cause[0, 1] = emotion[1, 3] = cause[1, 3] = 1
    return {
        "input_ids": ids,
        "attention_mask": attention,
        "unit_token_index": torch.tensor([[0, 8, 16, 24, 32, 36], [0, 10, 20, 25, 0, 0]]),
        "unit_mask": torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]).bool(),
        "emotion_labels": emotion,
        "cause_labels": cause,
        "pair_labels": pair,
    }


def fixed_model(**settings) -> A2NetModel:
    torch.manual_seed(1)
    config = A2NetConfig(encoder=ENCODER.to_dict(), pfn_hidden_size=8, position_embedding_size=4, **settings)
    return A2NetModel(config).eval()


# (loss, loss_alignment, sum of candidate logits, logit [1, 2, 1]) of the code before these settings, eval mode.
GOLDEN = {
    "reference": (0.9346994757652283, 0.00014557178656104952, -50.10203552246094, -1.7991697788238525),
    "per_document": (0.9375401735305786, 0.0072473459877073765, -50.10203552246094, -1.7991697788238525),
}


@pytest.mark.parametrize("reduction", sorted(GOLDEN))
def test_default_path_gives_the_values_recorded_before_the_switches(reduction):
    # Bit-identity was checked against the previous commit (loss, logits, every gradient, state-dict keys); here the
    # values it produced, with a tolerance for other CPUs' rounding.
    explicit = {"alignment_direction": "both", "feature_encoder": "pfn", "position_smoothing": "document"}
    for settings in ({}, explicit):
        out = fixed_model(alignment_reduction=reduction, **settings)(**fixed_batch())
        got = (
            out.loss.item(),
            out.loss_alignment.item(),
            out.pair_logits[out.candidate_mask].sum().item(),
            out.pair_logits[1, 2, 1].item(),
        )
        assert got == pytest.approx(GOLDEN[reduction], rel=1e-5)


def test_new_settings_are_validated():
    for field, value in (
        ("alignment_reduction", "eq13"),
        ("alignment_direction", "one"),
        ("feature_encoder", "lstm"),
        ("position_smoothing", "padded"),
    ):
        with pytest.raises(ValueError, match=field):
            A2NetConfig(**{field: value})
    with pytest.raises(ValueError, match="even"):
        A2NetConfig(feature_encoder="shared_bilstm", pfn_hidden_size=7)


# ----- alignment loss: Eq. 13 literally, one direction ----------------------------------------------------------


def appendix_batch():
    """The fixed batch of reference-methods-and-metrics.md appendix A.1."""
    emotion = torch.tensor([[2.0, -1.0, 0.5], [0.3, 1.2, -9.0]])
    cause = torch.tensor([[-0.5, 1.5, 0.0], [1.0, -2.0, -9.0]])
    v_e = torch.linspace(-1, 1, 1800).reshape(2, 3, 300)
    v_c = torch.cos(torch.arange(1800.0)).reshape(2, 3, 300)
    units = torch.tensor([[True, True, True], [True, True, False]])
    logits = torch.tensor(
        [[1.0, -1.0, 0.0, 0.5, 2.0, -0.5, 0.2, 0.1, -1.5], [0.0, 1.0, -2.0, 1.5, -0.3, 0.0, 0.0, 0.0, 0.0]]
    ).reshape(2, 3, 3)
    return emotion, cause, v_e, v_c, logits, build_candidate_mask(units, 5), units


def brute_force_eq13(emotion, cause, v_e, v_c, logits, candidates, units, direction="both"):
    """Eq. 13 per document by loops (float64), mean over documents."""
    losses = []
    for b in range(emotion.size(0)):
        n = int(units[b].sum())
        total = 0.0
        for i in range(n):
            scores = [float(v_e[b, i].double() @ v_c[b, j].double()) / math.sqrt(v_e.size(-1)) for j in range(n)]
            top = max(scores)
            alpha = [math.exp(s - top) / sum(math.exp(t - top) for t in scores) for s in scores]
            for j in range(n):
                if not candidates[b, i, j]:
                    continue
                sig = lambda x: 1.0 / (1.0 + math.exp(-float(x)))  # noqa: E731
                pseudo = alpha[j] * math.sqrt(sig(emotion[b, i]) * sig(cause[b, j]))
                pair = sig(logits[b, i, j])
                forward, backward = pseudo * math.log(pseudo / pair), pair * math.log(pair / pseudo)
                total += {"both": forward + backward, "ecpe_to_ee_ce": forward, "ee_ce_to_ecpe": backward}[direction]
        losses.append(0.5 * total)
    return sum(losses) / len(losses)


@pytest.mark.parametrize("direction", ["both", "ecpe_to_ee_ce", "ee_ce_to_ecpe"])
def test_paper_reduction_is_eq13_literally(direction):
    inputs = appendix_batch()
    got = inter_task_alignment_loss(*inputs, reduction="paper", direction=direction)
    assert got.item() == pytest.approx(brute_force_eq13(*inputs, direction=direction), rel=1e-5)


def pair_logit_gradient_norm(reduction: str, direction: str = "both") -> float:
    emotion, cause, v_e, v_c, logits, candidates, units = appendix_batch()
    logits = logits.clone().requires_grad_(True)
    inter_task_alignment_loss(emotion, cause, v_e, v_c, logits, candidates, units, reduction, direction).backward()
    return logits.grad[candidates].norm().item()


def test_gradient_norms_on_the_pair_logits_are_the_documented_ones():
    # docs/paper-experiments.md quotes these (appendix A.1 batch).
    assert pair_logit_gradient_norm("reference") == pytest.approx(7.711e-4, rel=1e-3)
    assert pair_logit_gradient_norm("per_document") == pytest.approx(1.073e-2, rel=1e-3)
    assert pair_logit_gradient_norm("paper") == pytest.approx(0.3287, rel=1e-3)


@pytest.mark.parametrize("reduction", ["reference", "per_document", "paper"])
def test_one_direction_keeps_half_of_one_kl_term(reduction):
    inputs = appendix_batch()
    both = inter_task_alignment_loss(*inputs, reduction=reduction)
    forward = inter_task_alignment_loss(*inputs, reduction=reduction, direction="ecpe_to_ee_ce")
    backward = inter_task_alignment_loss(*inputs, reduction=reduction, direction="ee_ce_to_ecpe")
    assert (forward + backward).item() == pytest.approx(both.item(), rel=1e-6)
    assert forward.item() != pytest.approx(backward.item(), rel=1e-4)
    if reduction == "reference":  # the directions of the reference code's two KLDivLoss terms
        assert both.item() == pytest.approx(0.0016957412, rel=1e-5)


def test_alignment_settings_change_only_the_alignment_term():
    batch = fixed_batch()
    default = fixed_model()(**batch)
    for settings in ({"alignment_reduction": "paper"}, {"alignment_direction": "ee_ce_to_ecpe"}):
        out = fixed_model(**settings)(**batch)
        assert torch.equal(out.pair_logits, default.pair_logits)
        assert torch.equal(out.loss_pair, default.loss_pair) and torch.equal(out.loss_emotion, default.loss_emotion)
        assert out.loss_alignment.item() != pytest.approx(default.loss_alignment.item(), rel=1e-3)
        expected = default.loss + 0.4 * (out.loss_alignment - default.loss_alignment)
        assert out.loss.item() == pytest.approx(expected.item(), rel=1e-5)


# ----- feature encoders (Table 2) and position smoothing ---------------------------------------------------------


@pytest.mark.parametrize("encoder", ["shared_bilstm", "parallel_bilstm"])
def test_bilstm_feature_encoders_replace_the_pfn(encoder):
    model = fixed_model(feature_encoder=encoder)
    names = set(model.state_dict())
    assert not any(name.startswith("partition_filter.") for name in names)
    assert any(name.startswith("bilstm_encoder.emotion_lstm.") for name in names)
    assert any(name.startswith("bilstm_encoder.cause_lstm.") for name in names) == (encoder == "parallel_bilstm")
    default_names = set(fixed_model().state_dict())
    assert {n for n in names if not n.startswith("bilstm_encoder.")} == {
        n for n in default_names if not n.startswith("partition_filter.")
    }
    batch = fixed_batch()
    out = model(**batch)
    assert torch.isfinite(out.loss)
    states = out.unit_states
    emotion, cause, shared = model.bilstm_encoder(states, batch["unit_mask"])
    assert torch.equal(shared, torch.zeros_like(shared))
    assert torch.equal(emotion, cause) == (encoder == "shared_bilstm")
    # packed sequences: the short document's states do not see its padding
    alone_e, alone_c, _ = model.bilstm_encoder(states[1:, :4], batch["unit_mask"][1:, :4])
    assert torch.allclose(emotion[1, :4], alone_e[0], atol=1e-6) and torch.allclose(
        cause[1, :4], alone_c[0], atol=1e-6
    )


def test_batch_position_smoothing_is_the_reference_and_changes_only_shorter_documents():
    batch = fixed_batch()
    default = fixed_model()(**batch)
    reference = fixed_model(position_smoothing="batch")(**batch)
    # the longest document (6 units) is the same; the shorter one (4 units) moves
    assert torch.allclose(reference.pair_logits[0], default.pair_logits[0], atol=1e-6)
    moved = (reference.pair_logits[1] - default.pair_logits[1])[default.candidate_mask[1]].abs().max().item()
    assert moved > 1e-3
    # the reference's feature: counts of every window pair of the padded length (N - |r|)
    scorer = fixed_model(position_smoothing="batch").pair_scorer
    padded = build_candidate_mask(torch.ones(1, 6, dtype=torch.bool), 5)
    assert torch.equal(
        scorer.smoothed_position_features(padded)[0], fixed_model().pair_scorer.smoothed_position_features(padded)[0]
    )


# ----- the reference lexicon ------------------------------------------------------------------------------------

LEXICON_UNITS = [
    ["i was so happy", "because i passed the exam", "she felt sad", "when her dog died", "today"],
    ["he is angry", "that they lost the game", "we were surprised", "to see snow in july"],
]


def lexicon_rows() -> Dataset:
    pairs = [[(0, 1), (2, 3)], [(0, 1), (2, 3)]]
    data = [
        {
            "id": f"{i + 1}",
            "kind": "document",
            "language": "en",
            "units": LEXICON_UNITS[i % 2],
            "speakers": [],
            "emotions": ["neutral"] * len(LEXICON_UNITS[i % 2]),
            "pairs": [make_pair(e, c) for e, c in pairs[i % 2]],
        }
        for i in range(4)
    ]
    return Dataset.from_list(data, features=FEATURES)


def test_clause_and_word_lexicons_from_files(tmp_path):
    clauses = tmp_path / "sentimental_clauses.json"
    clauses.write_text(json.dumps({"1": [1, 3], "2": [1], "3": [], "4": [4]}))
    words = tmp_path / "words.txt"
    words.write_text("sad\nangry\n")
    lexicon = load_lexicon(str(clauses))
    assert isinstance(lexicon, ClauseLexicon)
    rows = lexicon_rows()
    assert lexicon.unit_mask(rows[0]) == [True, False, True, False, False]  # 1-based clause numbers
    assert lexicon.unit_mask(rows[3]) == [False, False, False, True]
    word_lexicon = load_lexicon(str(words))
    assert isinstance(word_lexicon, WordLexicon)
    assert word_lexicon.unit_mask(rows[0]) == [False, False, True, False, False]
    assert load_lexicon("none") is None
    with pytest.raises(ValueError, match="no entry for document id"):
        lexicon.unit_mask({"id": "99", "units": ["a"]})
    with pytest.raises(ValueError, match="another version"):
        load_lexicon({"1": [9]}).unit_mask(rows[0])
    with pytest.raises(FileNotFoundError, match="data root"):
        load_lexicon("no/such/lexicon.json", data_root=tmp_path)
    assert isinstance(load_lexicon("sentimental_clauses.json", data_root=tmp_path), ClauseLexicon)


def test_the_shipped_ecpe_zh_lexicon_matches_the_corpus(data_root):
    from conftest import corpus_dir

    from hf_ecpe.data.corpora import get_corpus

    spec = get_corpus("ecpe_zh")
    corpus = spec.build(corpus_dir(data_root, spec.folder), "fold1")
    lexicon = load_lexicon("ecpe-zh/derived/sentimental_clauses.json", data_root=data_root)
    for split in corpus.values():
        for row in split.select(range(20)):
            assert len(lexicon.unit_mask(row)) == len(row["units"])


def lexicon_trainer(tmp_path, tiny_encoder_dir, lexicon):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    torch.manual_seed(0)
    model = A2NetModel.from_encoder(str(tiny_encoder_dir), pfn_hidden_size=8, position_embedding_size=4)
    model.config.decode_threshold = 0.0  # every probability passes: only the lexicon can drop ranks 2-3
    args = EcpeTrainingArguments(
        output_dir=str(tmp_path / "out"), use_cpu=True, report_to="none", disable_tqdm=True, decode_lexicon=lexicon
    )
    return PairTrainer(model=model, args=args, processing_class=tokenizer), model, tokenizer


def test_the_trainer_metrics_decode_with_the_lexicon(tmp_path, tiny_encoder_dir):
    rows = lexicon_rows()
    lexicon = tmp_path / "clauses.json"
    lexicon.write_text(json.dumps({"1": [], "2": [], "3": [], "4": []}))
    everything = tmp_path / "all.json"
    everything.write_text(json.dumps({"1": [1, 2, 3, 4, 5], "2": [1, 2, 3, 4], "3": [1, 2, 3, 4, 5], "4": [1, 2, 3]}))
    plain = lexicon_trainer(tmp_path, tiny_encoder_dir, None)[0].evaluate(rows)
    empty_trainer, model, _ = lexicon_trainer(tmp_path, tiny_encoder_dir, str(lexicon))
    empty = empty_trainer.evaluate(rows)
    assert model.config.decode_lexicon == str(lexicon)  # recorded for scripts.evaluate
    full = lexicon_trainer(tmp_path, tiny_encoder_dir, str(everything))[0].evaluate(rows)
    assert plain["eval_predicted_pairs_per_document"] == 3.0  # top-3, all above the threshold
    assert empty["eval_predicted_pairs_per_document"] == 1.0  # no sentiment clause: the top-1 only
    # a lexicon with every unit keeps ranks 2-3 wherever they are units of the document (doc 4 has units 1-3 only)
    assert full["eval_predicted_pairs_per_document"] <= plain["eval_predicted_pairs_per_document"]
    assert empty["eval_loss"] == pytest.approx(plain["eval_loss"])  # the loss never sees the lexicon
    _, unset, _ = lexicon_trainer(tmp_path, tiny_encoder_dir, "none")  # a recipe's lexicon switched off
    assert not hasattr(unset.config, "decode_lexicon")


def test_scripts_evaluate_uses_the_saved_lexicon_unless_told(tmp_path, tiny_encoder_dir):
    from hf_ecpe.scripts import evaluate

    lexicon = tmp_path / "clauses.json"
    lexicon.write_text(json.dumps({"1": [], "2": [], "3": [], "4": []}))
    trainer, model, tokenizer = lexicon_trainer(tmp_path, tiny_encoder_dir, str(lexicon))
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    DatasetDict({"test": lexicon_rows()}).save_to_disk(str(tmp_path / "data"))
    common = ["--model", str(folder), "--dataset_path", str(tmp_path / "data"), "--split", "test"]
    saved = evaluate.main([*common, "--output", str(tmp_path / "a.json")])["metrics"]
    off = evaluate.main([*common, "--lexicon", "none", "--output", str(tmp_path / "b.json")])["metrics"]
    assert saved["decoding"]["lexicon"] == str(lexicon) and saved["predicted_pairs_per_document"] == 1.0
    assert off["decoding"]["lexicon"] is None and off["predicted_pairs_per_document"] == 3.0


def test_recipes_run_the_reference_set_ups():
    sys.path.insert(0, str(REPO_ROOT))
    from hf_ecpe.scripts import train

    _, _, zh = train.parse_args(["--config", str(REPO_ROOT / "recipes" / "a2net_ecpe_zh.yaml")])
    assert zh.decode_lexicon == "ecpe-zh/derived/sentimental_clauses.json"
    assert zh.max_grad_norm == 0.0 and zh.num_train_epochs == 50
    assert zh.early_stopping_patience == 5 and zh.early_stopping_start_epoch == 35
    model_args, _, rpcl = train.parse_args(["--config", str(REPO_ROOT / "recipes" / "pair_scorer_ecf_rpcl.yaml")])
    assert rpcl.rpcl and rpcl.learning_rate == 5e-5 and rpcl.encoder_learning_rate == 1e-5
    assert rpcl.weight_decay == 1e-4 and rpcl.max_train_units == 35 and rpcl.early_stopping_patience == 5
    assert model_args.config_overrides["context_hidden_size"] == 400


# ----- RPCL controls and training settings -----------------------------------------------------------------------


def rpcl_row_setup():
    p = torch.tensor([[[0.60, 0.62, 0.30], [0.9, 0.8, 0.7], [0.0, 0.0, 0.5]]])
    labels = torch.zeros(1, 3, 3)
    labels[0, 0, 1] = 1
    candidates = torch.ones(1, 3, 3, dtype=torch.bool)
    q = torch.tensor([[0.2, 0.7, 0.1]])
    return p, labels, candidates, q


def test_fixed_margin_uses_m0_and_ignores_the_cause_head():
    p, labels, candidates, q = rpcl_row_setup()
    fixed = cdmr_loss(p, labels, candidates, q, k=2, m0=0.05, adaptive=False)
    expected = (max(0.0, 0.05 - (0.62 - 0.60)) + max(0.0, 0.05 - (0.62 - 0.30))) / 2
    assert fixed.item() == pytest.approx(expected, rel=1e-5)
    assert cdmr_loss(p, labels, candidates, 1 - q, k=2, adaptive=False).item() == pytest.approx(fixed.item())
    adaptive = cdmr_loss(p, labels, candidates, q, k=2, m0=0.05)
    assert adaptive.item() == pytest.approx(max(0.0, 0.05 * math.exp(0.2 - 0.7) - 0.02) / 2, rel=1e-5)


def test_corruption_without_gold_protection_differs_only_at_gold_units():
    unit_mask = torch.ones(4, 6, dtype=torch.bool)
    labels = torch.zeros(4, 6, 6)
    labels[:, 0, 1] = 1
    protected = corruption_keep_mask(unit_mask, labels, 0.5, torch.Generator().manual_seed(0))
    free = corruption_keep_mask(unit_mask, labels, 0.5, torch.Generator().manual_seed(0), protect_gold=False)
    assert protected[:, :2].all() and not free[:, :2].all()
    assert torch.equal(protected[:, 2:], free[:, 2:])


def rpcl_args(tmp_path, **overrides) -> EcpeTrainingArguments:
    values = dict(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=2,
        learning_rate=1e-3,
        use_cpu=True,
        report_to="none",
        disable_tqdm=True,
        save_strategy="no",
        seed=3,
        max_steps=2,
        logging_steps=1,
    )
    values.update(overrides)
    return EcpeTrainingArguments(**values)


def deterministic_a2net(encoder_dir) -> A2NetModel:
    torch.manual_seed(0)
    model = A2NetModel.from_encoder(
        str(encoder_dir), pfn_hidden_size=8, position_embedding_size=4, unit_dropout=0.0, dropconnect=0.0
    )
    model.config.pair_dropout = 0.0
    model.pair_scorer.dropout.p = 0.0
    model.train()
    model.encoder.eval()
    return model


def test_the_two_controls_are_the_paper_s_objectives(tiny_encoder_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    model = deterministic_a2net(tiny_encoder_dir)
    batch = ClauseCollator(tokenizer)(list(lexicon_rows().select(range(2))))
    base = PairTrainer(model=model, args=rpcl_args(tmp_path), processing_class=tokenizer).compute_loss(model, batch)
    out = model(**batch)
    # fixed-margin ranking: + 0.3 * CDMR with the fixed margin, no corrupted view
    fixed_args = rpcl_args(tmp_path, rpcl=True, rpcl_margin="fixed", rpcl_lambda_cor=0.0, rpcl_lambda_ali=0.0)
    fixed_trainer = PairTrainer(model=model, args=fixed_args, processing_class=tokenizer)
    total, components = fixed_trainer.rpcl_terms(model, batch, out)
    cdmr = cdmr_loss(
        pair_probabilities(out.pair_logits), batch["pair_labels"], out.candidate_mask, None, adaptive=False
    )
    assert set(components) == {"loss_cdmr"} and total.item() == pytest.approx(0.3 * cdmr.item(), rel=1e-5)
    assert fixed_trainer.compute_loss(model, batch).item() == pytest.approx(base.item() + total.item(), rel=1e-5)
    # utterance-dropout consistency: no CDMR, unprotected corruption, alignment only
    dropout_args = rpcl_args(
        tmp_path, rpcl=True, rpcl_lambda_row=0.0, rpcl_protect_gold=False, rpcl_lambda_cor=0.0, rpcl_rho=0.5
    )
    total, components = PairTrainer(model=model, args=dropout_args, processing_class=tokenizer).rpcl_terms(
        model, batch, out
    )
    keep = corruption_keep_mask(
        batch["unit_mask"], batch["pair_labels"], 0.5, torch.Generator().manual_seed(3), protect_gold=False
    )
    corrupted = model.score_pairs(out.unit_states * keep.unsqueeze(-1), batch["unit_mask"]).pair_logits
    ccps = ccps_loss(out.pair_logits, corrupted, batch["pair_labels"], out.candidate_mask, 0.0, 0.2)
    assert set(components) == {"loss_ccps_ce", "loss_ccps_align"}
    assert total.item() == pytest.approx(ccps["loss_ccps"].item(), rel=1e-5)


def test_encoder_learning_rate_splits_the_parameter_groups(tiny_encoder_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    model = deterministic_a2net(tiny_encoder_dir)
    plain = PairTrainer(model=model, args=rpcl_args(tmp_path, weight_decay=1e-4), processing_class=tokenizer)
    plain.create_optimizer()
    assert {group["lr"] for group in plain.optimizer.param_groups} == {1e-3}
    split = PairTrainer(
        model=model,
        args=rpcl_args(tmp_path, weight_decay=1e-4, encoder_learning_rate=1e-5),
        processing_class=tokenizer,
    )
    split.create_optimizer()
    encoder = {id(p) for p in model.encoder.parameters()}
    for group in split.optimizer.param_groups:
        inside = {id(p) in encoder for p in group["params"]}
        assert len(inside) == 1
        assert group["lr"] == (1e-5 if inside == {True} else 1e-3)
    assert sorted(g["weight_decay"] for g in split.optimizer.param_groups) == [0.0, 0.0, 1e-4, 1e-4]
    count = sum(len(g["params"]) for g in plain.optimizer.param_groups)
    assert sum(len(g["params"]) for g in split.optimizer.param_groups) == count


def test_early_stopping_counts_only_after_the_start_epoch():
    class State:
        best_metric, epoch = 0.5, 3.0

    class Args:
        greater_is_better = True

    callback = StartEpochEarlyStopping(patience=2, start_epoch=3)
    callback.check_metric_value(Args, State, None, 0.4)
    assert callback.early_stopping_patience_counter == 0  # epoch 3 <= start epoch
    State.epoch = 4.0
    callback.check_metric_value(Args, State, None, 0.4)
    assert callback.early_stopping_patience_counter == 1


def test_early_stopping_stops_training(tiny_encoder_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    model = deterministic_a2net(tiny_encoder_dir)
    args = rpcl_args(
        tmp_path,
        max_steps=-1,
        num_train_epochs=8,
        learning_rate=0.0,  # nothing changes: the metric never improves after epoch 1
        eval_strategy="epoch",
        save_strategy="epoch",
        load_best_model_at_end=True,
        early_stopping_patience=2,
    )
    rows = lexicon_rows()
    trainer = PairTrainer(model=model, args=args, train_dataset=rows, eval_dataset=rows, processing_class=tokenizer)
    trainer.train()
    assert trainer.state.epoch == 3.0  # epoch 1 sets the best; epochs 2 and 3 exhaust the patience
    with pytest.raises(ValueError, match="load_best_model_at_end"):
        rpcl_args(tmp_path, early_stopping_patience=2)


def test_max_train_units_truncates_training_batches_only(tiny_encoder_dir, tmp_path):
    row = dict(lexicon_rows()[0])
    cut = truncate_row(row, 3)
    assert cut["units"] == row["units"][:3] and len(cut["emotions"]) == 3
    assert [(p["emotion"], p["cause"]) for p in cut["pairs"]] == [(0, 1)]
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    rows = lexicon_rows()
    trainer = PairTrainer(
        model=deterministic_a2net(tiny_encoder_dir),
        args=rpcl_args(tmp_path, max_train_units=3),
        train_dataset=rows,
        processing_class=tokenizer,
    )
    assert next(iter(trainer.get_train_dataloader()))["unit_mask"].shape[1] == 3
    assert next(iter(trainer.get_eval_dataloader(rows)))["unit_mask"].shape[1] == 5


def test_confidence_diagnostics_by_hand():
    p = np.array([[0.6, 0.62, 0.3], [0.9, 0.8, 0.7], [0.0, 0.0, 0.5]])
    candidates = np.ones((3, 3), dtype=bool)
    gold = {(0, 1), (2, 2)}
    assert confidence_gaps(p, candidates, gold) == pytest.approx([0.02, 0.5])
    severity = margin_violation_severity([(p, candidates, gold)], m0=0.05, k=1)
    assert severity["hard_negative"] == pytest.approx((0.03 + 0.0) / 2)  # hardest negatives: (0, 0) and (2, 0)
    assert severity["all_candidate"] == pytest.approx((0.03 + 0.0 + 0.0 + 0.0) / 4)
    assert severity["hard_negative_couples"] == 2 and severity["all_candidate_couples"] == 4


def test_rpcl_benchmark_carves_validation_by_conversation_and_scores_the_floor():
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    import rpcl_ecf

    rows = Dataset.from_list([{"id": f"c{i}", "units": ["a", "b", "c"], "pairs": []} for i in range(20)])
    rest, carved = rpcl_ecf.carve_validation(rows, 0.1, seed=0)
    assert len(carved) == 2 and len(rest) == 18 and not set(carved["id"]) & set(rest["id"])
    dev = Dataset.from_list(
        [{"units": ["a", "b", "c"], "pairs": [{"emotion": 1, "cause": 0}, {"emotion": 2, "cause": 2}]}]
    )
    floor = rpcl_ecf.floor_scores(dev)  # predicted: (0,0) (1,1) (1,0) (2,2) (2,1)
    assert floor["precision"] == pytest.approx(2 / 5) and floor["recall"] == pytest.approx(1.0, abs=1e-7)
    assert set(rpcl_ecf.MODES) == {"base", "rpcl", "fixed_margin", "dropout_consistency"}


def test_feature_files_reach_the_multimodal_collator(tiny_encoder_dir, tmp_path):
    from hf_ecpe import MultimodalPairScorerModel
    from hf_ecpe.data.multimodal import ecf_utterance_key

    rows = lexicon_rows()
    vectors = {
        ecf_utterance_key(row, i): np.full(3, i, dtype=np.float32) for row in rows for i in range(len(row["units"]))
    }
    np.savez(tmp_path / "audio.npz", **vectors)
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    settings = dict(context_hidden_size=8, pair_hidden_size=8, relative_position_size=4, speaker_embedding_size=4)
    model = MultimodalPairScorerModel.from_encoder(str(tiny_encoder_dir), audio_dim=3, **settings)
    trainer = PairTrainer(
        model=model,
        args=rpcl_args(tmp_path, audio_features=str(tmp_path / "audio.npz")),
        train_dataset=rows,
        processing_class=tokenizer,
    )
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["audio_features"].shape[-1] == 3 and "visual_features" not in batch
    trainer.train()
    wrong = MultimodalPairScorerModel.from_encoder(str(tiny_encoder_dir), audio_dim=5, **settings)
    with pytest.raises(ValueError, match="audio_dim"):
        PairTrainer(
            model=wrong,
            args=rpcl_args(tmp_path, audio_features=str(tmp_path / "audio.npz")),
            processing_class=tokenizer,
        )
