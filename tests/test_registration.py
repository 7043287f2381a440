"""Auto-class registration and the remote-code path of saved A2Net checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
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

# Runs in a fresh interpreter where `import hf_ecpe` fails, with neither the repository nor the tests on sys.path.
REMOTE_SCRIPT = textwrap.dedent(
    """
    import importlib.abc
    import os
    import sys

    class BlockHfEcpe(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "hf_ecpe" or name.startswith("hf_ecpe."):
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, BlockHfEcpe())
    sys.path = [p for p in sys.path if p not in ("", ".") and os.path.realpath(p) != sys.argv[3]]

    import torch
    from transformers import AutoModel

    try:
        import hf_ecpe  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("hf_ecpe should not be importable here")

    model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True).eval()
    batch = torch.load(sys.argv[2] + "/batch.pt")
    with torch.no_grad():
        output = model(**batch)
    torch.save(
        {
            "module": type(model).__module__,
            "name": type(model).__name__,
            "pair_logits": output.pair_logits,
            "emotion_logits": output.emotion_logits,
            "loss": output.loss,
        },
        sys.argv[2] + "/remote.pt",
    )
    """
)


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


@pytest.mark.slow  # a second interpreter
def test_remote_code_without_hf_ecpe_gives_identical_outputs(saved, tmp_path):
    folder, model, batch = saved
    torch.save(batch, tmp_path / "batch.pt")
    with torch.no_grad():
        expected = model(**batch)
    script = tmp_path / "load_remote.py"
    script.write_text(REMOTE_SCRIPT)
    repo_root = str(Path(hf_ecpe.__file__).resolve().parents[1])
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    result = subprocess.run(
        [sys.executable, str(script), str(folder), str(tmp_path), repo_root],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    remote = torch.load(tmp_path / "remote.pt")
    assert remote["module"].startswith("transformers_modules.")
    assert remote["name"] == "A2NetModel"
    # same code and weights in another process: equal up to the float reduction order of its thread count
    assert torch.allclose(remote["pair_logits"], expected.pair_logits, rtol=1e-5, atol=1e-6)
    assert torch.allclose(remote["emotion_logits"], expected.emotion_logits, rtol=1e-5, atol=1e-6)
    assert torch.allclose(remote["loss"], expected.loss, rtol=1e-5, atol=1e-6)
