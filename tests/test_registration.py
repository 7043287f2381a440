"""Auto-class registration and the saved code files of A2Net checkpoints (remote code in a fresh interpreter is
tested for every method in tests/test_method_contract.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoConfig, AutoModel, AutoTokenizer
from transformers.dynamic_module_utils import check_imports, get_imports

import hf_ecpe
from hf_ecpe import A2NetConfig, A2NetModel
from hf_ecpe._registration import register_all
from hf_ecpe.data.collators import ClauseCollator
from hf_ecpe.methods import get_method, methods

CODE_FILES = ("configuration_a2net.py", "modeling_a2net.py")


@pytest.fixture(scope="module")
def saved(tmp_path_factory, tiny_encoder_dir) -> tuple[Path, A2NetModel, dict]:
    torch.manual_seed(0)
    model = A2NetModel.from_encoder(str(tiny_encoder_dir), pfn_hidden_size=8, position_embedding_size=4).eval()
    folder = tmp_path_factory.mktemp("a2net_checkpoint")
    model.save_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    batch = ClauseCollator(tokenizer)(
        [
            {"units": ["i was so happy", "because i passed the exam", "she felt sad"], "pairs": [[0, 1]]},
            {"units": ["he is angry", "they lost the game"], "pairs": [[0, 1]]},
        ]
    )
    return folder, model, batch


def test_methods_and_idempotent_registration():
    spec = get_method("a2net")
    assert (spec.config_class, spec.model_class) == (A2NetConfig, A2NetModel)
    assert "hf-ecpe-pair-scorer" in {spec.model_type for spec in methods().values()}
    assert A2NetConfig.model_type == "hf-ecpe-a2net"
    register_all()
    register_all()  # a second call (re-import) is harmless
    assert isinstance(AutoConfig.for_model("hf-ecpe-a2net"), A2NetConfig)
    assert A2NetConfig.library_version == hf_ecpe.__version__


def test_auto_classes_load_the_library_classes(saved):
    folder, model, batch = saved
    config = AutoConfig.from_pretrained(folder)
    assert type(config) is A2NetConfig
    loaded = AutoModel.from_pretrained(folder).eval()
    assert type(loaded) is A2NetModel
    assert loaded.dtype == torch.float32
    with torch.no_grad():
        assert torch.equal(loaded(**batch).pair_logits, model(**batch).pair_logits)


def test_checkpoint_carries_auto_map_code_and_version(saved):
    folder, _, _ = saved
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "hf-ecpe-a2net"
    assert config["auto_map"] == {
        "AutoConfig": "configuration_a2net.A2NetConfig",
        "AutoModel": "modeling_a2net.A2NetModel",
    }
    assert config["hf_ecpe_version"] == hf_ecpe.__version__
    assert "trust_remote_code" not in config["encoder"]
    for name in CODE_FILES:
        path = str(folder / name)
        assert (folder / name).is_file()
        # only torch, transformers and the standard library; relative imports only of the sibling file
        assert set(get_imports(path)) - set(sys.stdlib_module_names) == {"torch", "transformers"} - (
            {"torch"} if name.startswith("configuration") else set()
        )
        assert set(check_imports(path)) <= {"configuration_a2net"}  # raises if an import is not installed
