"""ONNX export and onnxruntime serving (hf_ecpe.scripts.export, hf_ecpe.pipelines.onnx_backend): the served folder
gives the PyTorch pipeline's answers (fp32 to 1e-4 in every probability; int8 keeps the pair decisions that are not
within its stated tolerance of the threshold), long documents go through the same windows, and the CLI refuses what
does not export with one line and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'hf-ecpe[onnx]')")
pytest.importorskip("onnx", reason="onnx is not installed (pip install 'hf-ecpe[onnx]')")

import hf_ecpe  # noqa: E402
from hf_ecpe.pipelines.onnx_backend import (  # noqa: E402
    SERVING_FILE,
    OnnxPairModel,
    export_onnx,
    is_onnx_folder,
)

CATEGORIES = ["neutral", "joy", "sadness", "anger"]
#: The documents both backends answer: text, clauses, a conversation with speakers, one unit, no unit.
DOCUMENTS = [
    "i was so happy because i passed the exam . she felt sad when her dog died !",
    {"clauses": ["he is angry", "that they lost the game", "oh no", "terrible"]},
    {
        "utterances": ["i lost job today", "oh no", "that is terrible", "i got new puppy"],
        "speakers": ["A", "B", "A", "B"],
    },
    {"clauses": ["we were surprised to see snow in july"]},
    "",
    {"units": ["my friend afraid of dark", "and", "i was so happy", "but she felt sad", "today", "a", "the game"]},
]
#: Pair probabilities of the int8 graph may move by this much; decisions this close to the threshold may flip.
INT8_TOLERANCE = 0.1


def save_tiny_pair_scorer(encoder_dir: Path, folder: Path, **config: object) -> Path:
    """A random conversational pair scorer with a category head on the tiny BERT, saved with its tokenizer."""
    from transformers import AutoTokenizer

    torch.manual_seed(1)
    model = hf_ecpe.MultimodalPairScorerModel.from_encoder(
        str(encoder_dir),
        emotion_categories=CATEGORIES,
        candidates="window",
        candidate_window=3,
        decode_threshold=0.5,
        context_hidden_size=8,
        pair_hidden_size=8,
        relative_position_size=4,
        **config,
    ).eval()
    with torch.no_grad():  # spread the random heads' probabilities away from 0.5, so that decisions mean something
        for head in (model.pair_head.output_layer, model.emotion_head, model.cause_head, model.category_head):
            head.weight.mul_(300.0)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(encoder_dir).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_model_dir(tiny_encoder_dir, tmp_path_factory) -> Path:
    return save_tiny_pair_scorer(tiny_encoder_dir, tmp_path_factory.mktemp("tiny_pair_scorer"))


@pytest.fixture(scope="module")
def fp32_dir(tiny_model_dir, tmp_path_factory) -> Path:
    return export_onnx(tiny_model_dir, tmp_path_factory.mktemp("onnx") / "fp32")


@pytest.fixture(scope="module")
def int8_dir(tiny_model_dir, tmp_path_factory) -> Path:
    return export_onnx(tiny_model_dir, tmp_path_factory.mktemp("onnx") / "int8", quantize="int8")


def assert_same_answers(served: list[dict], reference: list[dict], tolerance: float) -> None:
    """Same units, pairs (order and indices), categories, emotions and causes; scores within ``tolerance``."""
    assert len(served) == len(reference)
    for got, want in zip(served, reference):
        assert set(got) == set(want)
        assert got["units"] == want["units"]
        assert got.get("offsets") == want.get("offsets")
        assert [(p["emotion_index"], p["cause_index"], p.get("category")) for p in got["pairs"]] == [
            (p["emotion_index"], p["cause_index"], p.get("category")) for p in want["pairs"]
        ]
        for key in ("emotions", "causes"):
            assert [{k: v for k, v in e.items() if "score" not in k} for e in got[key]] == [
                {k: v for k, v in e.items() if "score" not in k} for e in want[key]
            ]
        scores = [(p["score"], q["score"]) for p, q in zip(got["pairs"], want["pairs"])]
        scores += [(e["score"], f["score"]) for e, f in zip(got["emotions"], want["emotions"])]
        assert all(abs(a - b) <= tolerance for a, b in scores), scores
        for row, want_row in zip(got["pair_scores"], want["pair_scores"]):
            for a, b in zip(row, want_row):
                assert (a is None) == (b is None)
                assert a is None or abs(a - b) <= tolerance


def test_export_folder_holds_the_whole_model_tokenizer_config_and_card(fp32_dir, tiny_model_dir):
    files = {path.name for path in fp32_dir.iterdir()}
    assert {"model.onnx", "config.json", SERVING_FILE, "README.md", "tokenizer_config.json"} <= files
    assert not any(name.endswith(".py") or name.endswith(".safetensors") for name in files)
    serving = json.loads((fp32_dir / SERVING_FILE).read_text())
    assert serving["quantization"] is None and serving["method"] == "pair_scorer"
    assert serving["outputs"] == ["emotion_logits", "cause_logits", "pair_logits", "candidate_mask", "category_logits"]
    assert "speaker_ids" in serving["inputs"] and "token_source" in serving["inputs"]
    assert serving["parity"]["fp32_max_pair_probability_difference"] <= 1e-4
    assert "## ONNX Runtime export" in (fp32_dir / "README.md").read_text()
    import onnx

    names = {node.name for node in onnx.load(str(fp32_dir / "model.onnx")).graph.node}
    for part in ("/encoder/", "/context/", "/pair_head/", "/category_head/"):
        assert any(name.startswith(part) for name in names), part  # encoder, context layer and heads in one graph
    assert is_onnx_folder(fp32_dir) and not is_onnx_folder(tiny_model_dir)


def test_fp32_onnx_pipeline_gives_the_pytorch_answers(fp32_dir, tiny_model_dir):
    served = hf_ecpe.pipeline("emotion-cause", model=str(fp32_dir))
    reference = hf_ecpe.pipeline("emotion-cause", model=str(tiny_model_dir))
    assert isinstance(served.model, OnnxPairModel) and type(served) is type(reference)
    for batch_size in (1, 4):
        got = served(DOCUMENTS, return_pair_scores=True, batch_size=batch_size)
        assert_same_answers(got, reference(DOCUMENTS, return_pair_scores=True, batch_size=batch_size), 1e-4)
    assert any(result["pairs"] for result in got)  # the comparison covered decoded pairs
    # call parameters and pieces are the pipeline's own code, the same for both backends
    settings = {"decoding": "reference", "top_k": 2, "threshold": 0.4, "max_units": 2, "return_pair_scores": True}
    assert_same_answers(served(DOCUMENTS, **settings), reference(DOCUMENTS, **settings), 1e-4)


def test_forward_outputs_match_pytorch_to_1e_4(fp32_dir, tiny_model_dir):
    from transformers import AutoModel

    reference = AutoModel.from_pretrained(tiny_model_dir).eval()
    served = OnnxPairModel(fp32_dir)
    pipe = hf_ecpe.pipeline("emotion-cause", model=str(tiny_model_dir))
    batch = pipe.collate([pipe.prepare(document) for document in DOCUMENTS if document])
    with torch.inference_mode():
        want = reference(**batch)
    got = served(**batch)
    assert type(got) is type(want)
    for key in ("emotion_logits", "cause_logits", "pair_logits", "category_logits"):
        assert got[key].shape == want[key].shape
        torch.testing.assert_close(got[key], want[key], atol=1e-4, rtol=0)
    assert torch.equal(got["candidate_mask"], want["candidate_mask"])
    probabilities = [logits.softmax(-1)[..., 1] for logits in (got["pair_logits"], want["pair_logits"])]
    assert float((probabilities[0] - probabilities[1]).abs().max()) <= 1e-4


def test_documents_longer_than_the_encoder_window_take_the_models_windows(tiny_encoder_dir, tmp_path):
    source = save_tiny_pair_scorer(tiny_encoder_dir, tmp_path / "windowed", max_window_tokens=12)
    folder = export_onnx(source, tmp_path / "windowed-onnx")
    served = hf_ecpe.pipeline("emotion-cause", model=str(folder))
    reference = hf_ecpe.pipeline("emotion-cause", model=str(source))
    pipe_batch = served.collate([served.prepare(DOCUMENTS[5]), served.prepare(DOCUMENTS[3])])
    windows = served.model.encoder_windows(
        pipe_batch["input_ids"],
        pipe_batch["attention_mask"],
        pipe_batch["token_type_ids"],
        pipe_batch["unit_token_index"],
        pipe_batch["unit_mask"],
    )
    assert windows["input_ids"].shape[0] > 2 and windows["input_ids"].shape[1] <= 12  # the windowed path ran
    got = served(DOCUMENTS, return_pair_scores=True, batch_size=3)
    assert_same_answers(got, reference(DOCUMENTS, return_pair_scores=True, batch_size=3), 1e-4)


def test_int8_keeps_the_pair_decisions_outside_its_tolerance(int8_dir, tiny_model_dir):
    serving = json.loads((int8_dir / SERVING_FILE).read_text())
    assert serving["quantization"] == "int8" and serving["int8_settings"]["weight_type"] == "QInt8"
    import onnx

    operators = {node.op_type for node in onnx.load(str(int8_dir / "model.onnx")).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= operators  # int8 weights, activations quantized per call
    served = hf_ecpe.pipeline("emotion-cause", model=str(int8_dir))
    reference = hf_ecpe.pipeline("emotion-cause", model=str(tiny_model_dir))
    got = served(DOCUMENTS, return_pair_scores=True)
    want = reference(DOCUMENTS, return_pair_scores=True)
    threshold = reference.model.config.decode_threshold
    compared = 0
    for served_result, reference_result in zip(got, want):
        for row, want_row in zip(served_result["pair_scores"], reference_result["pair_scores"]):
            for a, b in zip(row, want_row):
                if b is None:
                    continue
                assert abs(a - b) <= INT8_TOLERANCE
                if abs(b - threshold) > INT8_TOLERANCE:
                    assert (a > threshold) == (b > threshold)
                    compared += 1
    assert compared >= 15, compared  # enough decisions away from the threshold were compared (20 here)


def run_export_cli(argv: list[str], capsys) -> tuple[int, str]:
    from hf_ecpe.scripts.export import cli

    with pytest.raises(SystemExit) as exit_info:
        cli(argv)
    return exit_info.value.code, capsys.readouterr().err.strip().splitlines()[-1]  # after any progress bars


def test_export_cli_refuses_models_that_do_not_export(tiny_encoder_dir, tmp_path, capsys):
    from transformers import AutoTokenizer

    a2net = hf_ecpe.A2NetModel.from_encoder(str(tiny_encoder_dir), pfn_hidden_size=8, position_embedding_size=4)
    a2net.save_pretrained(tmp_path / "a2net")
    AutoTokenizer.from_pretrained(tiny_encoder_dir).save_pretrained(tmp_path / "a2net")
    code, message = run_export_cli(["--model", str(tmp_path / "a2net"), "--output", str(tmp_path / "out")], capsys)
    assert code == 2 and message.startswith("hf_ecpe.scripts.export: error:")
    assert "A2Net" in message and "does not export to ONNX" in message and "pair_scorer" in message
    assert not (tmp_path / "out").exists()

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    code, message = run_export_cli(["--model", str(adapter), "--output", str(tmp_path / "out")], capsys)
    assert code == 2 and "triplet LLM" in message and "does not export" in message

    code, message = run_export_cli(["--model", str(tmp_path / "missing"), "--output", str(tmp_path / "out")], capsys)
    assert code == 2 and "no such folder" in message and "default" in message


def test_export_cli_argument_errors(tiny_model_dir, tmp_path, capsys):
    code, message = run_export_cli(["--model", str(tiny_model_dir), "--output", str(tiny_model_dir)], capsys)
    assert code == 2 and "model's own folder" in message
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("keep me")
    code, message = run_export_cli(["--model", str(tiny_model_dir), "--output", str(occupied)], capsys)
    assert code == 2 and "not an ONNX export folder" in message and (occupied / "notes.txt").is_file()
    code, message = run_export_cli(
        ["--model", "default", "--output", str(tmp_path / "x"), "--quantize", "int4"], capsys
    )
    assert code == 2 and "invalid choice" in message


def test_export_cli_writes_a_served_folder(tiny_model_dir, tmp_path, capsys):
    from hf_ecpe.scripts.export import main

    serving = main(["--model", str(tiny_model_dir), "--output", str(tmp_path / "cli"), "--quantize", "int8"])
    printed = capsys.readouterr().out
    assert "model.onnx" in printed and "int8" in printed
    assert serving["parity"]["quantized_max_pair_probability_difference"] <= INT8_TOLERANCE
    assert json.loads((tmp_path / "cli" / SERVING_FILE).read_text()) == serving


def test_a_newer_export_format_is_refused_with_a_clear_error(fp32_dir, tmp_path):
    import shutil

    copy = Path(shutil.copytree(fp32_dir, tmp_path / "newer"))
    serving = json.loads((copy / SERVING_FILE).read_text())
    (copy / SERVING_FILE).write_text(json.dumps({**serving, "format_version": 99}))
    with pytest.raises(ValueError, match="re-export"):
        hf_ecpe.pipeline("emotion-cause", model=str(copy))


@pytest.mark.slow
def test_the_embedded_default_exports_and_serves_the_same_answers(tmp_path):
    from hf_ecpe.defaults import has_default_model

    if not has_default_model():
        pytest.skip("this build ships no embedded default model")
    texts = [
        "I was so happy, because I passed the exam. Then my dog died and I cried all night.",
        {"utterances": ["I got the job!", "Congratulations!", "Thanks, I am thrilled."], "speakers": ["A", "B", "A"]},
    ]
    folder = export_onnx("default", tmp_path / "default")
    served = hf_ecpe.pipeline("emotion-cause", model=str(folder))(texts, return_pair_scores=True)
    reference = hf_ecpe.pipeline("emotion-cause")(texts, return_pair_scores=True)
    assert_same_answers(served, reference, 1e-4)
