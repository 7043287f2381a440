"""RPCL as a training option of EcpeTrainer, for both pair backbones (A2Net and the conversational pair scorer)."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from transformers import AutoTokenizer

import hf_ecpe  # noqa: F401  (registration)
from hf_ecpe import A2NetModel, MultimodalPairScorerModel
from hf_ecpe.data import FEATURES, make_pair
from hf_ecpe.data.collators import ClauseCollator
from hf_ecpe.losses.rpcl import ccps_loss, cdmr_loss, corruption_keep_mask, pair_probabilities
from hf_ecpe.trainers import EcpeTrainer, EcpeTrainingArguments

UNITS = [
    ["i was so happy", "because i passed the exam", "she felt sad", "when her dog died", "today"],
    ["he is angry", "that they lost the game", "we were surprised", "to see snow in july"],
]
PAIRS = [[(0, 1), (2, 3)], [(0, 1), (2, 3), (2, 2)]]


def rows(n: int = 4) -> Dataset:
    data = []
    for i in range(n):
        units, pairs = UNITS[i % 2], PAIRS[i % 2]
        data.append(
            {
                "id": f"d{i}",
                "kind": "conversation",
                "language": "en",
                "units": units,
                "speakers": ["A", "B"] * (len(units) // 2) + ["A"] * (len(units) % 2),
                "emotions": ["neutral"] * len(units),
                "pairs": [make_pair(e, c) for e, c in pairs],
            }
        )
    return Dataset.from_list(data, features=FEATURES)


def a2net(encoder_dir) -> A2NetModel:
    torch.manual_seed(0)
    return A2NetModel.from_encoder(
        str(encoder_dir),
        pfn_hidden_size=8,
        position_embedding_size=4,
        unit_dropout=0.0,
        dropconnect=0.0,
        pair_dropout=0.0,
    )


def pair_scorer(encoder_dir) -> MultimodalPairScorerModel:
    torch.manual_seed(0)
    return MultimodalPairScorerModel.from_encoder(
        str(encoder_dir),
        candidates="all",
        context_hidden_size=8,
        pair_hidden_size=8,
        unit_dropout=0.0,
        context_dropout=0.0,
        pair_dropout=0.0,
        relative_position_size=4,
        speaker_embedding_size=4,
    )


def args(tmp_path, **overrides) -> EcpeTrainingArguments:
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


@pytest.mark.parametrize("build", [a2net, pair_scorer], ids=["a2net", "pair_scorer"])
def test_rpcl_loss_is_model_loss_plus_cdmr_plus_ccps(build, tiny_encoder_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    model = build(tiny_encoder_dir).train()  # head dropouts are 0 ...
    model.encoder.eval()  # ... and the encoder's own dropout off: train mode is deterministic
    batch = ClauseCollator(tokenizer)(list(rows(2)))
    base = EcpeTrainer(model=model, args=args(tmp_path), processing_class=tokenizer)
    rpcl = EcpeTrainer(model=model, args=args(tmp_path, rpcl=True, rpcl_rho=0.5), processing_class=tokenizer)
    base_loss = base.compute_loss(model, dict(batch))
    rpcl_loss = rpcl.compute_loss(model, dict(batch))

    out = model(**batch)
    cdmr = cdmr_loss(
        pair_probabilities(out.pair_logits),
        batch["pair_labels"],
        out.candidate_mask,
        torch.sigmoid(out.cause_logits),
        k=8,
        m0=0.05,
    )
    keep = corruption_keep_mask(batch["unit_mask"], batch["pair_labels"], 0.5, torch.Generator().manual_seed(3))
    corrupted = model.score_pairs(out.unit_states * keep.unsqueeze(-1), batch["unit_mask"])
    corrupted = corrupted["pair_logits"] if isinstance(corrupted, dict) else corrupted
    ccps = ccps_loss(out.pair_logits, corrupted, batch["pair_labels"], out.candidate_mask, 0.75, 0.2)
    expected = base_loss + 0.3 * cdmr + ccps["loss_ccps"]
    assert rpcl_loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert rpcl_loss.item() != pytest.approx(base_loss.item(), rel=1e-6)


@pytest.mark.parametrize("build", [a2net, pair_scorer], ids=["a2net", "pair_scorer"])
def test_rpcl_trains_logs_components_and_leaves_inference_unchanged(build, tiny_encoder_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    data = rows(4)
    model = build(tiny_encoder_dir)
    trainer = EcpeTrainer(model=model, args=args(tmp_path, rpcl=True), train_dataset=data, processing_class=tokenizer)
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "loss_cdmr" in entry]
    assert logged and all(key in logged[0] for key in ("loss_ccps_ce", "loss_ccps_align", "loss_pair"))
    # evaluation/prediction never runs the RPCL terms: identical to a trainer without them on the same weights
    plain = EcpeTrainer(model=model, args=args(tmp_path), processing_class=tokenizer)
    with_rpcl = trainer.predict(data)
    without = plain.predict(data)
    for a, b in zip(with_rpcl.predictions, without.predictions):
        assert torch.allclose(torch.as_tensor(a), torch.as_tensor(b))
    assert with_rpcl.metrics["test_loss"] == pytest.approx(without.metrics["test_loss"])


def test_rpcl_settings_are_validated(tmp_path):
    with pytest.raises(ValueError, match="RPCL settings out of range"):
        args(tmp_path, rpcl=True, rpcl_rho=1.5)


def test_rpcl_on_a_model_without_unit_states_is_a_clear_error(tiny_encoder_dir, tmp_path):
    class NoStates(torch.nn.Module):
        training = True

    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    trainer = EcpeTrainer(model=a2net(tiny_encoder_dir), args=args(tmp_path, rpcl=True), processing_class=tokenizer)
    with pytest.raises(ValueError, match="rpcl=True needs a pair model"):
        trainer.rpcl_terms(NoStates(), {"pair_labels": None, "unit_mask": None}, {"pair_logits": torch.zeros(1)})
