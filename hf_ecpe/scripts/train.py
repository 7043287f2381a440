"""Train an hf_ecpe method (A2Net, pair scorer, KD-ECS, empathy, ...) from a YAML recipe, on one or more processes.

Usage::

    accelerate launch -m hf_ecpe.scripts.train --config recipes/a2net_ecpe_en.yaml
    accelerate launch -m hf_ecpe.scripts.train --config recipes/a2net_ecpe_en.yaml --dataset_config fold3 \\
        --output_dir outputs/a2net_ecpe_en_fold3
    # two processes on CPU (gloo); `--cpu --num_processes 2` would silently start ONE process:
    accelerate launch --multi_gpu --num_processes 2 --num_machines 1 --mixed_precision no --dynamo_backend no \\
        -m hf_ecpe.scripts.train --config recipes/a2net_tiny.yaml
    python -m hf_ecpe.scripts.train --config recipes/a2net_tiny.yaml      # also fine for one process

Arguments (:mod:`hf_ecpe.scripts.arguments`): :class:`ModelArguments`, :class:`DataArguments`, the method config's
settings (a generated dataclass) and the method trainer's training arguments, read by one ``HfArgumentParser``; the
recipe gives their values (flat or under ``model:`` / ``data:`` / ``training:``), flags override it.

A run builds the corpus (:func:`hf_ecpe.data.corpora.load_corpus`: ``dataset_name`` + ``dataset_config`` from
``data_dir``, or the generated ``synthetic`` corpus; or ``dataset_path``, a saved ``DatasetDict``) and the model (an
encoder, a packaged encoder by name, ``tiny-random`` (:mod:`hf_ecpe.testing`), or a checkpoint to continue), trains
with the method's trainer (a distilling student loads ``teacher_model_name_or_path`` itself) selecting epochs on
validation, lets the trainer choose its decision threshold there (``select_threshold``), evaluates on validation and
test, and writes the model, tokenizer, ``metrics.json`` and ``README.md`` to ``output_dir`` (main process).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from hf_ecpe.encoders import LANGUAGE_MODELS, checkpoint_reference, encoder_description, is_packaged_encoder
from hf_ecpe.scripts.arguments import DataArguments, ModelArguments, parse_train_args, print_help
from hf_ecpe.testing import TINY_RANDOM

logger = logging.getLogger("hf_ecpe.scripts.train")


def parse_args(argv: list[str] | None = None) -> tuple[ModelArguments, DataArguments, Any]:
    """(model, data, training) arguments: :func:`hf_ecpe.scripts.arguments.parse_train_args`."""
    return parse_train_args(list(sys.argv[1:] if argv is None else argv))


def load_data(data_args: DataArguments, seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """The ``DatasetDict`` of the run and a description for the model card (name, config, licence, language)."""
    from datasets import DatasetDict, load_from_disk

    from hf_ecpe.data.corpora import load_corpus

    info: dict[str, Any] = {"name": data_args.dataset_name, "config": data_args.dataset_config}
    if data_args.dataset_path:
        if data_args.dataset_name and data_args.dataset_name != "synthetic":
            logger.warning("dataset_path given: training on %s, not on dataset_name=%s", data_args.dataset_path, data_args.dataset_name)  # fmt: skip
        data = load_from_disk(data_args.dataset_path)
        if not isinstance(data, DatasetDict):
            raise ValueError(
                f"dataset_path {data_args.dataset_path} holds a single Dataset; save a DatasetDict with "
                "'train' (and 'validation' / 'test') splits"
            )
        # What was really loaded: the saved dataset, not a corpus a recipe may also name.
        info.update(name=Path(data_args.dataset_path).resolve().name, config=None, license=None)
    elif data_args.dataset_name:
        data, spec, config = load_corpus(
            data_args.dataset_name,
            data_args.dataset_config,
            data_args.data_dir,
            lenient=data_args.lenient,
            documents=data_args.synthetic_documents,
            seed=seed,
        )
        if spec.generated:  # e.g. the synthetic toy corpus: named by its description, its config as given
            info.update(name=spec.description or spec.name, license=spec.license or None)
        else:
            info.update(name=spec.name, config=config, license=spec.license or None)
    else:
        raise ValueError("no data: set dataset_name (a corpus name or 'synthetic') or dataset_path in the recipe")

    if data_args.train_split not in data:
        raise ValueError(f"the data has no {data_args.train_split!r} split (splits: {list(data)}); set train_split")
    for split, limit in (
        (data_args.train_split, data_args.max_train_samples),
        (data_args.eval_split, data_args.max_eval_samples),
        (data_args.test_split, data_args.max_test_samples),
    ):
        if split and split in data and limit is not None and limit < len(data[split]):
            info.setdefault("subsets", []).append(split)
            logger.warning("using the first %d of %d %s examples", limit, len(data[split]), split)
            data[split] = data[split].select(range(limit))
    if data_args.prepend_speaker:
        data = DatasetDict({split: ds.map(_prepend_speakers) for split, ds in data.items()})
    train = data[data_args.train_split]
    languages = sorted(set(train["language"])) if "language" in train.column_names else []
    info["language"] = data_args.language or (languages[0] if len(languages) == 1 else languages or None)
    return data, info


def _prepend_speakers(row: dict[str, Any]) -> dict[str, Any]:
    speakers = row.get("speakers") or []
    if len(speakers) != len(row["units"]):
        return {}
    return {"units": [f"{speaker}: {unit}" for speaker, unit in zip(speakers, row["units"])]}


def build_model(model_args: ModelArguments, train_units: list[list[str]]) -> tuple[Any, Any, dict[str, Any]]:
    """(model, tokenizer, encoder description for the card) from ``model_args`` and its method's spec: a fresh
    model over an encoder (``model_class.from_encoder``) or an existing checkpoint of the method to continue."""
    from transformers import AutoConfig, AutoTokenizer

    from hf_ecpe.encoders import resolve_encoder_path
    from hf_ecpe.methods import get_method
    from hf_ecpe.testing import tiny_random_encoder

    model_class = get_method(model_args.method).model_class
    overrides = dict(getattr(model_args, "config_overrides", {}) or {})
    if model_args.model_name_or_path == TINY_RANDOM:
        encoder, tokenizer = tiny_random_encoder(train_units, model_args.tiny_hidden_size, model_args.tiny_vocab_size)
        return model_class.from_encoder(encoder, **overrides), tokenizer, {"name": "random tiny BERT"}
    path = resolve_encoder_path(model_args.model_name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name_or_path or path)
    if isinstance(AutoConfig.from_pretrained(path), model_class.config_class):
        model = model_class.from_pretrained(path, **overrides)
        return model, tokenizer, {"name": (model.config.encoder or {}).get("_name_or_path") or Path(path).name}
    name = model_args.model_name_or_path
    if is_packaged_encoder(name) or name in LANGUAGE_MODELS:
        description = encoder_description(name)
    else:
        description = {"name": Path(name).resolve().name} if os.path.isdir(name) else {"name": name, "id": name}
    return model_class.from_encoder(path, **overrides), tokenizer, description


def check_arguments(spec: Any, model_args: ModelArguments, data_args: DataArguments, training_args: Any) -> None:
    """Every check that needs no data and no model, before anything is loaded or trained: sample limits, training
    numbers (:func:`hf_ecpe.trainers.runs.training_argument_problems`), ``metric_for_best_model`` against the
    method's metrics, a local model folder that exists, a writable ``output_dir``."""
    from hf_ecpe.trainers import runs

    limits = ("max_train_samples", "max_eval_samples", "max_test_samples")
    runs.check_sample_limits(**{name: getattr(data_args, name) for name in limits})
    if data_args.synthetic_documents < 1:
        raise ValueError(f"--synthetic_documents must be >= 1, got {data_args.synthetic_documents}")
    runs.check_training_arguments(training_args)
    trainer_class = spec.trainer_class()  # the config is not known yet: every metric the method may report
    metric = trainer_class.selection_metric(training_args, spec)
    runs.check_metric_name(metric, trainer_class.metric_names(spec), spec.name)
    if model_args.model_name_or_path != TINY_RANDOM:
        runs.check_model_path(model_args.model_name_or_path)
    runs.check_model_path(model_args.tokenizer_name_or_path, "tokenizer_name_or_path")
    if data_args.dataset_path and not Path(data_args.dataset_path).is_dir():
        raise FileNotFoundError(
            f"--dataset_path {data_args.dataset_path}: no such folder (a DatasetDict saved with save_to_disk)"
        )
    runs.check_writable_folder(training_args.output_dir)


