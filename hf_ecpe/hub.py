"""Publishing hf_ecpe models to the Hugging Face Hub with their own model card.

``PreTrainedModel.push_to_hub`` replaces the README with a generic card (transformers 5, ``utils/hub.py``), so
:func:`push_model` writes the whole repository folder itself — weights (safetensors), ``config.json`` with
``auto_map``, the model's code files (for ``trust_remote_code=True`` users), the tokenizer and the hf_ecpe card —
and uploads it in one commit with ``HfApi.upload_folder``.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def save_model_folder(
    model: Any,
    folder: str | Path,
    *,
    tokenizer: Any | None = None,
    card_data: Any | None = None,
    repo_id: str | None = None,
) -> Path:
    """Write ``model`` (+ ``tokenizer``) and its rendered ``README.md`` into ``folder``; returns the folder.

    The model and config classes are registered for the Auto classes first (idempotent), so ``config.json`` gets an
    ``auto_map`` and the configuration / modeling files are copied beside the weights.
    """
    from hf_ecpe.model_card import EcpeModelCardData, generate_model_card

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    type(model.config).register_for_auto_class()
    type(model).register_for_auto_class("AutoModel")
    model.save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if "auto_map" not in config:  # pragma: no cover - only when the classes live in __main__
        logger.warning("config.json has no auto_map: the checkpoint will only load where hf_ecpe is installed.")
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    card = card_data if card_data is not None else EcpeModelCardData()
    if repo_id and not card.model_id and repo_id.count("/") == 1:
        card.model_id = repo_id
    (folder / "README.md").write_text(generate_model_card(card, model=model), encoding="utf-8")
    return folder


def push_model(
    model: Any,
    repo_id: str,
    *,
    tokenizer: Any | None = None,
    card_data: Any | None = None,
    local_dir: str | Path | None = None,
    api: Any | None = None,
    private: bool | None = None,
    commit_message: str = "Upload hf_ecpe model",
    token: str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    upload: bool | None = None,
) -> Any:
    """Save ``model`` as a Hub-ready folder and upload it to ``repo_id``.

    Args:
        model: an hf_ecpe model (e.g. ``A2NetModel``).
        repo_id: ``"organization/name"``.
        tokenizer: the encoder tokenizer to ship with it (``pipeline("emotion-cause", model=repo_id)`` needs it).
        card_data: :class:`~hf_ecpe.model_card.EcpeModelCardData` for the README (a minimal card otherwise).
        local_dir: write the folder here (kept); by default a temporary folder is used and removed.
        api: an ``huggingface_hub.HfApi``-like object (default ``HfApi(token=token)``).
        private, commit_message, revision, create_pr: passed to ``create_repo`` / ``upload_folder``.
        upload: whether to upload. Default: yes, except when only ``local_dir`` is given (no ``api``) — then the
            folder is written and nothing leaves the machine.

    Returns:
        The ``upload_folder`` result (a ``CommitInfo``), or the folder path when nothing was uploaded.
    """
    if not isinstance(repo_id, str) or repo_id.count("/") != 1:
        raise ValueError(f"repo_id must look like 'organization/name', got {repo_id!r}")
    if upload is None:
        upload = not (local_dir is not None and api is None)

    def _write_and_upload(folder: Path) -> Any:
        save_model_folder(model, folder, tokenizer=tokenizer, card_data=card_data, repo_id=repo_id)
        if not upload:
            return folder
        hub = api
        if hub is None:
            from hf_ecpe.model_card.card_data import hub_offline

            if hub_offline():
                raise RuntimeError(
                    "HF_HUB_OFFLINE is set, so nothing can be uploaded; pass local_dir=... (without api) to only "
                    "write the repository folder, or unset HF_HUB_OFFLINE."
                )
            from huggingface_hub import HfApi

            hub = HfApi(token=token)
        hub.create_repo(repo_id=repo_id, repo_type="model", private=private, exist_ok=True)
        return hub.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            repo_type="model",
            commit_message=commit_message,
            revision=revision,
            create_pr=create_pr,
        )

    if local_dir is not None:
        return _write_and_upload(Path(local_dir))
    if not upload:
        raise ValueError("upload=False needs local_dir: otherwise the folder would be written and thrown away")
    with tempfile.TemporaryDirectory(prefix="hf_ecpe_push_") as tmp:
        return _write_and_upload(Path(tmp))
