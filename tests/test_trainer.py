"""EcpeTrainer / EcpeTrainingArguments / compute_metrics adapter on a tiny random A2Net (CPU, offline)."""

from __future__ import annotations

import math

import pytest
import torch
from datasets import Dataset, DatasetDict
from transformers import AutoTokenizer, TrainerCallback, TrainingArguments
from transformers.trainer_pt_utils import nested_concat
from transformers.trainer_utils import EvalPrediction

import hf_ecpe  # noqa: F401
from hf_ecpe._registration import register_all
from hf_ecpe.data.collators import ClauseCollator
from hf_ecpe.data.schema import FEATURES, make_pair
from hf_ecpe.evaluation.pairs import consistency_scores, ecpe_scores
from hf_ecpe.methods import get_method
from hf_ecpe.models import A2NetModel
from hf_ecpe.trainers import EcpeComputeMetrics, EcpeTrainer, EcpeTrainingArguments
from hf_ecpe.trainers.metrics import pack_labels, pack_predictions, unpack

LABEL_NAMES = get_method("a2net").label_names

register_all()
torch.set_num_threads(1)

CLAUSES = [
    ["i was so happy", "because i passed the exam", "today"],
    ["she felt sad", "when her dog died"],
    ["he is angry", "that they lost the game", "we were surprised", "to see snow in july"],
    ["my friend afraid of dark", "oh no", "that is terrible"],
    ["today lost job", "terrible", "she felt sad", "but got new puppy", "happy"],
    ["we were surprised", "to see snow in july"],
]
PAIRS = [[(0, 1)], [(0, 1)], [(0, 1), (2, 3)], [(2, 1)], [(2, 0), (4, 3)], [(0, 1)]]


def make_rows(n: int = 6) -> list[dict]:
    rows = []
    for i in range(n):
        units, pairs = CLAUSES[i % len(CLAUSES)], PAIRS[i % len(PAIRS)]
        rows.append(
            {
                "id": f"doc{i}",
                "kind": "document",
                "language": "en",
                "units": list(units),
                "speakers": [],
                "emotions": ["neutral"] * len(units),
                "pairs": [make_pair(e, c) for e, c in pairs],
            }
        )
    return rows


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_list(make_rows(6), features=FEATURES)


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder_dir):
    return AutoTokenizer.from_pretrained(tiny_encoder_dir)


def tiny_model(tiny_encoder_dir, seed: int = 0) -> A2NetModel:
    torch.manual_seed(seed)
    return A2NetModel.from_encoder(str(tiny_encoder_dir), pfn_hidden_size=16, position_embedding_size=8)


def tiny_args(tmp_path, **overrides) -> EcpeTrainingArguments:
    values = dict(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=2,
        per_device_eval_batch_size=4,
        learning_rate=1e-3,
        use_cpu=True,
        report_to="none",
        disable_tqdm=True,
        save_strategy="no",
        seed=7,
    )
    values.update(overrides)
    return EcpeTrainingArguments(**values)


# ---------------------------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------------------------


def test_training_arguments_defaults(tmp_path):
    args = tiny_args(tmp_path)
    assert args.remove_unused_columns is False
    assert args.label_names is None  # the trainer takes the method's
    assert args.ddp_broadcast_buffers is False
    best = tiny_args(tmp_path, eval_strategy="epoch", save_strategy="epoch", load_best_model_at_end=True)
    assert best.metric_for_best_model == "pair_f1" and best.greater_is_better is True
    with pytest.raises(ValueError, match="lr_restart_period"):
        tiny_args(tmp_path, lr_restart_period=0)


def test_plain_training_arguments_are_fixed_on_a_copy(tmp_path, tiny_encoder_dir, tokenizer, dataset):
    plain = TrainingArguments(output_dir=str(tmp_path / "plain"), use_cpu=True, report_to="none")
    assert plain.remove_unused_columns is True
    trainer = EcpeTrainer(
        model=tiny_model(tiny_encoder_dir), args=plain, train_dataset=dataset, processing_class=tokenizer
    )
    assert trainer.args.remove_unused_columns is False
    assert trainer.args.label_names == list(LABEL_NAMES)  # from the method spec
    assert plain.remove_unused_columns is True  # the caller's object is untouched
    assert trainer.model_accepts_loss_kwargs is False
    assert isinstance(trainer.data_collator, ClauseCollator)
    # label names the user set are kept (never overwritten)
    own = TrainingArguments(output_dir=str(tmp_path / "own"), use_cpu=True, report_to="none", label_names=["labels"])
    kept = EcpeTrainer(model=tiny_model(tiny_encoder_dir), args=own, train_dataset=dataset, processing_class=tokenizer)
    assert kept.args.label_names == ["labels"]


