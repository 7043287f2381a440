"""``predict`` of the generation methods (issue 22): the empathetic generator's
:meth:`~hf_ecpe.models.empathy.EmpathyForConditionalGeneration.predict` (→ :class:`ResponsePrediction`) and the triplet
LLM's :meth:`~hf_ecpe.llm.EmotionCauseLLM.predict` (→ :class:`TripletPrediction`). Their pipelines and evaluation
runners are adapters over them (same outputs), and the empathy ``predict`` runs as remote code without hf_ecpe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import transformers
from conftest import run_without_hf_ecpe
from transformers import AutoModelForCausalLM, AutoTokenizer

from hf_ecpe.llm.data import TINY_LABELS, build_sft_dataset, tiny_examples
from hf_ecpe.llm.inference import EmotionCauseLLM, Triplet, TripletPrediction
from hf_ecpe.models.empathy import (
    CauseToken,
    CauseUtterance,
    EmpathyForConditionalGeneration,
    ResponsePrediction,
)

CONVERSATION = ["i was so happy", "oh , because ?", "because i passed the exam", "that is great !"]


@pytest.fixture(scope="module")
def empathy_dir(tiny_encoder_dir, tmp_path_factory) -> Path:
    """A tiny random empathy checkpoint (soft gates, sharp output layer) saved with its tokenizer."""
    torch.manual_seed(2)
    model = EmpathyForConditionalGeneration.from_encoder(
        str(tiny_encoder_dir), d_model=16, num_heads=2, ffn_dim=32, encoder_layers=1, decoder_layers=2
    )
    with torch.no_grad():
        model.lm_head.weight.mul_(4.0)  # less flat predictions: no greedy ties
    folder = tmp_path_factory.mktemp("empathy")
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_encoder_dir).save_pretrained(folder)
    return folder


@pytest.fixture()
def empathy(empathy_dir) -> EmpathyForConditionalGeneration:
    return transformers.AutoModelForSeq2SeqLM.from_pretrained(empathy_dir).eval()


# ----------------------------------------------------------------------------------------------- empathy


def test_empathy_predict_returns_response_predictions(empathy):
    one = empathy.predict(CONVERSATION[:3], ["speaker", "listener", "speaker"], max_new_tokens=6, cause_threshold=0.3)
    assert isinstance(one, ResponsePrediction)
    assert one.responses == [one.response] and one.emotion in empathy.config.emotion_labels
    assert 0.0 < one.emotion_score <= 1.0
    # the source as the model read it, with one P(cause) and one gate per token
    assert one.tokens[0] == "[CLS]" and one.token_utterances[0] == -1 and max(one.token_utterances) == 2
    assert len(one.tokens) == len(one.token_utterances) == len(one.cause_probabilities) == len(one.gates)
    assert one.cause_tokens and all(isinstance(token, CauseToken) and token.score > 0.3 for token in one.cause_tokens)
    for cause in one.cause_utterances:
        assert isinstance(cause, CauseUtterance) and cause.text == CONVERSATION[cause.index] and cause.score > 0.3
    batch = empathy.predict([CONVERSATION[:3], CONVERSATION], batch_size=2, max_new_tokens=6, cause_threshold=0.3)
    assert isinstance(batch, list) and len(batch) == 2  # padding in a batch changes nothing
    assert (batch[0].response, batch[0].emotion, batch[0].tokens) == (one.response, one.emotion, one.tokens)
    assert batch[0].cause_probabilities == pytest.approx(one.cause_probabilities, abs=1e-6)
    beams = empathy.predict(CONVERSATION, num_beams=3, num_return_sequences=3, max_new_tokens=6)
    assert len(beams.responses) == 3 and beams.to_dict()["responses"] == beams.responses
    assert empathy.predict([]) == []
    with pytest.raises(ValueError, match="cause_threshold"):
        empathy.predict(CONVERSATION, cause_threshold=1.5)
    with pytest.raises(ValueError, match="speakers"):
        empathy.predict(CONVERSATION, ["speaker"])


def test_empathy_predict_tokenizer_default_and_training_mode(empathy, tiny_encoder_dir):
    empathy.train()
    first = empathy.predict(CONVERSATION, max_new_tokens=4)  # the folder's tokenizer, loaded once and kept
    loaded = empathy._prediction_tokenizer
    assert loaded is not None and empathy.training  # predict ran in eval mode and gave the mode back
    assert empathy.eval().predict(CONVERSATION, max_new_tokens=4) == first and empathy._prediction_tokenizer is loaded
    fresh = EmpathyForConditionalGeneration.from_encoder(str(tiny_encoder_dir), d_model=16, num_heads=2, ffn_dim=32)
    with pytest.raises(ValueError, match="pass tokenizer="):
        fresh.predict(CONVERSATION)
    assert isinstance(fresh.predict(CONVERSATION, tokenizer=loaded, max_new_tokens=2), ResponsePrediction)


def test_empathetic_pipeline_is_predict_to_dict(empathy_dir, empathy):
    responder = transformers.pipeline("empathetic-response", model=str(empathy_dir))
    conversations = [CONVERSATION[:3], {"utterances": CONVERSATION[:1], "speakers": ["speaker"]}, CONVERSATION]
    utterances = [CONVERSATION[:3], CONVERSATION[:1], CONVERSATION]
    for settings in ({"max_new_tokens": 6}, {"max_new_tokens": 6, "cause_threshold": 0.2, "num_beams": 2}):
        expected = [p.to_dict() for p in empathy.predict(utterances, batch_size=1, **settings)]
        assert responder(conversations, **settings) == expected
        assert responder(CONVERSATION, **settings) == expected[2]
        assert list(responder(iter(conversations), batch_size=2, **settings)) == [
            p.to_dict() for p in empathy.predict(utterances, batch_size=2, **settings)
        ]
    assert set(expected[0]) == {"response", "emotion", "emotion_score", "cause_utterances", "cause_tokens"}


def test_empathy_evaluation_generates_through_predict(empathy, empathy_dir):
    from hf_ecpe.data.corpora.synthetic import synthetic_corpus
    from hf_ecpe.data.empathy import prepare_empathy_dataset
    from hf_ecpe.evaluation.empathy import evaluate_empathy_model

    tokenizer = AutoTokenizer.from_pretrained(empathy_dir)
    data = synthetic_corpus(6, seed=1)["test"]
    metrics = evaluate_empathy_model(
        empathy, tokenizer, data, batch_size=4, bertscore_model=None, generate_kwargs={"max_new_tokens": 6}
    )
    rows = list(prepare_empathy_dataset(data, empathy.config))
    predictions = empathy.predict([row["context"] for row in rows], batch_size=4, max_new_tokens=6)
    assert [sample["generated"] for sample in metrics["samples"]] == [p.response for p in predictions[:5]]
    gold = [row["emotion"] for row in rows]
    accuracy = sum(p.emotion == g for p, g in zip(predictions, gold)) / len(rows)
    assert metrics["emotion_accuracy"] == pytest.approx(accuracy) and metrics["examples"] == len(rows)


# Run by `run_without_hf_ecpe` with the arguments: checkpoint folder, output JSON file, JSON conversation.
REMOTE_SCRIPT = """
    import json
    import sys

    import transformers

    folder, out, conversation = sys.argv[1:]
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(folder, trust_remote_code=True)
    prediction = model.predict(json.loads(conversation), max_new_tokens=6, cause_threshold=0.3)
    result = {"module": type(model).__module__, "class": type(prediction).__name__, "output": prediction.to_dict()}
    with open(out, "w") as handle:
        json.dump(result, handle)
    """


@pytest.mark.slow  # one more interpreter
def test_empathy_predict_as_remote_code_without_hf_ecpe(empathy_dir, empathy, tmp_path):
    out = tmp_path / "remote.json"
    done = run_without_hf_ecpe(REMOTE_SCRIPT, [str(empathy_dir), str(out), json.dumps(CONVERSATION)], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    remote = json.loads(out.read_text())
    assert remote["module"].startswith("transformers_modules.") and remote["class"] == "ResponsePrediction"
    expected = empathy.predict(CONVERSATION, max_new_tokens=6, cause_threshold=0.3).to_dict()
    got = remote["output"]
    assert got["response"] == expected["response"] and got["emotion"] == expected["emotion"]
    assert got["emotion_score"] == pytest.approx(expected["emotion_score"], rel=1e-5)
    for key in ("cause_utterances", "cause_tokens"):
        assert [{k: v for k, v in c.items() if k != "score"} for c in got[key]] == [
            {k: v for k, v in c.items() if k != "score"} for c in expected[key]
        ]
        assert [c["score"] for c in got[key]] == pytest.approx([c["score"] for c in expected[key]], rel=1e-5)


# ----------------------------------------------------------------------------------------------- triplet LLM


@pytest.fixture(scope="module")
def llm(tmp_path_factory) -> EmotionCauseLLM:
    """The triplet LLM on a tiny random Llama (BPE trained on triplet prompts) with a sharp random output head."""
    from hf_ecpe.llm.weights import build_tiny_random_llama

    texts = [
        m["content"] for r in build_sft_dataset(tiny_examples(), TINY_LABELS) for m in r["prompt"] + r["completion"]
    ]
    path = build_tiny_random_llama(tmp_path_factory.mktemp("tiny_llm"), texts, vocab_size=600)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    head = torch.randn(model.lm_head.weight.shape, generator=torch.Generator().manual_seed(0)) * 3
    model.lm_head.weight = torch.nn.Parameter(head)  # untied from the embeddings
    return EmotionCauseLLM(model, tokenizer=AutoTokenizer.from_pretrained(path), labels=TINY_LABELS, max_new_tokens=30)


def test_triplet_llm_predict_returns_triplet_predictions(llm):
    rows = tiny_examples()
    documents = [
        {"clauses": rows[0]["units"]},
        {"utterances": rows[3]["units"], "speakers": ["A", "B"]},
        "",
        "I won .",
    ]
    predictions = llm.predict(documents, batch_size=2)
    assert all(isinstance(p, TripletPrediction) for p in predictions)
    assert [p.to_dict() for p in predictions] == llm(documents)  # __call__ is predict's to_dict
    assert predictions[2].units == [] and predictions[2].generated_text == "" and predictions[2].pairs == []
    triplets = [t for p in predictions for t in p.pairs]
    assert triplets, "the sharp random head writes some triplets"
    for prediction in predictions:
        for triplet in prediction.pairs:
            assert isinstance(triplet, Triplet) and triplet.category in TINY_LABELS and 0.0 < triplet.score <= 1.0
            start, end = triplet.cause_span
            assert triplet.cause_span_text == prediction.units[triplet.cause_index][start:end]
            assert triplet.emotion_text == prediction.units[triplet.emotion_index]
        assert prediction.parse.malformed_lines == 0 and prediction.to_dict()["parse"] == prediction.parse.counts()
    # units (+ speakers) are a document; with speakers it is a conversation, as {"utterances": ...}
    units, speakers = rows[3]["units"], ["A", "B"]
    assert llm.predict(units, speakers).to_dict() == llm({"utterances": units, "speakers": speakers})
    assert llm.predict(units).to_dict() == llm({"clauses": units})
    with pytest.raises(ValueError, match="speakers"):
        llm.predict(units, ["A"])


def test_triplet_llm_predict_rows_goes_through_predict(llm):
    rows = tiny_examples()
    parsed, texts = llm.predict_rows(rows)
    predictions = llm.predict(
        [row["units"] for row in rows],
        [row["speakers"] or None for row in rows],
        kind=[row["kind"] for row in rows],
    )
    assert texts == [p.generated_text for p in predictions] and parsed == [p.parse for p in predictions]
    calls = []
    predict = llm.predict
    llm.predict = lambda *args, **kwargs: calls.append(kwargs) or predict(*args, **kwargs)
    try:
        scores = llm.evaluate(rows)
    finally:
        del llm.predict
    assert calls and calls[0]["kind"] == [row["kind"] for row in rows] and scores["num_examples"] == len(rows)
