"""Every pipeline takes the standard call parameters of transformers pipelines (issue 22, item 5): ``batch_size`` at
call time, with the same results as one document at a time; and settings given for one call do not stay behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

import hf_ecpe

DOCUMENTS = [
    "i was so happy because i passed the exam .",
    {"utterances": ["i lost my job", "oh no that is terrible"], "speakers": ["A", "B"]},
    {"clauses": ["she felt sad", "her dog died"]},
]


def assert_same_results(results: list[dict], expected: list[dict]) -> None:
    """The same results up to float rounding of the scores."""
    assert len(results) == len(expected)
    for result, reference in zip(results, expected):
        assert set(result) == set(reference) and result["units"] == reference["units"]
        for key in ("pairs", "emotions", "causes"):
            scores = ("score", "category_score")
            assert [{k: v for k, v in item.items() if k not in scores} for item in result.get(key, [])] == [
                {k: v for k, v in item.items() if k not in scores} for item in reference.get(key, [])
            ]
            for item, other in zip(result.get(key, []), reference.get(key, [])):
                assert [item.get(k) for k in scores] == pytest.approx([other.get(k) for k in scores], abs=1e-5)


# ---------------------------------------------------------------------------------------------------------------
# the triplet LLM
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def triplet_extractor(tmp_path_factory):
    """The triplet-LLM pipeline over a tiny random Llama (the categories given as ``labels``)."""
    from hf_ecpe.llm.data import TINY_LABELS, build_sft_dataset, tiny_examples
    from hf_ecpe.llm.weights import build_tiny_random_llama

    rows = tiny_examples()
    texts = [m["content"] for r in build_sft_dataset(rows, TINY_LABELS) for m in r["prompt"] + r["completion"]]
    path = build_tiny_random_llama(tmp_path_factory.mktemp("tiny_llm"), texts, vocab_size=600)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    return hf_ecpe.pipeline("emotion-cause", model=model, tokenizer=tokenizer, labels=TINY_LABELS, max_new_tokens=8)


def _count_generate_calls(extractor, monkeypatch) -> list[int]:
    """Record the batch size of every ``model.generate`` call of the pipeline's LLM."""
    sizes: list[int] = []
    generate = extractor.llm.model.generate

    def counting(*args, **kwargs):
        sizes.append(int(kwargs["input_ids"].shape[0]))
        return generate(*args, **kwargs)

    monkeypatch.setattr(extractor.llm.model, "generate", counting)
    return sizes


def test_triplet_pipeline_takes_batch_size_at_call_time(triplet_extractor, monkeypatch):
    assert type(triplet_extractor).__name__ == "TripletPipeline"
    one_by_one = [triplet_extractor(document) for document in DOCUMENTS]
    sizes = _count_generate_calls(triplet_extractor, monkeypatch)
    batched = triplet_extractor(DOCUMENTS, batch_size=2)
    assert sizes == [2, 1]  # the call's batch size, not the built-in one (8)
    assert [r["generated_text"] for r in batched] == [r["generated_text"] for r in one_by_one]
    assert [r["pairs"] for r in batched] == [r["pairs"] for r in one_by_one]
    sizes.clear()
    triplet_extractor(DOCUMENTS, batch_size=1)
    assert sizes == [1, 1, 1]
    sizes.clear()
    triplet_extractor(DOCUMENTS)  # nothing stays behind: the pipeline's own batch size again
    assert sizes == [3] and triplet_extractor.llm.batch_size == 8


def test_triplet_pipeline_takes_language_at_call_time_and_refuses_other_parameters(triplet_extractor):
    text = "我很开心，因为考试通过了。"
    assert triplet_extractor(text, language="zh")["units"] == triplet_extractor(text)["units"]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            triplet_extractor(DOCUMENTS, batch_size=bad)
    with pytest.raises(TypeError, match=r"takes only batch_size and language at call time, got \['threshold'\]"):
        triplet_extractor(DOCUMENTS, threshold=0.5)
    assert triplet_extractor([], batch_size=2) == []


# ---------------------------------------------------------------------------------------------------------------
# KD-ECS (the pair pipeline's call-time batch_size: tests/test_pipeline.py::test_batches_give_the_same_results; the
# empathetic-response pipeline's: tests/test_empathy.py)
# ---------------------------------------------------------------------------------------------------------------


def test_kd_ecs_pipeline_takes_batch_size_and_max_span_tokens_at_call_time(tiny_encoder_dir, tmp_path: Path):
    """``max_span_tokens`` for one call is passed down, not written into the model's config for the call."""
    from test_kd_ecs import tiny_student

    model, tokenizer = tiny_student(tiny_encoder_dir, decode_threshold=0.0)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    extractor = hf_ecpe.pipeline("emotion-cause", model=str(tmp_path))
    assert type(extractor).__name__ == "KdEcsPipeline"
    conversations = [document for document in DOCUMENTS if isinstance(document, dict)]
    one_by_one = [extractor(conversation) for conversation in conversations]
    for batch_size in (1, 2):  # prompts of several conversations share forward passes: padding moves scores ~1e-7
        assert_same_results(extractor(conversations, batch_size=batch_size), one_by_one)

    config = extractor.model.config
    limit = config.max_span_tokens
    seen: list[int] = []
    forward = extractor.model.forward

    def watching(*args, **kwargs):
        seen.append(config.max_span_tokens)
        return forward(*args, **kwargs)

    extractor.model.forward = watching
    short = extractor(conversations[0], max_span_tokens=1)
    assert seen and set(seen) == {limit}  # the config is never changed, not even during the call
    for pair in short["pairs"]:
        start, end = pair["cause_span"]
        assert len(tokenizer.tokenize(pair["cause_span_text"])) <= 1 and end > start
    assert config.max_span_tokens == limit


def test_kd_ecs_max_span_tokens_reaches_the_span_head(tiny_encoder_dir):
    """The ``"span"`` causal head's probability compares the best span of at most ``max_span_tokens`` tokens with the
    null span: a call's limit changes it as the config's would."""
    from test_kd_ecs import ROW, tiny_student

    from hf_ecpe.data.kd_ecs import KdEcsCollator, pair_examples, predict_examples

    model, tokenizer = tiny_student(tiny_encoder_dir, causal_head="span")
    examples = pair_examples(ROW, model.config, tokenizer, "all", labelled=False)
    collator = KdEcsCollator(tokenizer, model.config)
    by_argument = predict_examples(model, examples, collator, 4, max_span_tokens=1)
    limit = model.config.max_span_tokens
    model.config.max_span_tokens = 1
    by_config = predict_examples(model, examples, collator, 4)
    model.config.max_span_tokens = limit
    default = predict_examples(model, examples, collator, 4)
    assert by_argument == by_config
    assert [p["causal_probability"] for p in by_argument] != [p["causal_probability"] for p in default]
