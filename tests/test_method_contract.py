"""The contract every registered method keeps, parametrised over the registry (``hf_ecpe.methods.METHODS``).

A new method is covered by adding its ``MethodSpec`` (with ``tiny_settings``): registration and the Auto round trip,
remote code in a fresh interpreter where hf_ecpe cannot be imported, save/load equality, a training step, the
pipeline contract of its output kind, and card generation. The model tests run over two tiny encoders: a BERT and an
MPNet (no segment embeddings, RoBERTa-style special tokens, no MLM head weights: all-mpnet-base-v2's kind).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers
from conftest import run_without_hf_ecpe
from transformers import AutoConfig, AutoTokenizer

import hf_ecpe
from hf_ecpe.methods import get_method, method_for, methods
from hf_ecpe.model_card import EcpeModelCardData, generate_model_card

MODEL_METHODS = sorted(name for name, spec in methods().items() if spec.config_class is not None)
ROWS = [
    {
        "units": ["i was so happy", "because i passed the exam", "she felt sad"],
        "speakers": ["A", "B", "A"],
        "pairs": [[0, 1]],
    },
    {"units": ["he is angry", "they lost the game"], "speakers": ["A", "B"], "pairs": [[0, 1]]},
]


ENCODERS = ("bert", "mpnet")


@pytest.fixture(params=ENCODERS)
def encoder_dir(request, tiny_encoder_dir, tiny_mpnet_dir) -> Path:
    """The tiny BERT, then the tiny MPNet encoder folder."""
    return {"bert": tiny_encoder_dir, "mpnet": tiny_mpnet_dir}[request.param]


def tiny_backbone_dir(spec, tiny_encoder_dir: Path) -> Path:
    """The tiny encoder folder, or for a method over a causal LM (``spec.extra["backbone"]``) a tiny random Llama
    with a chat-template tokenizer, built once beside it."""
    if spec.extra.get("backbone") != "causal_lm":
        return tiny_encoder_dir
    from hf_ecpe.llm.weights import build_tiny_random_llama

    folder = tiny_encoder_dir.parent / "tiny_causal_lm"
    if not (folder / "config.json").is_file():
        texts = [" ".join(row["units"]) for row in ROWS] * 8 + ["you are a caring listener . reply to the speaker ."]
        build_tiny_random_llama(folder, texts, vocab_size=300)
    return folder


def tiny_instance(name: str, tiny_encoder_dir: Path):
    spec = get_method(name)
    backbone = tiny_backbone_dir(spec, tiny_encoder_dir)
    torch.manual_seed(0)
    model = spec.model_class.from_encoder(str(backbone), **spec.tiny_settings).eval()
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    collator = spec.build_collator(tokenizer, model.config, None)
    rows = ROWS
    if "emotions" in spec.required_columns:  # e.g. the KD-ECS teacher writes the gold emotion into its prompt
        rows = [dict(row, emotions=["happiness"] + ["neutral"] * (len(row["units"]) - 1)) for row in ROWS]
    return spec, model, tokenizer, collator(rows)


def tensor_outputs(output) -> dict[str, torch.Tensor]:
    return {key: value for key, value in output.items() if isinstance(value, torch.Tensor)}


@pytest.mark.parametrize("name", MODEL_METHODS)
def test_registration_and_auto_round_trip(name, encoder_dir, tmp_path):
    spec, model, tokenizer, batch = tiny_instance(name, encoder_dir)
    assert method_for(model) is spec and spec.model_type == model.config.model_type
    assert isinstance(AutoConfig.for_model(spec.model_type), spec.config_class)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    for auto_name in spec.auto_classes:
        loaded = getattr(transformers, auto_name).from_pretrained(tmp_path).eval()
        assert type(loaded) is spec.model_class
        with torch.no_grad():
            expected, got = tensor_outputs(model(**batch)), tensor_outputs(loaded(**batch))
        assert expected.keys() == got.keys()
        for key in expected:  # equal weights; a loaded (memory-mapped) tensor's alignment may change the float sums
            assert torch.allclose(expected[key], got[key], rtol=1e-5, atol=1e-6), key
    config = (tmp_path / "config.json").read_text()
    assert '"auto_map"' in config and spec.auto_classes[0] in config


# Run by `run_without_hf_ecpe` with the arguments: checkpoint folder, work folder, Auto class name.
REMOTE_SCRIPT = """
    import sys

    import torch
    import transformers

    folder, work, auto_class = sys.argv[1:]
    model = getattr(transformers, auto_class).from_pretrained(folder, trust_remote_code=True).eval()
    batch = torch.load(work + "/batch.pt")
    with torch.no_grad():
        output = model(**batch)
    tensors = {k: v for k, v in output.items() if isinstance(v, torch.Tensor)}
    torch.save({"module": type(model).__module__, "outputs": tensors}, work + "/remote.pt")
    """


@pytest.mark.slow  # one more interpreter per method and encoder
@pytest.mark.parametrize("name", MODEL_METHODS)
def test_remote_code_without_hf_ecpe(name, encoder_dir, tmp_path):
    spec, model, _, batch = tiny_instance(name, encoder_dir)
    folder = tmp_path / "checkpoint"
    model.save_pretrained(folder)
    torch.save(batch, tmp_path / "batch.pt")
    done = run_without_hf_ecpe(REMOTE_SCRIPT, [str(folder), str(tmp_path), spec.auto_classes[0]], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    remote = torch.load(tmp_path / "remote.pt")
    assert remote["module"].startswith("transformers_modules.")
    with torch.no_grad():
        expected = tensor_outputs(model(**batch))
    for key, value in expected.items():
        assert torch.allclose(remote["outputs"][key], value, rtol=1e-5, atol=1e-6), key


@pytest.mark.parametrize("name", MODEL_METHODS)
def test_one_training_step_then_save_and_reload(name, encoder_dir, tmp_path):
    """Every method trains over either encoder: a finite loss, gradients reaching the encoder, a changed model that
    saves and reloads (after ``import hf_ecpe``) to the same outputs. An encoder without segment embeddings gets no
    segment ids, and the batch uses the tokenizer's own special tokens."""
    spec, model, tokenizer, batch = tiny_instance(name, encoder_dir)
    if "token_type_ids" not in tokenizer.model_input_names:  # MPNet
        assert "token_type_ids" not in batch
    if "unit_token_index" in batch:  # each unit starts with the tokenizer's own CLS (<s> = 0 for MPNet)
        starts = batch["input_ids"].gather(1, batch["unit_token_index"])[batch["unit_mask"]]
        assert starts.eq(tokenizer.cls_token_id).all()
    model.train()
    torch.manual_seed(0)
    before = {key: value.clone() for key, value in model.state_dict().items()}
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    loss = model(**batch).loss
    assert loss is not None and torch.isfinite(loss)
    loss.backward()
    encoder = getattr(model, "encoder", None) or getattr(model, "backbone", None)
    if encoder is not None:
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters())
    optimizer.step()
    assert any(not torch.equal(before[key], value) for key, value in model.state_dict().items())
    model.eval()
    model.save_pretrained(tmp_path)
    loaded = getattr(transformers, spec.auto_classes[0]).from_pretrained(tmp_path).eval()
    with torch.no_grad():
        expected, got = tensor_outputs(model(**batch)), tensor_outputs(loaded(**batch))
    assert all(torch.equal(value, loaded.state_dict()[key]) for key, value in model.state_dict().items())
    for key in expected:
        assert torch.allclose(expected[key], got[key], rtol=1e-5, atol=1e-6), key


