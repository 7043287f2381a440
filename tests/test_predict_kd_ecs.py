"""``predict`` of the KD-ECS models: typed output, the pipeline as its adapter, the evaluation runner on the same
functions, the teacher with gold emotions, and a remote-code checkpoint predicting where hf_ecpe cannot be imported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_without_hf_ecpe
from test_kd_ecs import ROW, tiny_student, tiny_teacher

import hf_ecpe
from hf_ecpe.data.schema import NEUTRAL
from hf_ecpe.evaluation.kd_ecs import span_pair_scores
from hf_ecpe.models.kd_ecs import KdEcsStudentModel, SpanPair, SpanPairPrediction
from hf_ecpe.models.kd_ecs.processing_kd_ecs import NEUTRAL as FOLDER_NEUTRAL
from hf_ecpe.models.kd_ecs.processing_kd_ecs import whole_unit
from hf_ecpe.trainers.kd_ecs import evaluate_kd_ecs

CONVERSATIONS = [
    (ROW["units"], ROW["speakers"]),
    (["i passed the exam", "that is great news", "i am so happy"], ["A", "B", "A"]),
    (["oh no"], None),
]


@pytest.fixture(scope="module")
def student_dir(tiny_encoder_dir, tmp_path_factory) -> Path:
    """A tiny random student (threshold 0: every non-neutral target keeps pairs) saved with its tokenizer."""
    model, tokenizer = tiny_student(tiny_encoder_dir, decode_threshold=0.0)
    folder = tmp_path_factory.mktemp("kd_ecs_student")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_the_model_folder_neutral_label_is_the_schema_s():
    assert FOLDER_NEUTRAL == NEUTRAL  # the folder cannot import hf_ecpe.data.schema (remote code)


def test_predict_returns_one_dataclass_per_conversation(student_dir):
    model = KdEcsStudentModel.from_pretrained(student_dir)
    units, speakers = CONVERSATIONS[0]
    one = model.predict(units, speakers)
    assert isinstance(one, SpanPairPrediction) and one.units == units
    assert one.pairs and all(isinstance(pair, SpanPair) for pair in one.pairs)
    for pair in one.pairs:
        start, end = pair.cause_span
        assert 0 <= pair.cause_index <= pair.emotion_index and 0 <= start < end <= len(units[pair.cause_index])
        assert pair.category in model.config.emotion_labels and pair.category != NEUTRAL
        assert isinstance(pair.score, float) and isinstance(pair.category_score, float)
    assert [pair.score for pair in one.pairs] == sorted((pair.score for pair in one.pairs), reverse=True)
    assert {e.index for e in one.emotions} == {pair.emotion_index for pair in one.pairs}
    # one conversation per batch: the prompts of several share padded forward passes (scores move by ~1e-7)
    many = model.predict([units for units, _ in CONVERSATIONS], [s for _, s in CONVERSATIONS], batch_size=1)
    assert [type(p) for p in many] == [SpanPairPrediction] * 3 and many[0] == one
    assert model.predict([]) == []
    assert model.predict([units], threshold=1.0)[0].pairs == []


def test_the_pipeline_returns_predict_as_dicts(student_dir):
    model = KdEcsStudentModel.from_pretrained(student_dir)
    extractor = hf_ecpe.pipeline("emotion-cause", model=str(student_dir))
    documents = [{"utterances": units, "speakers": speakers or []} for units, speakers in CONVERSATIONS]
    expected = [prediction.to_dict() for prediction in model.predict(*zip(*CONVERSATIONS), batch_size=1)]
    assert extractor(documents, batch_size=1) == expected
    settings = {"threshold": 0.3, "max_span_tokens": 1, "prompt_batch_size": 2}
    units, speakers = CONVERSATIONS[1]
    assert extractor(documents[1], **settings) == model.predict(units, speakers, **settings).to_dict()
    assert extractor({"utterances": []}) == model.predict([[]])[0].to_dict() == SpanPairPrediction([]).to_dict()


def test_predict_leaves_the_config_alone_and_checks_its_settings(student_dir):
    model = KdEcsStudentModel.from_pretrained(student_dir)
    before = model.config.to_dict()
    short = model.predict(ROW["units"], ROW["speakers"], max_span_tokens=1, threshold=0.2)
    assert model.config.to_dict() == before
    tokenizer = model._prediction_tokenizer()
    for pair in short.pairs:
        start, end = pair.cause_span
        assert len(tokenizer.tokenize(ROW["units"][pair.cause_index][start:end])) == 1
    for settings, message in (
        ({"threshold": 1.5}, r"threshold is a probability in \[0, 1\]"),
        ({"max_span_tokens": 0}, "max_span_tokens must be >= 1"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
    ):
        with pytest.raises(ValueError, match=message):
            model.predict(ROW["units"], **settings)
    with pytest.raises(ValueError, match="has 4 utterances and 2 speakers"):
        model.predict(ROW["units"], ["A", "B"])
    with pytest.raises(ValueError, match="predicts the emotions itself"):
        model.predict(ROW["units"], emotions=ROW["emotions"])


def test_the_tokenizer_is_loaded_once_from_the_model_folder_or_must_be_given(student_dir, tiny_encoder_dir):
    model = KdEcsStudentModel.from_pretrained(student_dir)
    first = model.predict(ROW["units"])
    cached = model._prediction_tokenizer()
    model.predict(ROW["units"])
    assert model._prediction_tokenizer() is cached and model.predict(ROW["units"]) == first
    fresh, tokenizer = tiny_student(tiny_encoder_dir)  # built with from_encoder: no folder to load from
    with pytest.raises(ValueError, match="needs the model's tokenizer: pass tokenizer="):
        fresh.predict(ROW["units"])
    assert isinstance(fresh.predict(ROW["units"], tokenizer=tokenizer), SpanPairPrediction)


def test_the_teacher_predicts_with_the_gold_emotions(tiny_encoder_dir):
    teacher, tokenizer = tiny_teacher(tiny_encoder_dir, decode_threshold=0.0)
    with pytest.raises(ValueError, match="pass emotions="):
        teacher.predict(ROW["units"], ROW["speakers"], tokenizer=tokenizer)
    prediction = teacher.predict(ROW["units"], ROW["speakers"], emotions=ROW["emotions"], tokenizer=tokenizer)
    emotional = {i for i, emotion in enumerate(ROW["emotions"]) if emotion != NEUTRAL}
    assert {(p.emotion_index, p.cause_index) for p in prediction.pairs} == {
        (i, j) for i in emotional for j in range(i + 1)
    }
    for pair in prediction.pairs:
        assert pair.category == ROW["emotions"][pair.emotion_index] and pair.category_score is None
        assert pair.cause_span == whole_unit(ROW["units"][pair.cause_index])
    assert prediction.emotions == []


def test_the_evaluation_runner_decodes_what_predict_returns(student_dir):
    """``evaluate_kd_ecs``'s end-to-end scores are those of ``model.predict`` on the same rows (same batches)."""
    model = KdEcsStudentModel.from_pretrained(student_dir)
    other = dict(ROW, id="c2", emotions=["neutral", "happiness", "neutral", "happiness"])
    rows = [ROW, other]
    metrics = evaluate_kd_ecs(model, model._prediction_tokenizer(), rows, batch_size=4, threshold=0.4)
    predictions = model.predict(
        [row["units"] for row in rows], [row["speakers"] for row in rows], batch_size=2, prompt_batch_size=4,
        threshold=0.4,
    )  # fmt: skip
    expected = span_pair_scores(rows, predictions, model.config.emotion_labels)
    assert expected == {key: metrics[key] for key in expected}
    assert any(prediction.pairs for prediction in predictions)