# ---------------------------------------------------------------------------------------------------------------
# Dataset validation
# ---------------------------------------------------------------------------------------------------------------


def test_missing_columns_say_what_to_do(tiny_encoder_dir, tokenizer, dataset, tmp_path):
    model = tiny_model(tiny_encoder_dir)
    renamed = dataset.rename_column("units", "clauses")
    with pytest.raises(ValueError, match=r"\['units'\].*rename_column\('clauses', 'units'\)"):
        EcpeTrainer(model=model, args=tiny_args(tmp_path), train_dataset=renamed, processing_class=tokenizer)
    no_pairs = dataset.remove_columns("pairs")
    with pytest.raises(ValueError, match=r"eval_dataset must contain the column\(s\) \['pairs'\]"):
        EcpeTrainer(model=model, args=tiny_args(tmp_path), eval_dataset=no_pairs, processing_class=tokenizer)


def test_dataset_dict_instead_of_split(tiny_encoder_dir, tokenizer, dataset, tmp_path):
    model = tiny_model(tiny_encoder_dir)
    splits = DatasetDict({"train": dataset, "validation": dataset})
    with pytest.raises(ValueError, match=r"got a DatasetDict with the splits \['train', 'validation'\]"):
        EcpeTrainer(model=model, args=tiny_args(tmp_path), train_dataset=splits, processing_class=tokenizer)
    with pytest.raises(ValueError, match=r"Did you mean eval_dataset=dataset\['train'\]"):
        EcpeTrainer(model=model, args=tiny_args(tmp_path), eval_dataset=splits, processing_class=tokenizer)
    # A plain dict of named evaluation sets is the Trainer's multi-eval feature and stays allowed.
    trainer = EcpeTrainer(
        model=model, args=tiny_args(tmp_path), eval_dataset={"a": dataset, "b": dataset}, processing_class=tokenizer
    )
    assert set(trainer.eval_dataset) == {"a", "b"}


def test_bad_rows_and_missing_tokenizer(tiny_encoder_dir, tokenizer, tmp_path):
    model = tiny_model(tiny_encoder_dir)
    tuples = Dataset.from_dict({"units": [["a", "b"]], "pairs": [[[0, 1]]]})
    with pytest.raises(ValueError, match="'pairs' must hold a list of"):
        EcpeTrainer(model=model, args=tiny_args(tmp_path), train_dataset=tuples, processing_class=tokenizer)
    with pytest.raises(ValueError, match="processing_class=AutoTokenizer"):
        EcpeTrainer(model=model, args=tiny_args(tmp_path))
    with pytest.raises(ValueError, match="is empty"):
        EcpeTrainer(
            model=model,
            args=tiny_args(tmp_path),
            train_dataset=Dataset.from_list(make_rows(1), features=FEATURES).select([]),
            processing_class=tokenizer,
        )


# ---------------------------------------------------------------------------------------------------------------
# Loss components
# ---------------------------------------------------------------------------------------------------------------


def test_loss_components_are_averaged_between_logs(tiny_encoder_dir, tokenizer, dataset, tmp_path):
    trainer = EcpeTrainer(
        model=tiny_model(tiny_encoder_dir), args=tiny_args(tmp_path), train_dataset=dataset, processing_class=tokenizer
    )
    for pair, emotion in ((1.0, 0.5), (3.0, 1.5)):
        trainer.track_loss_components(
            {"loss_pair": torch.tensor(pair), "loss_emotion": torch.tensor(emotion)}, training=True
        )
    trainer.track_loss_components({"loss_pair": torch.tensor(10.0)}, training=False)
    trainer.log({"loss": 0.25})
    train_log = trainer.state.log_history[-1]
    assert train_log["loss_pair"] == 2.0 and train_log["loss_emotion"] == 1.0 and train_log["loss"] == 0.25
    # the sums restart after each log
    trainer.track_loss_components({"loss_pair": torch.tensor(5.0)}, training=True)
    trainer.log({"loss": 0.1})
    assert trainer.state.log_history[-1]["loss_pair"] == 5.0
    # evaluation components get the metric prefix of the evaluation run
    trainer.log({"test_loss": 1.0, "test_runtime": 0.1})
    assert trainer.state.log_history[-1]["test_loss_pair"] == 10.0
    assert "loss_pair" not in trainer.state.log_history[-1]
    # tiny components (the reference alignment term is ~1e-5) are logged unrounded
    trainer.track_loss_components({"loss_alignment": torch.tensor(3e-5, dtype=torch.float64)}, training=True)
    trainer.log({"loss": 0.1})
    assert trainer.state.log_history[-1]["loss_alignment"] == pytest.approx(3e-5, rel=1e-6)


