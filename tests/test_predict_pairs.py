"""``predict`` on the pair models (issue #22): units in, ``PairPrediction`` dataclasses out; the pipeline is a thin
adapter over it, the trainers' metrics decode as it does, and it runs as remote code without hf_ecpe."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import build_tiny_a2net, run_without_hf_ecpe
from transformers import AutoModel, AutoTokenizer, pipeline

from hf_ecpe import A2NetModel, MultimodalPairScorerModel
from hf_ecpe.data.collators import ClauseCollator
from hf_ecpe.data.multimodal import speaker_ids_for
from hf_ecpe.prediction import forward_pairs, model_text, unit_inputs
from hf_ecpe.trainers.metrics import EcpeComputeMetrics, pack_predictions, unpack

CATEGORIES = ["neutral", "joy", "sadness", "anger"]
DOCUMENTS = [
    ["i was so happy", "because i passed the exam", "she felt sad", "her dog died"],
    ["he is angry", "they lost the game"],
    [],
    ["i lost my job"],
]
SPEAKERS = [["A", "B", "A", "B"], None, None, [""]]


@pytest.fixture(scope="module")
def a2net_dir(tiny_encoder_dir, tmp_path_factory) -> Path:
    return build_tiny_a2net(tmp_path_factory.mktemp("predict_a2net"), tiny_encoder_dir, decoding="threshold")


@pytest.fixture(scope="module")
def scorer_dir(tiny_encoder_dir, tmp_path_factory) -> Path:
    """A tiny pair scorer with a category head and speaker prefixes (every input path of predict)."""
    torch.manual_seed(0)
    model = MultimodalPairScorerModel.from_encoder(
        str(tiny_encoder_dir), emotion_categories=CATEGORIES, prepend_speaker=True, decode_threshold=0.3
    )
    path = tmp_path_factory.mktemp("predict_scorer")
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny_encoder_dir).save_pretrained(path)
    return path


@pytest.fixture(params=["a2net", "pair_scorer"])
def model_dir(request, a2net_dir, scorer_dir) -> Path:
    return {"a2net": a2net_dir, "pair_scorer": scorer_dir}[request.param]


@pytest.mark.parametrize("encoder", ["bert", "mpnet"])
@pytest.mark.parametrize("max_unit_tokens", [None, 4])
def test_unit_inputs_are_the_clause_collators_tensors(encoder, max_unit_tokens, tiny_encoder_dir, tiny_mpnet_dir):
    tokenizer = AutoTokenizer.from_pretrained({"bert": tiny_encoder_dir, "mpnet": tiny_mpnet_dir}[encoder])
    documents = [units for units in DOCUMENTS if units]
    speakers = [names for names, units in zip(SPEAKERS, DOCUMENTS) if units]
    rows = [{"units": units, "speakers": names or []} for units, names in zip(documents, speakers)]
    expected = ClauseCollator(tokenizer, max_unit_tokens=max_unit_tokens)(rows)
    expected["speaker_ids"] = torch.full_like(expected["unit_token_index"], -1)
    for row_number, row in enumerate(rows):
        found = speaker_ids_for(row)
        expected["speaker_ids"][row_number, : len(found)] = torch.tensor(found)
    conversational = SimpleNamespace(supports_speaker_ids=True)
    got = unit_inputs(tokenizer, conversational, documents, speakers, max_unit_tokens)
    assert got.keys() == expected.keys()  # token_type_ids only for the BERT tokenizer
    assert ("token_type_ids" in got) == (encoder == "bert")
    for key in got:
        assert torch.equal(got[key], expected[key]), key
    assert "speaker_ids" not in unit_inputs(tokenizer, SimpleNamespace(), documents, speakers, max_unit_tokens)


def test_predict_returns_the_dataclasses_and_the_pipeline_formats_them(model_dir):
    model = AutoModel.from_pretrained(model_dir).eval()
    one = model.predict(DOCUMENTS[0], SPEAKERS[0])
    assert type(one).__name__ == "PairPrediction" and dataclasses.is_dataclass(one)
    assert one.units == DOCUMENTS[0] and one.pair_scores is None
    assert one.pairs, "the tiny models' thresholds keep some pairs"
    assert all(type(pair).__name__ == "PredictedPair" for pair in one.pairs)
    assert all(type(unit).__name__ == "PredictedUnit" for unit in one.emotions + one.causes)
    batch = model.predict(DOCUMENTS, SPEAKERS, batch_size=2, return_pair_scores=True)
    assert (
        isinstance(batch, list)
        and len(batch) == len(DOCUMENTS)
        and batch[0].to_dict()
        == {
            **one.to_dict(),
            "pair_scores": batch[0].pair_scores,
        }
    )
    assert batch[2].to_dict() == {"units": [], "pairs": [], "emotions": [], "causes": [], "pair_scores": []}
    assert model.predict([]) == []
    extractor = pipeline("emotion-cause", model=str(model_dir))
    inputs = [
        {"utterances": units, "speakers": names} if names else {"clauses": units}
        for units, names in zip(DOCUMENTS, SPEAKERS)
    ]
    for settings in ({}, {"return_pair_scores": True, "decoding": "reference", "top_k": 2, "max_units": 2}):
        predictions = model.predict(DOCUMENTS, SPEAKERS, batch_size=3, **settings)
        assert extractor(inputs, batch_size=3, **settings) == [prediction.to_dict() for prediction in predictions]


def test_category_models_put_categories_on_pairs_and_emotions(scorer_dir, a2net_dir):
    prediction = AutoModel.from_pretrained(scorer_dir).predict(DOCUMENTS[0], SPEAKERS[0])
    assert all(pair.category in CATEGORIES[1:] and 0 < pair.category_score <= 1 for pair in prediction.pairs)
    assert all(unit.category in CATEGORIES[1:] for unit in prediction.emotions)
    assert all(unit.category is None and unit.emotions for unit in prediction.causes)
    plain = AutoModel.from_pretrained(a2net_dir).predict(DOCUMENTS[0])
    assert all(pair.category is None and "category" not in pair.to_dict(plain.units) for pair in plain.pairs)


def test_speakers_reach_the_model_as_prefixes_and_speaker_ids(scorer_dir):
    model = AutoModel.from_pretrained(scorer_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(scorer_dir)
    with_speakers = model.predict(DOCUMENTS[0], SPEAKERS[0], return_pair_scores=True)
    without = model.predict(DOCUMENTS[0], return_pair_scores=True, tokenizer=tokenizer)
    assert with_speakers.units == without.units == DOCUMENTS[0]  # the units as given, not as the model read them
    assert with_speakers.pair_scores != without.pair_scores


def test_the_tokenizer_is_loaded_once_or_asked_for(a2net_dir, tiny_encoder_dir):
    model = AutoModel.from_pretrained(a2net_dir)
    first = model.predict(DOCUMENTS[1])
    cached = model._prediction_tokenizer
    assert model.predict(DOCUMENTS[1]) == first and model._prediction_tokenizer is cached
    fresh = A2NetModel.from_encoder(str(tiny_encoder_dir), pfn_hidden_size=16, position_embedding_size=8)
    with pytest.raises(ValueError, match="pass tokenizer=..."):
        fresh.predict(DOCUMENTS[1])
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    assert fresh.predict(DOCUMENTS[1], tokenizer=tokenizer).units == DOCUMENTS[1]


def test_a_model_in_training_mode_predicts_in_eval_mode_and_stays_in_training(a2net_dir):
    model = AutoModel.from_pretrained(a2net_dir).eval()
    expected = model.predict(DOCUMENTS[0], return_pair_scores=True)
    model.train()
    assert model.predict(DOCUMENTS[0], return_pair_scores=True) == expected  # no dropout
    assert model.training


def test_arguments_that_do_not_fit_the_documents_are_refused(a2net_dir):
    model = AutoModel.from_pretrained(a2net_dir)
    with pytest.raises(ValueError, match="document 0: 1 speakers for 4 units"):
        model.predict(DOCUMENTS[0], ["A"])
    with pytest.raises(ValueError, match="speakers has 1 entries for 2 documents"):
        model.predict(DOCUMENTS[:2], [None])
    with pytest.raises(TypeError, match="document 0: unit 1 is int, not a string"):
        model.predict(["fine", 3])
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.predict(DOCUMENTS[0], batch_size=0)


def test_the_metrics_decode_as_predict_does(model_dir):
    """The trainers' metrics and predict share one decoder: the same pairs and head selections from the same
    forward pass (lexicon flags included)."""
    model = AutoModel.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    documents, speakers = DOCUMENTS[:2], SPEAKERS[:2]
    flags = [[True, False, True, False], [False, True]]
    metrics = EcpeComputeMetrics(model, decode_kwargs={"strategy": "reference", "top_k": 3, "threshold": 0.2})
    predictions = model.predict(
        documents, speakers, decoding="reference", top_k=3, threshold=0.2, lexicon_flags=flags, batch_size=1
    )
    for units, names, doc_flags, prediction in zip(documents, speakers, flags, predictions):
        # one document per forward pass, as predict ran them; the lexicon mask packed after the predictions, as the
        # trainer packs it
        inputs = unit_inputs(tokenizer, model.config, [model_text(model.config, units, names)], [names])
        outputs = forward_pairs(model, inputs)
        packed = pack_predictions(outputs, outputs["unit_mask"], torch.tensor([doc_flags]))
        docs, _ = unpack(tuple(tensor.numpy() for tensor in packed))
        (pairs,), (head_emotions,), (head_causes,) = metrics.decode(docs)
        assert pairs == [(pair.emotion_index, pair.cause_index) for pair in prediction.pairs] and pairs
        assert set(head_emotions) <= {unit.index for unit in prediction.emotions}
        assert set(head_emotions) | {emotion for emotion, _ in pairs} == {unit.index for unit in prediction.emotions}
        assert all(0 <= index < len(units) for index in head_causes)


def test_the_pipeline_serves_a_pair_model_without_predict(a2net_dir, monkeypatch):
    """Remote code saved before predict existed: the pipeline runs hf_ecpe.prediction.predict_pairs instead."""
    extractor = pipeline("emotion-cause", model=str(a2net_dir))
    inputs = [{"clauses": units} for units in DOCUMENTS]
    expected = extractor(inputs, return_pair_scores=True)
    monkeypatch.delattr(type(extractor.model), "predict")
    assert not hasattr(extractor.model, "predict")
    assert extractor(inputs, return_pair_scores=True) == expected


def test_moved_pipeline_classes_are_still_importable_from_emotion_cause():
    from hf_ecpe.pipelines import emotion_cause, pairs, triplets

    assert (
        emotion_cause.PairPipeline is pairs.PairPipeline and emotion_cause.TripletPipeline is triplets.TripletPipeline
    )
    with pytest.raises(AttributeError):
        emotion_cause.NoSuchPipeline  # noqa: B018


# Run by `run_without_hf_ecpe` with the arguments: checkpoint folder, JSON [documents, speakers].
REMOTE_PREDICT = """
    import json
    import sys

    from transformers import AutoModel

    folder, arguments = sys.argv[1:]
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    documents, speakers = json.loads(arguments)
    predictions = model.predict(documents, speakers, return_pair_scores=True, max_units=3)
    print(json.dumps({"module": type(model).__module__, "results": [p.to_dict() for p in predictions]}))
    """


@pytest.mark.slow  # one more interpreter per pair method
def test_predict_runs_as_remote_code_without_hf_ecpe(model_dir, tmp_path):
    done = run_without_hf_ecpe(REMOTE_PREDICT, [str(model_dir), json.dumps([DOCUMENTS, SPEAKERS])], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    remote = json.loads(done.stdout.strip().splitlines()[-1])
    assert remote["module"].startswith("transformers_modules.")
    local = AutoModel.from_pretrained(model_dir).eval()
    expected = local.predict(DOCUMENTS, SPEAKERS, return_pair_scores=True, max_units=3)
    assert_close(remote["results"], json.loads(json.dumps([prediction.to_dict() for prediction in expected])))


def assert_close(got, expected, path="results"):
    """Equal structure and values; floats within 1e-5 (another interpreter, another thread count)."""
    if isinstance(expected, float):
        assert isinstance(got, float) and abs(got - expected) <= 1e-5, (path, got, expected)
    elif isinstance(expected, dict):
        assert list(got) == list(expected), path
        for key in expected:
            assert_close(got[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), path
        for number, (left, right) in enumerate(zip(got, expected)):
            assert_close(left, right, f"{path}[{number}]")
    else:
        assert got == expected, (path, got, expected)
