"""hf_ecpe.hub.push_model: the repository folder it writes, and the upload call (fake API, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModel, AutoTokenizer, pipeline

import hf_ecpe  # noqa: F401
from hf_ecpe._registration import register_all
from hf_ecpe.hub import push_model
from hf_ecpe.model_card import EcpeModelCardData
from hf_ecpe.models import A2NetModel

register_all()
torch.set_num_threads(1)

EXPECTED_FILES = {
    "config.json",
    "model.safetensors",
    "configuration_a2net.py",
    "modeling_a2net.py",
    "tokenizer.json",
    "tokenizer_config.json",
    "README.md",
}


@pytest.fixture(scope="module")
def model(tiny_encoder_dir):
    torch.manual_seed(0)
    return A2NetModel.from_encoder(str(tiny_encoder_dir), pfn_hidden_size=16, position_embedding_size=8).eval()


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder_dir):
    return AutoTokenizer.from_pretrained(tiny_encoder_dir)


class FakeApi:
    """Records the calls push_model makes, and what the folder held at upload time."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.uploaded_files: set[str] = set()
        self.uploaded_readme = ""

    def create_repo(self, **kwargs):
        self.calls.append(("create_repo", kwargs))
        return f"https://huggingface.co/{kwargs['repo_id']}"

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        folder = Path(kwargs["folder_path"])
        self.uploaded_files = {p.name for p in folder.iterdir()}
        self.uploaded_readme = (folder / "README.md").read_text(encoding="utf-8")
        return "commit-info"


def test_local_dir_only_writes_a_complete_repository(model, tokenizer, tmp_path):
    card = EcpeModelCardData(language="en", dataset_name="toy", encoder_name="tiny-bert")
    folder = push_model(model, "my-org/a2net-toy", tokenizer=tokenizer, card_data=card, local_dir=tmp_path / "repo")
    assert folder == tmp_path / "repo"
    assert EXPECTED_FILES <= {p.name for p in folder.iterdir()}
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "hf-ecpe-a2net"
    assert config["auto_map"] == {
        "AutoConfig": "configuration_a2net.A2NetConfig",
        "AutoModel": "modeling_a2net.A2NetModel",
    }
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("---\n") and "library_name: hf-ecpe" in readme
    assert 'pipeline("emotion-cause", model="my-org/a2net-toy")' in readme  # model_id taken from repo_id

    loaded = AutoModel.from_pretrained(folder)
    assert isinstance(loaded, A2NetModel)
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor, rtol=0, atol=0)
    result = pipeline("emotion-cause", model=str(folder))({"clauses": ["i was so happy", "because i passed the exam"]})
    assert result["units"] == ["i was so happy", "because i passed the exam"]


def test_upload_goes_through_the_api(model, tokenizer):
    api = FakeApi()
    result = push_model(
        model,
        "my-org/a2net-toy",
        tokenizer=tokenizer,
        api=api,
        private=True,
        commit_message="Add A2Net",
        revision="dev",
    )
    assert result == "commit-info"
    (create_name, create_kwargs), (upload_name, upload_kwargs) = api.calls
    assert create_name == "create_repo"
    assert create_kwargs == {"repo_id": "my-org/a2net-toy", "repo_type": "model", "private": True, "exist_ok": True}
    assert upload_name == "upload_folder"
    assert upload_kwargs["repo_id"] == "my-org/a2net-toy"
    assert upload_kwargs["repo_type"] == "model"
    assert upload_kwargs["commit_message"] == "Add A2Net"
    assert upload_kwargs["revision"] == "dev" and upload_kwargs["create_pr"] is False
    assert EXPECTED_FILES <= api.uploaded_files
    assert "library_name: hf-ecpe" in api.uploaded_readme
    assert not Path(upload_kwargs["folder_path"]).exists()  # the temporary folder is cleaned up


def test_local_dir_with_api_keeps_the_folder_and_uploads_it(model, tmp_path):
    api = FakeApi()
    push_model(model, "my-org/a2net-toy", local_dir=tmp_path / "kept", api=api)
    assert api.calls[1][1]["folder_path"] == str(tmp_path / "kept")
    assert (tmp_path / "kept" / "model.safetensors").is_file()
    assert "tokenizer.json" not in api.uploaded_files  # no tokenizer given, none written


def test_argument_errors(model, monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="organization/name"):
        push_model(model, "no-organization", local_dir=tmp_path)
    with pytest.raises(ValueError, match="upload=False needs local_dir"):
        push_model(model, "my-org/x", upload=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="HF_HUB_OFFLINE is set"):
        push_model(model, "my-org/x")