# Run by `run_without_hf_ecpe` with the arguments: checkpoint folder, JSON conversations, output JSON file.
REMOTE_SCRIPT = """
    import json
    import sys

    import transformers

    folder, conversations, out = sys.argv[1:]
    model = transformers.AutoModel.from_pretrained(folder, trust_remote_code=True)
    conversations = json.loads(conversations)
    predictions = model.predict([units for units, _ in conversations], [speakers for _, speakers in conversations])
    result = {"module": type(predictions[0]).__module__, "outputs": [p.to_dict() for p in predictions]}
    with open(out, "w") as handle:
        json.dump(result, handle)
    """


@pytest.mark.slow  # one more interpreter
def test_a_remote_code_checkpoint_predicts_without_hf_ecpe(student_dir, tmp_path):
    assert (student_dir / "processing_kd_ecs.py").is_file()  # shipped with the modeling file that imports it
    arguments = [str(student_dir), json.dumps(CONVERSATIONS), str(tmp_path / "remote.json")]
    done = run_without_hf_ecpe(REMOTE_SCRIPT, arguments, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    remote = json.loads((tmp_path / "remote.json").read_text())
    assert remote["module"].startswith("transformers_modules.")
    model = KdEcsStudentModel.from_pretrained(student_dir)
    expected = [prediction.to_dict() for prediction in model.predict(*zip(*CONVERSATIONS))]
    assert remote["outputs"] == json.loads(json.dumps(expected))
