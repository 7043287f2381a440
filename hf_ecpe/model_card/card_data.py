"""Model-card metadata for hf_ecpe pair models (SpanMarker / SetFit style).

:class:`EcpeModelCardData` holds what the user states (dataset, base encoder, language, licence) and what training
fills in (hyperparameters, evaluation metrics per split, training-set statistics, library versions). It renders the
YAML front matter (with a ``model-index`` built from ``EvalResult``) and the variables of the Jinja template
``template.md`` shipped beside this file. Nothing here needs the network: Hub look-ups of ``dataset_id`` and
``encoder_id`` are skipped under ``HF_HUB_OFFLINE=1`` and time out quickly otherwise.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from platform import python_version
from typing import Any

from huggingface_hub import CardData, ModelCard
from huggingface_hub.repocard_data import EvalResult, eval_results_to_model_index
from huggingface_hub.utils import yaml_dump

logger = logging.getLogger(__name__)

TEMPLATE_PATH = Path(__file__).resolve().parent / "template.md"

# Front-matter keys, in this order; everything else only feeds the template.
YAML_FIELDS = (
    "language",
    "license",
    "library_name",
    "pipeline_tag",
    "tags",
    "base_model",
    "datasets",
    "metrics",
    "model-index",
)

# Metric families reported by ``hf_ecpe.trainers.metrics`` (key prefixes) with their display names.
METRIC_FAMILIES = {
    "strict": "Triplets, strict span match",
    "proportional": "Triplets, proportional span overlap",
    "unit_pair": "Unit pairs (projection of the triplets)",
    "unit_category_pair": "Unit pairs with category",
    "pair": "Pairs",
    "emotion": "Emotion units (projection of the pairs)",
    "cause": "Cause units (projection of the pairs)",
    "emotion_head": "Emotion head (EE)",
    "cause_head": "Cause head (CE)",
}

# model-index task per output kind: (type, name).
TASKS = {
    "pairs": ("emotion-cause-pair-extraction", "Emotion-Cause Pair Extraction"),
    "triplets": ("emotion-cause-triplet-extraction", "Emotion-Cause-Category Triplet Extraction"),
    "response": ("empathetic-response-generation", "Empathetic Response Generation"),
}

# Training-argument values that are noise in a card (paths, logging, hub plumbing).
_IGNORED_HYPERPARAMETERS = {"output_dir", "logging_dir", "hub_token", "push_to_hub_token", "run_name"}


def _versions() -> dict[str, str]:
    import datasets
    import tokenizers
    import torch
    import transformers

    from hf_ecpe._version import __version__

    return {
        "python": python_version(),
        "hf_ecpe": __version__,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "datasets": datasets.__version__,
        "tokenizers": tokenizers.__version__,
    }


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` is set (read at call time, so tests can toggle it)."""
    value = os.environ.get("HF_HUB_OFFLINE", "")
    if value.upper() in {"1", "ON", "YES", "TRUE"}:
        return True
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def is_on_hub(repo_id: str, repo_type: str = "model", timeout: float = 5.0) -> bool | None:
    """Whether ``repo_id`` exists on the Hub; ``None`` when that cannot be known (offline, no network, local path)."""
    if not repo_id or os.path.exists(repo_id) or repo_id.count("/") > 1 or hub_offline():
        return None
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        HfApi().repo_info(repo_id, repo_type=repo_type, timeout=timeout)
    except RepositoryNotFoundError:
        return False
    except Exception:  # no network, Hub down, gated repo: unknown, keep the id
        return None
    return True


def _format_number(value: float) -> str:
    return f"{value:.2e}" if value != 0 and abs(value) < 5e-5 else f"{value:.4f}"


