"""Issue 22 item 3: ``scripts.train`` is short and declarative — arguments from dataclasses (the method config's
settings a generated dataclass), the toy corpus a registered corpus, the tiny encoder in :mod:`hf_ecpe.testing`, the
teacher loaded by the distillation trainer (its config read once), threshold selection a trainer hook."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from hf_ecpe.methods import get_method
from hf_ecpe.scripts import train
from hf_ecpe.scripts.arguments import UNSET, config_arguments_class, parse_train_args

REPO_ROOT = Path(__file__).resolve().parents[1]
PAIR_SCORER = str(REPO_ROOT / "recipes" / "pair_scorer_tiny.yaml")
A2NET = str(REPO_ROOT / "recipes" / "a2net_tiny.yaml")


def test_the_script_is_short_and_branches_on_no_trainer_class():
    source = Path(train.__file__).read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 300
    for pattern in (r"\._actions", r"issubclass\(", r"hasattr\(trainer", r"def synthetic_corpus", r"BertConfig"):
        assert not re.search(pattern, source), pattern


def test_config_settings_are_a_generated_dataclass_with_the_config_fields():
    spec = get_method("pair_scorer")
    settings = config_arguments_class(spec)
    assert dataclasses.is_dataclass(settings)
    assert [item.name for item in dataclasses.fields(settings)] == list(spec.config_fields())
    assert all(item.default is UNSET for item in dataclasses.fields(settings))  # the config keeps its own defaults


def test_config_values_one_or_many_none_and_recipe_lists(tmp_path):
    model_args, _, _ = parse_train_args(
        ["--config", PAIR_SCORER, "--emotion_categories", "neutral", "joy", "--candidate_window", "none"]
    )
    assert model_args.config_overrides["emotion_categories"] == ["neutral", "joy"]
    assert model_args.config_overrides["candidate_window"] is None
    assert model_args.config_overrides["context_hidden_size"] == 16  # from the recipe, typed by YAML
    recipe = tmp_path / "one.yaml"
    recipe.write_text(Path(PAIR_SCORER).read_text().replace("model:\n", "model:\n  emotion_categories: [neutral]\n"))
    model_args, _, _ = parse_train_args(["--config", str(recipe)])
    assert model_args.config_overrides["emotion_categories"] == ["neutral"]  # a recipe's one-item list stays a list
    model_args, _, _ = parse_train_args(["--config", str(recipe), "--emotion_categories", "neutral"])
    assert model_args.config_overrides["emotion_categories"] == "neutral"  # as before: one flag value is a scalar


def test_abbreviated_flags_are_unknown_not_guessed_and_bad_values_are_one_line_errors():
    with pytest.raises(ValueError, match=r"unknown argument\(s\) \['--pos_win'\]"):
        parse_train_args(["--config", A2NET, "--pos_win", "3"])
    with pytest.raises(ValueError, match="--pos_window.*expected at least one argument"):
        parse_train_args(["--config", A2NET, "--pos_window"])  # a setting without its value
    with pytest.raises(ValueError, match="--num_train_epochs.*invalid float value: 'two'"):
        parse_train_args(["--config", A2NET, "--num_train_epochs", "two"])


def test_the_toy_corpus_is_a_registered_generated_corpus():
    from hf_ecpe.data.corpora import CORPUS_NAMES, GENERATED_CORPUS_NAMES, get_corpus, load_corpus
    from hf_ecpe.data.corpora.synthetic import synthetic_corpus

    assert "synthetic" in GENERATED_CORPUS_NAMES and "synthetic" not in CORPUS_NAMES
    spec = get_corpus("synthetic")
    assert spec.generated and spec.configs == ("default",)
    data, loaded, config = load_corpus("synthetic", data_dir="/nonexistent", documents=8, seed=3)
    assert loaded is spec and config == "default"
    assert data["train"].to_list() == synthetic_corpus(8, seed=3)["train"].to_list()
    assert list(spec.build(None, splits=["test"], documents=4)) == ["test"]


def test_the_tiny_encoder_lives_in_the_testing_module():
    from hf_ecpe.testing import TINY_RANDOM, tiny_random_encoder

    encoder, tokenizer = tiny_random_encoder([["i was happy"]], hidden_size=8)
    assert TINY_RANDOM == "tiny-random" and encoder.config.hidden_size == 8 and "happy" in tokenizer.get_vocab()


def test_threshold_selection_is_a_trainer_hook():
    from hf_ecpe.trainers.base import EcpeTrainerMixin

    assert EcpeTrainerMixin.select_threshold(object(), dataset=[{"units": ["a"]}]) is None  # no threshold to choose


def _save_teacher(tiny_encoder_dir: Path, folder: Path) -> Path:
    from test_kd_ecs import tiny_teacher

    teacher, tokenizer = tiny_teacher(tiny_encoder_dir)
    teacher.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_the_student_trainer_loads_its_teacher_from_a_folder_reading_its_config_once(
    tiny_encoder_dir, tmp_path, monkeypatch
):
    from test_kd_ecs import ROW, tiny_student
    from transformers import PreTrainedConfig

    from hf_ecpe.data.kd_ecs import prepare_dataset
    from hf_ecpe.models.kd_ecs import KdEcsTeacherModel
    from hf_ecpe.trainers.kd_ecs import KdEcsStudentTrainer, KdEcsTrainingArguments

    folder = _save_teacher(tiny_encoder_dir, tmp_path / "teacher")
    reads: list[str] = []
    original = PreTrainedConfig._dict_from_json_file.__func__

    def counting(cls, json_file):
        if str(json_file).startswith(str(folder)):
            reads.append(str(json_file))
        return original(cls, json_file)

    monkeypatch.setattr(PreTrainedConfig, "_dict_from_json_file", classmethod(counting))
    student, tokenizer = tiny_student(tiny_encoder_dir)
    data = prepare_dataset([ROW], student.config, tokenizer)
    args = KdEcsTrainingArguments(
        output_dir=str(tmp_path / "out"), report_to="none", use_cpu=True, teacher_model_name_or_path=str(folder)
    )
    trainer = KdEcsStudentTrainer(model=student, args=args, train_dataset=data, processing_class=tokenizer)
    assert isinstance(trainer.accelerator.unwrap_model(trainer.teacher_model), KdEcsTeacherModel)
    assert all(not p.requires_grad for p in trainer.teacher_model.parameters())
    assert len(reads) == 1, reads  # the teacher's config: read once (it was read three times by scripts.train)
    no_kd, tokenizer = tiny_student(tiny_encoder_dir, alpha=1.0)
    reads.clear()
    trainer = KdEcsStudentTrainer(model=no_kd, args=args, train_dataset=data, processing_class=tokenizer)
    assert trainer.teacher_model is None and reads == []  # a student that does not distil loads no teacher


def test_the_distillation_trainer_takes_a_teacher_folder_or_says_what_is_missing(tmp_path):
    from hf_ecpe.trainers.distillation import DistillationTrainer, load_teacher

    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_teacher(tmp_path / "missing")
    assert DistillationTrainer.resolve_teacher(None, None) is None
    model = object()
    assert DistillationTrainer.resolve_teacher(model, None) is model
    with pytest.raises(ValueError, match="teacher_model_name_or_path"):
        DistillationTrainer(model=None, args=None)