def test_predict_components_do_not_leak_into_the_next_evaluation(tiny_encoder_dir, tokenizer, dataset, tmp_path):
    trainer = EcpeTrainer(
        model=tiny_model(tiny_encoder_dir), args=tiny_args(tmp_path), eval_dataset=dataset, processing_class=tokenizer
    )
    first = trainer.evaluate()
    prediction = trainer.predict(dataset.select([0]))  # other documents, other component means; predict never logs
    assert prediction.metrics["test_pair_f1"] >= 0.0 and len(prediction.predictions) == 5
    second = trainer.evaluate()
    for name in ("eval_loss_pair", "eval_loss_emotion", "eval_loss_cause", "eval_loss_alignment"):
        assert second[name] == first[name]


def test_nan_component_replaced_by_running_mean(tiny_encoder_dir, tokenizer, dataset, tmp_path):
    trainer = EcpeTrainer(
        model=tiny_model(tiny_encoder_dir), args=tiny_args(tmp_path), train_dataset=dataset, processing_class=tokenizer
    )
    trainer.track_loss_components({"loss_pair": torch.tensor(2.0)}, training=True)
    trainer.track_loss_components({"loss_pair": torch.tensor(float("nan"))}, training=True)
    trainer.log({"loss": 1.0})
    assert trainer.state.log_history[-1]["loss_pair"] == 2.0


def test_train_with_accumulation_logs_every_component(tiny_encoder_dir, tokenizer, dataset, tmp_path):
    args = tiny_args(
        tmp_path, max_steps=2, gradient_accumulation_steps=2, logging_steps=1, eval_strategy="steps", eval_steps=2
    )
    trainer = EcpeTrainer(
        model=tiny_model(tiny_encoder_dir),
        args=args,
        train_dataset=dataset,
        eval_dataset=dataset,
        processing_class=tokenizer,
    )
    trainer.train()
    train_logs = [log for log in trainer.state.log_history if "loss" in log]
    assert len(train_logs) == 2
    for log in train_logs:
        for name in ("loss_pair", "loss_emotion", "loss_cause", "loss_alignment"):
            assert math.isfinite(log[name]) and log[name] >= 0
        # the weighted sum of the logged means is the total (the per-batch means of the micro-batches, averaged)
        total = log["loss_pair"] + 0.4 * (log["loss_emotion"] + log["loss_cause"]) + 0.4 * log["loss_alignment"]
        assert total == pytest.approx(log["loss"], abs=2e-3)
    eval_log = next(log for log in trainer.state.log_history if "eval_loss" in log)
    for name in ("eval_loss_pair", "eval_loss_emotion", "eval_loss_cause", "eval_loss_alignment", "eval_pair_f1"):
        assert name in eval_log
    for name in ("emotion_head_f1", "cause_head_f1", "emotion_consistency", "cause_consistency"):
        assert 0.0 <= eval_log[f"eval_{name}"] <= 1.0


# ---------------------------------------------------------------------------------------------------------------
# compute_metrics
# ---------------------------------------------------------------------------------------------------------------


