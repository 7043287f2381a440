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

from hf_ecpe.scripts import train

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
    assert not train.is_complete_checkpoint(last) and train.is_complete_checkpoint(checkpoints[-2])
    assert train.last_complete_checkpoint(out) == str(checkpoints[-2])
    with caplog.at_level("WARNING"):
        metrics = train.main([*args, "--num_train_epochs", "3", "--resume_from_checkpoint", "true"])
    assert f"skipping the incomplete checkpoint {last}" in caplog.text
    assert metrics["run"]["resumed_from"] == str(checkpoints[-2])
    state = json.loads((out / "trainer_state.json").read_text())
    logged_steps = [entry["step"] for entry in state["log_history"] if "loss" in entry]
    assert logged_steps[0] == 1  # the history restored from the checkpoint: steps before the resume are there
    assert metrics["train"]["train_loss"] == pytest.approx(train.whole_run_train_loss(state["log_history"]))
    card = (out / "README.md").read_text(encoding="utf-8")
    table = [line for line in card.splitlines() if line.startswith("| 1.00 ") or line.startswith("| 3.00 ")]
    assert len(table) == 2  # the epoch before the resume and the last one


def test_explicit_resume_of_an_incomplete_checkpoint_is_refused(tmp_path):
    folder = tmp_path / "checkpoint-4"
    folder.mkdir()
    (folder / "trainer_state.json").write_text("{")
    with pytest.raises(ValueError, match="is not a complete checkpoint folder"):
        train._resume_checkpoint(str(folder), str(tmp_path))
    with pytest.raises(ValueError, match="has no complete checkpoint"):
        train._resume_checkpoint("true", str(tmp_path))


def test_card_and_metrics_name_the_data_really_used(tmp_path):
    data = train.synthetic_corpus(8, seed=1)
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