def _markdown_table(rows: list[dict[str, Any]]) -> str:
    """A GitHub markdown table of ``rows`` (dicts with the same keys); floats with 4 decimals (3 significant digits
    in scientific notation when 4 decimals would show a non-zero value as 0.0000)."""
    if not rows:
        return ""
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(":---" for _ in header) + "|"]
    for row in rows:
        cells = [_format_number(value) if isinstance(value, float) else str(value) for value in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _metric_display_name(key: str) -> str:
    """``pair_f1`` → ``Pair F1``, ``strict_precision`` → ``Strict precision``."""
    words = key.split("_")
    words = [word.upper() if word in ("f1", "em", "auprc", "bleu") else word for word in words]
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


def _drop_empty(value: Any) -> Any:
    """Recursively drop ``None`` values and empty containers (invalid in Hub metadata, see transformers#28137)."""
    if isinstance(value, dict):
        cleaned = {k: _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value if v is not None]
    return value


@dataclass
class EcpeModelCardData(CardData):
    """Metadata and training record of an hf_ecpe pair model, rendered into its ``README.md``.

    Args:
        language: language code(s) of the training data, e.g. ``"en"``.
        license: licence of the released weights. Left unset by default: the corpora are research-only, so the
            publisher must decide (the card always states the data terms).
        model_name: display name; defaults to "<method> on <dataset> (<encoder>)".
        model_id: Hub id the model is published under (``"org/name"``), used in the usage snippet.
        encoder_name / encoder_id: display name and Hub id of the base encoder (``base_model`` in the metadata).
        dataset_name / dataset_id / dataset_config / dataset_revision: the training corpus; ``dataset_id`` only
            when it is a Hub dataset.
        data_license: licence / terms of the training data (the ECPE corpora are research-only).
        eval_split: the split behind the ``eval_*`` metrics (the validation split used for checkpoint selection).
        tags: Hub tags; the method tag is added from the model config.

    Example::

        >>> card = EcpeModelCardData(language="en", dataset_name="ECPE-en fold 1", encoder_id="org/encoder",
        ...                          data_license="research only")
        >>> trainer = EcpeTrainer(model, args, train_dataset=..., model_card_data=card)
    """

    # Provided by the user
    language: str | list[str] | None = None
    license: str | None = None
    model_name: str | None = None
    model_id: str | None = None
    encoder_name: str | None = None
    encoder_id: str | None = None
    dataset_name: str | None = None
    dataset_id: str | None = None
    dataset_config: str | None = None
    dataset_revision: str | None = None
    data_license: str | None = None
    eval_split: str = "validation"
    tags: list[str] = field(default_factory=lambda: ["hf-ecpe", "emotion-cause-pair-extraction"])
    task_name: str = "Emotion-Cause Pair Extraction"
    task_type: str = "emotion-cause-pair-extraction"

    # Filled by ``register_model``, the ``ModelCardCallback`` and the training script
    method: str | None = field(default=None, init=False)
    method_name: str | None = field(default=None, init=False)
    primary_metric: str = field(default="pair_f1", init=False)
    usage: str | None = field(default=None, init=False)
    pipeline_tag: str | None = field(default=None, init=False)
    output_kind: str = field(default="pairs", init=False)
    details: dict[str, str] = field(default_factory=dict, init=False)
    has_categories: bool = field(default=False, init=False)
    sample_counts: dict[str, int] = field(default_factory=dict, init=False)
    model_type: str | None = field(default=None, init=False)
    loss_description: str | None = field(default=None, init=False)
    method_config: dict[str, Any] = field(default_factory=dict, init=False)
    hyperparameters: dict[str, Any] = field(default_factory=dict, init=False)
    eval_results: dict[str, dict[str, float]] = field(default_factory=dict, init=False)
    eval_lines_list: list[dict[str, Any]] = field(default_factory=list, init=False)
    train_stats: dict[str, Any] = field(default_factory=dict, init=False)
    best_model_step: int | None = field(default=None, init=False)
    citations: dict[str, str] = field(default_factory=dict, init=False)
    library_name: str = field(default="hf-ecpe", init=False)
    version: dict[str, str] = field(default_factory=_versions, init=False)

    def __post_init__(self) -> None:
        if self.model_id and self.model_id.count("/") != 1:
            logger.warning(
                "model_id %r should be 'organization/name' (e.g. 'my-org/a2net-ecpe-en'); setting model_id to None.",
                self.model_id,
            )
            self.model_id = None
        for attr, repo_type in (("dataset_id", "dataset"), ("encoder_id", "model")):
            repo_id = getattr(self, attr)
            if repo_id and is_on_hub(repo_id, repo_type) is False:
                logger.warning("%s %r was not found on the Hugging Face Hub; setting it to None.", attr, repo_id)
                setattr(self, attr, None)

    # ------------------------------------------------------------------ filling
    def register_method(self, spec: Any) -> None:
        """Take the card information of a :class:`~hf_ecpe.methods.MethodSpec`: name, objective, citation, usage
        snippet, primary metric, pipeline task, tags."""
        self.method = spec.display_name
        self.method_name = spec.name
        self.loss_description = spec.loss_description or None
        self.primary_metric = spec.primary_metric
        self.usage = spec.usage or None
        self.pipeline_tag = spec.pipeline_tasks[0] if spec.pipeline_tasks else None
        self.output_kind = spec.kind
        self.task_type, self.task_name = TASKS.get(spec.kind, TASKS["pairs"])
        if spec.citation:
            self.citations.setdefault(self.method, spec.citation)
        for tag in (spec.display_name.lower(), *spec.tags):
            if tag and tag not in self.tags:
                self.tags = [*self.tags, tag]

    def register_model(self, model: Any) -> None:
        """Take the method (from the registry), its hyper-parameters and the base encoder from ``model.config``."""
        from hf_ecpe.methods import method_for

        config = model.config
        self.model_type = getattr(config, "model_type", None)
        self.has_categories = bool(getattr(config, "emotion_categories", None))
        spec = method_for(config)
        if spec is not None:
            self.register_method(spec)
        else:
            self.method = self.method or self.model_type
        encoder = getattr(config, "encoder", None) or {}
        if not self.encoder_id and not self.encoder_name:
            name = encoder.get("_name_or_path") if isinstance(encoder, dict) else None
            if name and not os.path.exists(name) and is_on_hub(name) is not False:
                self.encoder_id = name
            elif name:
                self.encoder_name = Path(name).name or None
        config_dict = config.to_dict()
        fields_of_method = spec.config_fields() if spec is not None else {}
        self.method_config = {
            key: config_dict[key]
            for key in sorted(fields_of_method)
            if isinstance(config_dict.get(key), (int, float, str, bool))
        }
        if isinstance(encoder, dict) and encoder.get("model_type"):
            self.method_config["encoder_model_type"] = encoder["model_type"]
            for key in ("hidden_size", "num_hidden_layers", "max_position_embeddings"):
                if key in encoder:
                    self.method_config[f"encoder_{key}"] = encoder[key]

    def set_train_stats(self, dataset: Any, kind: str = "pairs") -> None:
        """Statistics of the training set: ``kind="pairs"``: documents, units and pairs (``units`` / ``pairs``
        columns of canonical rows); ``"examples"``: the number of rows."""
        if kind == "examples" or "units" not in getattr(dataset, "column_names", ()):
            self.train_stats = {"examples": len(dataset)}
            return
        units = dataset["units"]
        pairs = dataset["pairs"] if "pairs" in dataset.column_names else [[] for _ in units]
        lengths = sorted(len(u) for u in units)
        self.train_stats = {
            "documents": len(units),
            "units": sum(lengths),
            "pairs": sum(len({(p["emotion"], p["cause"]) for p in doc}) for doc in pairs),
            "units_min": lengths[0] if lengths else 0,
            "units_median": lengths[len(lengths) // 2] if lengths else 0,
            "units_max": lengths[-1] if lengths else 0,
        }

    def set_evaluation(self, split: str, metrics: dict[str, float], prefix: str | None = None) -> None:
        """Store the metrics of one evaluation run under ``split`` (keys without the ``<prefix>_`` part)."""
        prefix = prefix or split
        plain = {}
        for key, value in metrics.items():
            name = key[len(prefix) + 1 :] if key.startswith(prefix + "_") else key
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                plain[name] = float(value)
        self.eval_results[split] = plain

    # ------------------------------------------------------------------ rendering
    def display_name(self) -> str:
        if self.model_name:
            return self.model_name
        name = self.method or "hf_ecpe pair model"
        if self.dataset_name or self.dataset_id:
            name += f" on {self.dataset_name or self.dataset_id}"
        if self.encoder_name or self.encoder_id:
            name += f" ({self.encoder_name or self.encoder_id})"
        return name

    def _model_index(self) -> list[dict[str, Any]] | None:
        """``model-index`` entries: per evaluated split, the method's primary metric (for pair models also pair
        precision and recall), each with the split's sample count in the dataset name when it was a subset."""
        eval_results = []
        dataset_type = self.dataset_id or re.sub(r"[^a-z0-9]+", "-", (self.dataset_name or "custom").lower()).strip(
            "-"
        )
        primary = self.primary_metric
        family, _, measure = primary.rpartition("_")
        if measure not in ("f1", "precision", "recall"):  # e.g. bleu_nltk: one metric, not a P/R/F1 family
            family = ""
        keys = [primary]
        if family:
            keys += [f"{family}_{other}" for other in ("precision", "recall") if other != measure]
        for split, metrics in self.eval_results.items():
            dataset_name = self.dataset_name or self.dataset_id or "custom"
            if split in self.sample_counts:
                dataset_name = f"{dataset_name} ({self.sample_counts[split]} {split} examples)"
            for key in keys:
                if key not in metrics:
                    continue
                eval_results.append(
                    EvalResult(
                        task_type=self.task_type,
                        task_name=self.task_name,
                        dataset_type=dataset_type,
                        dataset_name=dataset_name,
                        dataset_config=self.dataset_config,
                        dataset_split=split,
                        dataset_revision=self.dataset_revision,
                        metric_type=key.rpartition("_")[2] if family else key,
                        metric_value=round(metrics[key], 4),
                        metric_name=_metric_display_name(key),
                    )
                )
        if not eval_results:
            return None
        return _drop_empty(eval_results_to_model_index(self.display_name(), eval_results))

    def metrics_tables(self) -> dict[str, str]:
        """Per split: a markdown table of precision / recall / F1 per metric family, plus the other scalars."""
        tables = {}
        for split, metrics in self.eval_results.items():
            rows = []
            for family, label in METRIC_FAMILIES.items():
                if f"{family}_f1" in metrics:
                    rows.append(
                        {
                            "Metric": label,
                            "Precision": metrics.get(f"{family}_precision", float("nan")),
                            "Recall": metrics.get(f"{family}_recall", float("nan")),
                            "F1": metrics[f"{family}_f1"],
                        }
                    )
            table = _markdown_table(rows)
            extras = {
                key: value
                for key, value in metrics.items()
                if ("consistency" in key or key.startswith("loss") or key.endswith(("_rate", "_per_example")))
                and not key.endswith(("_runtime", "_per_second"))
            }
            if extras:
                table += ("\n\n" if table else "") + _markdown_table(
                    [{"Quantity": key, "Value": value} for key, value in sorted(extras.items())]
                )
            if table:
                tables[split] = table
        return tables

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["model_name"] = self.display_name()
        if self.encoder_id:
            data["base_model"] = self.encoder_id
        if self.dataset_id:
            data["datasets"] = [self.dataset_id]
        if self.eval_results:
            data["metrics"] = ["precision", "recall", "f1"]
        model_index = self._model_index()
        if model_index:
            data["model-index"] = model_index
        data["metrics_tables"] = self.metrics_tables()
        data["eval_lines"] = _markdown_table(self.eval_lines_list)
        from hf_ecpe.methods import PAIR_USAGE

        data["usage_snippet"] = (self.usage or PAIR_USAGE).replace("{model_id}", self.model_id or "path/to/this/model")
        data["hyperparameter_lines"] = [
            (key, value) for key, value in self.hyperparameters.items() if key not in _IGNORED_HYPERPARAMETERS
        ]
        return _drop_empty(data)

    def to_yaml(self, line_break: str | None = None, original_order: list[str] | None = None) -> str:
        data = self.to_dict()
        front = {key: data[key] for key in YAML_FIELDS if key in data}
        return yaml_dump(front, sort_keys=False, line_break=line_break).strip()


def generate_model_card(card_data: EcpeModelCardData, model: Any | None = None) -> str:
    """Render ``template.md`` with ``card_data`` (registering ``model`` first when given); returns the README text."""
    if model is not None:
        card_data.register_model(model)
    card = ModelCard.from_template(card_data=card_data, template_path=str(TEMPLATE_PATH))
    return card.content