def test_packed_predictions_survive_concatenation_and_score_like_the_metric(tiny_encoder_dir, tokenizer):
    model = tiny_model(tiny_encoder_dir).eval()
    collator = ClauseCollator(tokenizer)
    rows = make_rows(6)
    batches = [rows[:2], rows[2:5], rows[5:]]  # unit counts per batch differ: N = 3, 5, 2
    all_preds = all_labels = None
    expected_pairs, expected_emotions, expected_causes, gold = [], [], [], []
    for batch_rows in batches:
        batch = collator(batch_rows)
        with torch.no_grad():
            outputs = model(**batch)
        preds, labels = pack_predictions(outputs, batch["unit_mask"]), pack_labels(batch)
        all_preds = preds if all_preds is None else nested_concat(all_preds, preds, padding_index=-100)
        all_labels = labels if all_labels is None else nested_concat(all_labels, labels, padding_index=-100)
        for b, row in enumerate(batch_rows):
            n = len(row["units"])
            decoded = model.decode_pairs(
                outputs.pair_logits[b : b + 1, :n, :n], outputs.candidate_mask[b : b + 1, :n, :n]
            )
            expected_pairs.append([(e, c) for e, c, _ in decoded[0]])
            mask = batch["unit_mask"][b : b + 1, :n]
            expected_emotions.append(
                [i for i, _ in model.decode_units(outputs.emotion_logits[b : b + 1, :n], mask)[0]]
            )
            expected_causes.append([i for i, _ in model.decode_units(outputs.cause_logits[b : b + 1, :n], mask)[0]])
            gold.append(sorted((p["emotion"], p["cause"]) for p in row["pairs"]))

    numpy_preds = tuple(t.numpy() for t in all_preds)
    numpy_labels = tuple(t.numpy() for t in all_labels)
    docs, unpacked_gold = unpack(numpy_preds, numpy_labels)
    assert [d.n_units for d in docs] == [len(r["units"]) for r in rows]
    assert [sorted(g) for g in unpacked_gold] == gold

    metrics = EcpeComputeMetrics(model)(EvalPrediction(predictions=numpy_preds, label_ids=numpy_labels))
    reference = ecpe_scores(expected_pairs, gold)
    for key, value in reference.items():
        assert metrics[key] == pytest.approx(value, abs=1e-9)
    consistency = consistency_scores(expected_pairs, expected_emotions, expected_causes)
    assert metrics["emotion_consistency"] == pytest.approx(consistency["emotion_consistency"])
    # emotion head F1 by hand: head-selected units vs. the emotion units of the gold pairs
    tp = sum(len(set(h) & {e for e, _ in g}) for h, g in zip(expected_emotions, gold))
    n_pred = sum(len(set(h)) for h in expected_emotions)
    n_gold = sum(len({e for e, _ in g}) for g in gold)
    precision = tp / (n_pred + 1e-8)
    assert metrics["emotion_head_precision"] == pytest.approx(precision, abs=1e-9)
    assert metrics["emotion_head_recall"] == pytest.approx(tp / (n_gold + 1e-8), abs=1e-9)


def test_compute_metrics_on_known_logits(tiny_encoder_dir):
    """Hand-made logits: doc 0 (3 units) predicts (1, 0) correctly; doc 1 (2 units) predicts (0, 0), gold (1, 0)."""
    model = tiny_model(tiny_encoder_dir)
    fill = -1e4
    pair0 = torch.full((3, 3), -5.0)
    pair0[1, 0] = 4.0
    pair1 = torch.tensor([[3.0, -5.0], [-4.0, -5.0]])
    width = 9
    n_units = torch.tensor([[3.0], [2.0]])
    emotion = torch.tensor([[-5.0, 5.0, -5.0], [5.0, -5.0, -100.0]])
    cause = torch.tensor([[5.0, -5.0, -5.0], [5.0, -5.0, -100.0]])
    pair = torch.full((2, width), -100.0)
    pair[0, :9] = pair0.reshape(-1)
    pair[1, :4] = pair1.reshape(-1)
    candidates = torch.full((2, width), -100.0)
    candidates[0, :9] = 1.0
    candidates[1, :4] = 1.0
    gold = torch.full((2, width), -100.0)
    gold[0, :9] = torch.zeros(9).index_fill(0, torch.tensor([3]), 1.0)  # (1, 0) in a 3 x 3 block
    gold[1, :4] = torch.tensor([0.0, 0.0, 1.0, 0.0])  # (1, 0) in a 2 x 2 block
    assert fill < -100  # padding (-100) is never read as a logit
    prediction = EvalPrediction(
        predictions=tuple(t.numpy() for t in (n_units, emotion, cause, pair, candidates)),
        label_ids=(n_units.numpy(), gold.numpy()),
    )
    metrics = EcpeComputeMetrics(model, decode_kwargs={"strategy": "threshold"})(prediction)
    assert metrics["pair_precision"] == pytest.approx(0.5, abs=1e-7)
    assert metrics["pair_recall"] == pytest.approx(0.5, abs=1e-7)
    # emotion head: doc0 selects {1} (gold {1}), doc1 selects {0} (gold {1}) -> P = R = 0.5
    assert metrics["emotion_head_f1"] == pytest.approx(0.5, abs=1e-7)
    # cause head: doc0 {0} vs {0}, doc1 {0} vs {0} -> 1
    assert metrics["cause_head_f1"] == pytest.approx(1.0, abs=1e-7)
    # consistency: emotions implied by pairs {1}, {0}; head {1}, {0} -> 1
    assert metrics["emotion_consistency"] == pytest.approx(1.0, abs=1e-7)
    with pytest.raises(ValueError, match="packed by hf_ecpe.trainers.metrics"):
        EcpeComputeMetrics(model)(EvalPrediction(predictions=emotion.numpy(), label_ids=gold.numpy()))