def check_columns(data: Any, splits: list[str | None], spec: Any, source: str) -> None:
    """Every split the run trains or selects on must have the method's columns (canonical rows,
    :mod:`hf_ecpe.data.schema`); the message is the method trainer's (with renames to make)."""
    for split in splits:
        missing = [c for c in spec.required_columns if c not in data[split].column_names] if split in data else []
        if split and missing:
            message = spec.trainer_class()._missing_columns_message(f"{split!r} split", missing, data[split])
            raise ValueError(f"{source} (method {spec.name}): {message}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run a recipe; returns the metrics written to ``<output_dir>/metrics.json``."""
    from transformers import set_seed

    from hf_ecpe._registration import register_all
    from hf_ecpe.cli import setup_logging
    from hf_ecpe.methods import get_method
    from hf_ecpe.model_card import EcpeModelCardData
    from hf_ecpe.trainers.runs import prepare_output_dir, whole_run_train_loss

    argv = list(sys.argv[1:] if argv is None else argv)
    if {"-h", "--help", "--help_all"} & set(argv):
        print_help(argv)
        return {}
    register_all()
    model_args, data_args, training_args = parse_args(argv)
    spec = get_method(model_args.method)
    setup_logging(training_args.process_index == 0)
    check_arguments(spec, model_args, data_args, training_args)
    training_args, checkpoint, ignored_on_resume = prepare_output_dir(
        training_args, spec, model_args.overwrite_output_dir
    )
    set_seed(training_args.seed)
    data, data_info = load_data(data_args, seed=training_args.seed)
    source = f"--dataset_path {data_args.dataset_path}" if data_args.dataset_path else str(data_info.get("name"))
    check_columns(data, [data_args.train_split, data_args.eval_split], spec, source)
    splits = {"train": data_args.train_split, "eval": data_args.eval_split, "test": data_args.test_split}
    train_dataset, eval_dataset, test_dataset = (data[s] if s and s in data else None for s in splits.values())
    if eval_dataset is None and (training_args.eval_strategy != "no" or training_args.load_best_model_at_end):
        raise ValueError(
            f"the data has no {data_args.eval_split!r} split (splits: {list(data)}) for epoch selection; set "
            "eval_split to an existing split, or eval_strategy: 'no' and load_best_model_at_end: false"
        )

    model, tokenizer, encoder_info = build_model(model_args, train_dataset["units"])
    if model_args.trainable_encoder_layers is not None:
        from hf_ecpe.defaults import freeze_encoder_below

        frozen = freeze_encoder_below(model, model_args.trainable_encoder_layers)
        logger.info("froze %d encoder weights (top %d layers trainable)", len(frozen), model_args.trainable_encoder_layers)  # fmt: skip
    if data_args.prepend_speaker:
        if "prepend_speaker" not in spec.config_fields():
            raise ValueError(f"--prepend_speaker: the {spec.display_name} config has no prepend_speaker setting")
        model.config.prepend_speaker = True

    sample_counts = {"train": len(train_dataset)}
    for split, dataset in ((data_args.eval_split, eval_dataset), (data_args.test_split, test_dataset)):
        if dataset is not None:
            sample_counts[split] = len(dataset)
    card = EcpeModelCardData(
        language=data_info.get("language"),
        encoder_name=encoder_info.get("name"),
        encoder_id=encoder_info.get("id"),
        dataset_name=data_info.get("name"),
        dataset_config=data_info.get("config"),
        data_license=data_info.get("license"),
        eval_split=data_args.eval_split or "validation",
        model_id=training_args.hub_model_id if training_args.push_to_hub else None,
    )
    card.sample_counts = {s: n for s, n in sample_counts.items() if s in data_info.get("subsets", ())}
    trainer = spec.trainer_class()(  # a distilling student loads args.teacher_model_name_or_path itself
        model=model,
        args=training_args,
        train_dataset=spec.prepare(train_dataset, model.config, tokenizer, data_args.train_split),
        eval_dataset=(
            spec.prepare(eval_dataset, model.config, tokenizer, data_args.eval_split)
            if eval_dataset is not None
            else None
        ),
        processing_class=tokenizer,
        model_card_data=card,
        method=spec,
    )
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    threshold = trainer.select_threshold(trainer.eval_dataset)  # None for methods without a decision threshold
    trainer.save_model()  # every process: collective under FSDP/DeepSpeed; only the main one writes

    train_metrics = dict(train_result.metrics)
    whole = whole_run_train_loss(trainer.state.log_history)
    if whole is not None:
        train_metrics["train_loss"] = whole
    metrics: dict[str, Any] = {"train": train_metrics}
    if eval_dataset is not None:
        metrics[card.eval_split] = trainer.evaluate()
    if test_dataset is not None and len(test_dataset) and set(spec.required_columns) <= set(test_dataset.column_names):
        metrics[data_args.test_split] = trainer.evaluate(test_dataset, metric_key_prefix="test")
    metrics["best_model_checkpoint"] = trainer.state.best_model_checkpoint
    metrics["run"] = {
        "method": spec.name,
        "dataset": data_info.get("name"),
        "dataset_config": data_info.get("config"),
        "dataset_path": data_args.dataset_path,
        "samples": sample_counts,
        "subsets": sorted(data_info.get("subsets", ())),
        "encoder": encoder_info.get("id") or encoder_info.get("name"),
        "world_size": training_args.world_size,
        "seed": training_args.seed,
        "resumed_from": checkpoint,
        "ignored_on_resume": ignored_on_resume,
        "decode_threshold": threshold,
        "selection": (
            f"best {training_args.metric_for_best_model} on {card.eval_split}"
            if training_args.load_best_model_at_end
            else "last checkpoint"
        ),
    }
    if trainer.is_world_process_zero():
        output_dir = Path(training_args.output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True), encoding="utf-8")
        trainer.save_state()
        trainer.create_model_card()
        package = checkpoint_reference(model_args.model_name_or_path) if is_packaged_encoder(model_args.model_name_or_path) else None  # fmt: skip
        if model_args.trainable_encoder_layers is not None and package:
            from hf_ecpe.defaults import save_partial

            partial = save_partial(trainer.model, output_dir / "partial", tokenizer=tokenizer, encoder_weights_package=package)  # fmt: skip
            logger.info("wrote a partial checkpoint (frozen encoder restored from %s) to %s", package, partial)
        logger.info("wrote the model, metrics.json and README.md to %s", output_dir)
    if training_args.push_to_hub:
        trainer.push_to_hub()
    return metrics


def cli(argv: list[str] | None = None) -> None:
    """The command-line entry point: user errors are one line and exit status 2 (``--debug`` for the traceback)."""
    from hf_ecpe.cli import run_cli

    run_cli(main, argv, program="hf_ecpe.scripts.train")


if __name__ == "__main__":
    cli()