@pytest.mark.parametrize("name", MODEL_METHODS)
def test_pipeline_contract_of_the_output_kind(name, encoder_dir, tmp_path):
    spec, model, tokenizer, _ = tiny_instance(name, encoder_dir)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    if spec.kind == "response":  # a generator: its own task, a reply plus the recognised emotion and causes
        responder = hf_ecpe.pipeline(spec.pipeline_tasks[0], model=str(tmp_path))
        result = responder({"utterances": ["i was so happy", "because i passed the exam"]}, max_new_tokens=4)
        assert set(result) >= {"response", "emotion", "emotion_score", "cause_utterances", "cause_tokens"}
        assert isinstance(result["response"], str) and result["emotion"] in model.config.emotion_labels
        assert all(0 <= cause["index"] < 2 for cause in result["cause_utterances"])
        return
    if not spec.pipeline_tasks:  # a training-time model (the KD-ECS teacher): the pipeline refuses it, saying why
        with pytest.raises(TypeError):
            hf_ecpe.pipeline("emotion-cause", model=str(tmp_path))
        return
    extractor = hf_ecpe.pipeline("emotion-cause", model=str(tmp_path))
    expected = {"pairs": "PairPipeline", "triplets": "TripletPipeline"}[spec.kind]
    assert type(extractor).__name__ == (spec.extra.get("pipeline_class") or expected).rpartition(":")[2]
    result = extractor({"utterances": ["i was so happy", "because i passed the exam"], "speakers": ["A", "B"]})
    assert set(result) >= {"units", "pairs", "emotions", "causes"}
    for pair in result["pairs"]:
        assert 0 <= pair["emotion_index"] < 2 and 0 <= pair["cause_index"] < 2 and 0.0 <= pair["score"] <= 1.0


@pytest.mark.parametrize("name", MODEL_METHODS)
def test_card_names_the_method(name, tiny_encoder_dir):
    spec, model, _, _ = tiny_instance(name, tiny_encoder_dir)
    card = EcpeModelCardData(dataset_name="Toy")
    card.set_evaluation("validation", {f"eval_{spec.primary_metric}": 0.5}, prefix="eval")
    text = generate_model_card(card, model)
    assert spec.display_name in text and "value: 0.5" in text
    if spec.citation:
        assert spec.citation.splitlines()[0] in text


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown method 'nope'; choose one of \['a2net', "):
        get_method("nope")
