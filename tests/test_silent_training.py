"""Regression tests for training and CLI behaviours that used to lose work or misreport (issue: nothing silent).

- an existing output folder is refused unless resuming or ``--overwrite_output_dir true``;
- resuming skips a half-written checkpoint, says which, and the run's ``train_loss`` and the card's table cover the
  whole run;
- the card / metrics name what was really trained (``--dataset_path``) and say when a split was a subset;
- CLI user errors are one line and exit status 2; ``--help`` lists ``--config`` and the library's arguments first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hf_ecpe.data.corpora.synthetic import synthetic_corpus
from hf_ecpe.scripts import train
from hf_ecpe.trainers import runs

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = str(REPO_ROOT / "recipes" / "a2net_tiny.yaml")
FAST = ["--synthetic_documents", "8", "--num_train_epochs", "2", "--per_device_train_batch_size", "4"]


def _env() -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def test_training_into_a_non_empty_output_dir_is_refused(tmp_path):
    out = tmp_path / "run"
    train.main(["--config", TINY, *FAST, "--output_dir", str(out)])
    before = (out / "model.safetensors").read_bytes()
    with pytest.raises(ValueError, match="is not empty .* --overwrite_output_dir true"):
        train.main(["--config", TINY, *FAST, "--output_dir", str(out), "--seed", "7"])
    assert (out / "model.safetensors").read_bytes() == before  # nothing was touched
    train.main(["--config", TINY, *FAST, "--output_dir", str(out), "--seed", "7", "--overwrite_output_dir", "true"])
    assert (out / "model.safetensors").read_bytes() != before


def test_resume_skips_a_half_written_checkpoint_and_reports_the_whole_run(tmp_path, caplog):
    out = tmp_path / "run"
    args = [
        "--config",
        TINY,
        "--synthetic_documents",
        "8",
        "--per_device_train_batch_size",
        "4",
        "--logging_steps",
        "1",
    ]
    args += ["--save_total_limit", "5", "--output_dir", str(out)]
    train.main([*args, "--num_train_epochs", "2"])
    checkpoints = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    last = checkpoints[-1]
    weights = last / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # a run killed while writing it
    assert not runs.is_complete_checkpoint(last) and runs.is_complete_checkpoint(checkpoints[-2])
    assert runs.last_complete_checkpoint(out) == str(checkpoints[-2])
    with caplog.at_level("WARNING"):
        metrics = train.main([*args, "--num_train_epochs", "3", "--resume_from_checkpoint", "true"])
    assert f"skipping the incomplete checkpoint {last}" in caplog.text
    assert metrics["run"]["resumed_from"] == str(checkpoints[-2])
    state = json.loads((out / "trainer_state.json").read_text())
    logged_steps = [entry["step"] for entry in state["log_history"] if "loss" in entry]
    assert logged_steps[0] == 1  # the history restored from the checkpoint: steps before the resume are there
    assert metrics["train"]["train_loss"] == pytest.approx(runs.whole_run_train_loss(state["log_history"]))
    card = (out / "README.md").read_text(encoding="utf-8")
    table = [line for line in card.splitlines() if line.startswith("| 1.00 ") or line.startswith("| 3.00 ")]
    assert len(table) == 2  # the epoch before the resume and the last one


def test_explicit_resume_of_an_incomplete_checkpoint_is_refused(tmp_path):
    folder = tmp_path / "checkpoint-4"
    folder.mkdir()
    (folder / "trainer_state.json").write_text("{")
    with pytest.raises(ValueError, match="is not a complete checkpoint folder"):
        runs.resolve_resume_checkpoint(str(folder), str(tmp_path))
    with pytest.raises(ValueError, match="has no complete checkpoint"):
        runs.resolve_resume_checkpoint("true", str(tmp_path))


def test_card_and_metrics_name_the_data_really_used(tmp_path):
    data = synthetic_corpus(8, seed=1)
    path = tmp_path / "my_conversations"
    data.save_to_disk(str(path))
    out = tmp_path / "run"
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        Path(TINY).read_text().replace("dataset_name: synthetic", "dataset_name: ecpe_en\n  dataset_config: fold1")
    )
    metrics = train.main(
        ["--config", str(recipe), "--dataset_path", str(path), "--num_train_epochs", "1", "--max_test_samples", "1"]
        + ["--output_dir", str(out)]
    )
    assert metrics["run"]["dataset"] == "my_conversations" and metrics["run"]["dataset_config"] is None
    assert metrics["run"]["samples"]["test"] == 1 and metrics["run"]["subsets"] == ["test"]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "ecpe_en" not in card and "fold1" not in card and "my_conversations" in card
    assert "name: my_conversations (1 test examples)" in card  # the model-index says the test F1 is on a subset


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--config", TINY, "--foo", "1"], r"unknown argument\(s\) \['--foo'\]"),
        (["--config", "nope.yaml"], "--config nope.yaml: no such recipe file"),
        (["--config", TINY, "--pos_window", "-3"], "pos_window"),
        (["--config", TINY, "--method", "nope"], "unknown method 'nope'"),
    ],
)
def test_cli_user_errors_are_one_line_and_exit_2(arguments, message, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "hf_ecpe.scripts.train", *arguments, "--output_dir", str(tmp_path / "out")],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("hf_ecpe.scripts.train: error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr
    import re

    assert re.search(message, errors[0]), errors[0]


def test_debug_shows_the_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "hf_ecpe.scripts.train", "--config", "nope.yaml", "--debug"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_help_lists_config_and_the_library_arguments_first(capsys):
    train.main(["--help"])
    text = capsys.readouterr().out
    assert text.index("--config") < text.index("--model_name_or_path") < text.index("--rpcl_k")
    assert "--pos_window" in text and "--help_all" in text
    assert len(text.splitlines()) < 200


def test_evaluate_and_sft_cli_errors_are_one_line(tmp_path):
    for module, arguments in (
        ("hf_ecpe.scripts.evaluate", ["--model", str(tmp_path / "missing"), "--corpus", "ecpe_en"]),
        ("hf_ecpe.scripts.sft", ["--config", "nope.yaml"]),
    ):
        done = subprocess.run(
            [sys.executable, "-m", module, *arguments],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 2, (module, done.stderr[-2000:])
        assert "Traceback" not in done.stderr and f"{module}: error:" in done.stderr


# ---------------------------------------------------------------------------------------------------------------
# Issue 27: arguments checked before training, resumes record what they used, no noise
# ---------------------------------------------------------------------------------------------------------------

PAIR_SCORER = str(REPO_ROOT / "recipes" / "pair_scorer_tiny.yaml")


def test_unknown_metric_for_best_model_is_refused_before_training(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=r"metric_for_best_model='bogus' is not a metric of the a2net method"):
        train.main(["--config", TINY, *FAST, "--output_dir", str(out), "--metric_for_best_model", "bogus"])
    assert not out.exists()  # nothing trained, nothing written (it used to train an epoch, then KeyError)
    # the trainer checks it too, for Python users (the model's method declares its metrics)
    from hf_ecpe.trainers import EcpeTrainer, EcpeTrainingArguments

    model, tokenizer, _ = train.build_model(train.ModelArguments(), synthetic_corpus(4)["train"]["units"])

    def trainer(metric: str) -> EcpeTrainer:
        args = EcpeTrainingArguments(output_dir=str(out), report_to="none", metric_for_best_model=metric)
        return EcpeTrainer(model=model, args=args, processing_class=tokenizer)

    for name in ("pair_f1", "eval_emotion_head_f1", "loss", "eval_loss_pair"):
        trainer(name)
    with pytest.raises(ValueError, match="'category_pair_f1' is not a metric"):
        trainer("category_pair_f1")  # an A2Net has no category head


def test_declared_metrics_cover_what_evaluation_reports_and_the_run_is_quiet(tmp_path, capfd, caplog):
    """Every metric a real pair-scorer evaluation reports is declared (so the up-front check cannot refuse a real
    one); with ``disable_tqdm`` no "Writing model shards" bar, and early stopping does not warn about the final test
    evaluation."""
    from hf_ecpe.methods import get_method
    from hf_ecpe.trainers import PairTrainer

    out = tmp_path / "run"
    with caplog.at_level("WARNING"):
        metrics = train.main(
            ["--config", PAIR_SCORER, "--synthetic_documents", "8", "--num_train_epochs", "2"]
            + ["--early_stopping_patience", "1", "--output_dir", str(out)]
        )
    captured = capfd.readouterr()
    assert "Writing model shards" not in captured.err + captured.out
    assert "did not find" not in caplog.text + captured.err
    declared = PairTrainer.metric_names(get_method("pair_scorer"))
    reported = {
        key[len("eval_") :]
        for key in metrics["validation"]
        if not key.endswith(("_runtime", "_per_second")) and key not in ("epoch",)
    }
    reported = {name for name in reported if name != "loss" and not name.startswith("loss_")}
    assert reported and reported <= declared, reported - declared


def test_resume_with_other_hyperparameters_records_what_was_used(tmp_path, caplog):
    out = tmp_path / "run"
    args = ["--config", TINY, "--synthetic_documents", "8", "--per_device_train_batch_size", "4"]
    args += ["--output_dir", str(out)]
    train.main([*args, "--num_train_epochs", "2"])
    recorded = json.loads(next(out.glob("checkpoint-*/hf_ecpe_training_args.json")).read_text())
    assert recorded["learning_rate"] == 3.0e-3 and recorded["seed"] == 42
    with caplog.at_level("WARNING"):
        metrics = train.main(
            [*args, "--num_train_epochs", "3", "--resume_from_checkpoint", "true", "--learning_rate", "0.5"]
            + ["--seed", "7"]
        )
    warnings = [record.getMessage() for record in caplog.records if "fix learning_rate" in record.getMessage()]
    assert len(warnings) == 1 and "learning_rate=0.5" in warnings[0] and "seed=7" in warnings[0]
    assert metrics["run"]["seed"] == 42  # the checkpoint's RNG states, not 7
    assert metrics["run"]["ignored_on_resume"] == {"learning_rate": 0.5, "seed": 7}
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "- learning_rate: 0.003" in card and "- seed: 42" in card
    assert "0.5" not in [line.split(": ")[-1] for line in card.splitlines() if line.startswith("- learning_rate")]


def test_cli_runs_show_no_weight_loading_bars(tiny_pair_model_dir, capfd):
    from transformers import AutoModel

    from hf_ecpe.cli import run_cli

    capfd.readouterr()
    run_cli(lambda argv: AutoModel.from_pretrained(tiny_pair_model_dir), [], program="test")
    captured = capfd.readouterr()
    assert "Loading weights" not in captured.err + captured.out
    from transformers.utils import logging as hf_logging

    assert hf_logging.is_progress_bar_enabled()  # the library's setting is restored after the command
