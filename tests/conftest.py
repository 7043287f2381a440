"""Shared test fixtures: offline, deterministic, tiny.

- ``tiny_encoder_dir``: a randomly initialised 1-layer BERT and a word-level tokenizer saved to a temp dir
  (``tiny_mpnet_dir``: the same for a 2-layer MPNet, an encoder without segment embeddings);
  ``tiny_pair_model_dir``: a tiny random A2Net checkpoint on it.
- ``data_root``: the real corpora (``HF_ECPE_DATA``, default ``../shared/data`` beside the checkout);
  tests that need them skip with a reason when they are absent.
- ``run_without_hf_ecpe``: a script run in a fresh interpreter where hf_ecpe cannot be imported (remote-code tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_WORDS = (
    "i was so happy because passed the exam she felt sad when her dog died he is angry that they lost "
    "game we were surprised to see snow in july my friend afraid of dark . , ! ? a an the and but "
    "today lost job terrible got new puppy oh no that is was 我 很 开心 因为 考试 通过 了 。 ， 她 伤心 狗 死"
).split()


def import_benchmark(name: str):
    """The module ``benchmarks/<name>.py`` (the benchmarks are scripts, not a package), imported once."""
    import importlib.util
    import sys

    module_name = f"benchmark_{name}"
    if module_name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


# Makes `import hf_ecpe` fail and drops the repository (repr'd in by `run_without_hf_ecpe`) and the cwd from sys.path.
WITHOUT_HF_ECPE_PREAMBLE = """\
import importlib.abc
import os
import sys


class BlockHfEcpe(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "hf_ecpe" or name.startswith("hf_ecpe."):
            raise ImportError(f"{{name}} is blocked in this test")
        return None


sys.meta_path.insert(0, BlockHfEcpe())
sys.path = [p for p in sys.path if p not in ("", ".") and os.path.realpath(p) != {repo_root!r}]
"""
WITHOUT_HF_ECPE_EPILOGUE = """
assert not [name for name in sys.modules if name == "hf_ecpe" or name.startswith("hf_ecpe.")], "hf_ecpe leaked"
"""


def run_without_hf_ecpe(
    body: str,
    args: list[str],
    tmp_path: Path,
    timeout: int = 600,
    one_thread: bool = True,
    pythonpath: str | None = None,
) -> subprocess.CompletedProcess:
    """Run ``body`` (Python source, dedented; it reads its arguments from ``sys.argv[1:]`` = ``args``) in a fresh
    interpreter where ``import hf_ecpe`` fails and neither the repository nor the tests are on ``sys.path``: what a
    ``trust_remote_code=True`` user without hf_ecpe has. The script is ``tmp_path / "without_hf_ecpe.py"``, run in
    ``tmp_path`` offline (``HF_HUB_OFFLINE=1``, no ``PYTHONPATH``) with its own ``HF_MODULES_CACHE`` under
    ``tmp_path``; ``one_thread`` sets ``OMP_NUM_THREADS=1`` (leave it off where outputs must equal this process's
    bit for bit); ``pythonpath`` (e.g. a folder of stand-in packages) is the only ``PYTHONPATH`` it gets. The
    script ends by checking that no hf_ecpe module was loaded. Returns the completed process
    (text stdout / stderr captured); the caller checks its ``returncode``."""
    import hf_ecpe

    repo_root = str(Path(hf_ecpe.__file__).resolve().parents[1])
    script = tmp_path / "without_hf_ecpe.py"
    preamble = WITHOUT_HF_ECPE_PREAMBLE.format(repo_root=repo_root)
    script.write_text(preamble + textwrap.dedent(body) + WITHOUT_HF_ECPE_EPILOGUE)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    if one_thread:
        env["OMP_NUM_THREADS"] = "1"
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run(
        [sys.executable, str(script), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
    )


def default_data_root() -> Path:
    return Path(os.environ.get("HF_ECPE_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = default_data_root()
    if not root.is_dir():
        pytest.skip(f"real corpora not found at {root} (set HF_ECPE_DATA to the folder of ../shared/data)")
    return root


def corpus_dir(data_root: Path, folder: str) -> Path:
    """The folder of one corpus, or skip the test with a reason when it is absent."""
    path = data_root / folder
    if not path.is_dir():
        pytest.skip(f"corpus folder {path} not present")
    return path


def build_tiny_encoder(path: Path, hidden_size: int = 16, max_position_embeddings: int = 128) -> Path:
    """Save a tiny random BertModel + BertTokenizer (word vocabulary :data:`TINY_WORDS`) to ``path``; returns it."""
    import torch

    from hf_ecpe.testing import tiny_bert

    torch.manual_seed(0)
    model, tokenizer = tiny_bert(TINY_WORDS, hidden_size=hidden_size, max_position_embeddings=max_position_embeddings)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory) -> Path:
    return build_tiny_encoder(tmp_path_factory.mktemp("tiny_bert"))


def build_tiny_mpnet(path: Path, hidden_size: int = 16) -> Path:
    """Save a tiny random 2-layer MPNetModel + MPNetTokenizer (word vocabulary, RoBERTa-style specials ``<s>`` /
    ``<pad>`` / ``</s>`` = 0 / 1 / 2, ``<mask>`` last, as all-mpnet-base-v2) to ``path``: an encoder without
    segment embeddings and without MLM head weights. Returns ``path``."""
    import torch
    from transformers import MPNetConfig, MPNetModel, MPNetTokenizer

    torch.manual_seed(0)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "[UNK]"]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys([*specials, *TINY_WORDS, "<mask>"]))}
    tokenizer = MPNetTokenizer(vocab=vocab, do_lower_case=True)
    config = MPNetConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=130,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    model = MPNetModel(config)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_mpnet_dir(tmp_path_factory) -> Path:
    return build_tiny_mpnet(tmp_path_factory.mktemp("tiny_mpnet"))


def build_tiny_a2net(path: Path, encoder_dir: Path, **config: object) -> Path:
    """Save a tiny random A2Net checkpoint (model + tokenizer; ``config`` entries set on its config) to ``path``."""
    import torch
    from transformers import AutoTokenizer

    from hf_ecpe.models import A2NetModel

    torch.manual_seed(0)
    model = A2NetModel.from_encoder(str(encoder_dir), pfn_hidden_size=16, position_embedding_size=8)
    for key, value in config.items():
        setattr(model.config, key, value)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(encoder_dir).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_pair_model_dir(tiny_encoder_dir, tmp_path_factory) -> Path:
    """A tiny random A2Net checkpoint folder (a pair model served by the emotion-cause pipeline)."""
    return build_tiny_a2net(tmp_path_factory.mktemp("tiny_a2net"), tiny_encoder_dir)