# ---------------------------------------------------------------------------------------------------------------
# Schedule, resume, card
# ---------------------------------------------------------------------------------------------------------------


def test_reference_warm_restart_schedule(tiny_encoder_dir, tokenizer, dataset, tmp_path):
    args = tiny_args(tmp_path, lr_restart_period=2, lr_restart_mult=2, learning_rate=0.01, max_steps=7)
    trainer = EcpeTrainer(
        model=tiny_model(tiny_encoder_dir), args=args, train_dataset=dataset, processing_class=tokenizer
    )
    trainer.create_optimizer_and_scheduler(num_training_steps=7)
    assert isinstance(trainer.lr_scheduler, torch.optim.lr_scheduler.CosineAnnealingWarmRestarts)
    seen = []
    for _ in range(7):
        seen.append(trainer.lr_scheduler.get_last_lr()[0])
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
    # restarts after 2 and 2 + 4 steps: T_cur = 0,1 | 0,1,2,3 | 0
    periods = [(0, 2), (1, 2), (0, 4), (1, 4), (2, 4), (3, 4), (0, 8)]
    expected = [0.01 * (1 + math.cos(math.pi * t / period)) / 2 for t, period in periods]
    assert seen == pytest.approx(expected)


class StopAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_training_stop = True


def test_resume_from_checkpoint_gives_the_uninterrupted_weights(tiny_encoder_dir, tokenizer, tmp_path):
    rows = Dataset.from_list(make_rows(10), features=FEATURES)

    def run(output: str, callbacks=(), resume: str | None = None) -> EcpeTrainer:
        args = tiny_args(tmp_path, output_dir=str(tmp_path / output), max_steps=8, save_strategy="steps", save_steps=3)
        trainer = EcpeTrainer(
            model=tiny_model(tiny_encoder_dir, seed=3),
            args=args,
            train_dataset=rows,
            processing_class=tokenizer,
            callbacks=list(callbacks),
        )
        trainer.train(resume_from_checkpoint=resume)
        return trainer

    full = run("full")
    interrupted = run("interrupted", callbacks=[StopAt(3)])
    assert interrupted.state.global_step == 3
    checkpoint = tmp_path / "interrupted" / "checkpoint-3"
    assert (checkpoint / "model.safetensors").is_file() and (checkpoint / "modeling_a2net.py").is_file()
    resumed = run("interrupted", resume=str(checkpoint))
    assert resumed.state.global_step == 8

    at_checkpoint = interrupted.model.state_dict()
    final_full, final_resumed = full.model.state_dict(), resumed.model.state_dict()
    assert final_full.keys() == final_resumed.keys()
    for name in final_full:
        torch.testing.assert_close(final_resumed[name], final_full[name], rtol=0, atol=1e-6, msg=name)
    moved = [name for name in final_full if not torch.equal(final_full[name], at_checkpoint[name])]
    assert moved, "training after the checkpoint changed no weight"


def test_create_model_card_writes_the_hf_ecpe_card(tiny_encoder_dir, tokenizer, dataset, tmp_path):
    trainer = EcpeTrainer(
        model=tiny_model(tiny_encoder_dir), args=tiny_args(tmp_path), train_dataset=dataset, processing_class=tokenizer
    )
    trainer.create_model_card(language="en", dataset="toy set", tags=["demo"])
    text = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "library_name: hf-ecpe" in text and "- demo" in text and "toy set" in text
    assert "Joint Alignment of Multi-Task Feature and Label Spaces" in text
    assert "| 6 | 19 | 8 |" in text  # documents, units, distinct pairs of the training set
