"""Instruction template and prompt–completion rows (hf_ecpe.llm.prompts, hf_ecpe.llm.data)."""

from __future__ import annotations

import pytest

from hf_ecpe.data.schema import make_pair, validate_rows
from hf_ecpe.llm.data import (
    TINY_LABELS,
    build_sft_dataset,
    corpus_labels,
    labels_from_rows,
    row_triplets,
    tiny_examples,
    to_prompt_completion,
)
from hf_ecpe.llm.parsing import parse_completion
from hf_ecpe.llm.prompts import EMPTY_MARKER, PROMPT_VERSION, RULES, WORKFLOW, build_prompt, render_completion
from tests.conftest import corpus_dir

CONVERSATION = {
    "id": "c1",
    "kind": "conversation",
    "language": "en",
    "units": ["I lost my job today .", "Oh no , that is terrible !", "But I got a new puppy ."],
    "speakers": ["Ann", "Bob", "Ann"],
    "emotions": ["neutral", "sadness", "joy"],
    # SemEval-style: cause span only; the emotion span becomes the whole emotion utterance.
    "pairs": [
        make_pair(1, 0, cause_span=[0, 13], category="sadness"),
        make_pair(2, 2, cause_span=[4, 21], category="joy"),
    ],
}


def test_template_has_versioned_rules_and_workflow():
    assert PROMPT_VERSION == "2"
    assert len(RULES) == 5 and len(WORKFLOW) == 5
    prompt = build_prompt(["a b", "c"], ["joy", "anger"], kind="document")
    for k in range(1, 6):
        assert f"\n{k}. " in prompt
    assert "Categories: joy, anger" in prompt
    assert prompt.endswith("U1: a b\nU2: c")
    assert EMPTY_MARKER in prompt


def test_conversation_prompt_numbers_units_with_speakers():
    prompt = to_prompt_completion(CONVERSATION, ["joy", "sadness"])["prompt"][0]["content"]
    assert "U1 (Ann): I lost my job today ." in prompt and "U3 (Ann): But I got a new puppy ." in prompt
    assert "conversation (3 utterances" in prompt


def test_completion_uses_whole_emotion_utterance_when_span_missing():
    row = to_prompt_completion(CONVERSATION, ["joy", "sadness"])
    assert row["completion"] == [
        {
            "role": "assistant",
            "content": '(U2, U1: "I lost my job", sadness)\n(U3, U3: "I got a new puppy", joy)',
        }
    ]
    assert row["prompt"][0]["role"] == "user" and set(row) == {"prompt", "completion"}


def _triplet(emotion: tuple[int, int, int], cause: tuple[int, int, int], category: str = "joy") -> dict:
    keys = ("unit", "start", "end")
    return {
        **{f"emotion_{k}": v for k, v in zip(keys, emotion)},
        **{f"cause_{k}": v for k, v in zip(keys, cause)},
        "category": category,
    }


def test_empty_marker_and_quotes_are_escaped():
    assert render_completion([], ["x"]) == EMPTY_MARKER
    units = ['he said "hi" \\ ok']
    line = render_completion([_triplet((0, 3, 17), (0, 3, 12))], units)
    assert line == r'(U1: "said \"hi\" \\ ok", U1: "said \"hi\"", joy)'
    assert parse_completion(line, units, ["joy"]).triplets == [_triplet((0, 3, 17), (0, 3, 12))]


def test_whole_unit_is_written_bare_and_parsed_back():
    units = ["  I passed the exam .\n", "So happy !", "   "]
    gold = [_triplet((1, 0, 10), (0, 2, 21)), _triplet((1, 3, 8), (0, 2, 19))]
    completion = render_completion(gold, units)
    assert completion == '(U2, U1, joy)\n(U2: "happy", U1: "I passed the exam", joy)'
    assert parse_completion(completion, units, ["joy"]).triplets == gold
    # other spellings of the bare form; a bare number alone is not a unit marker; a blank unit has no span
    for line in ("[2], Utterance 1, joy", "u2 ; clause #1 ; 'joy'"):
        assert parse_completion(line, units, ["joy"]).triplets == gold[:1], line
    assert parse_completion("(2, 1, joy)", units, ["joy"]).malformed_lines == 1
    assert parse_completion("(U2, U3, joy)", units, ["joy"]).dropped_spans == 1
    assert parse_completion("(U2, U9, joy)", units, ["joy"]).dropped_spans == 1


def test_unknown_category_and_bad_input_raise_clearly():
    with pytest.raises(ValueError, match="not in the label set"):
        to_prompt_completion(CONVERSATION, ["joy"])
    with pytest.raises(ValueError, match="labels is empty"):
        build_prompt(["a"], [])
    with pytest.raises(ValueError, match="kind must be"):
        build_prompt(["a"], ["joy"], kind="tweet")
    with pytest.raises(ValueError, match="2 speakers for 3 units"):
        build_prompt(["a", "b", "c"], ["joy"], speakers=["x", "y"])


def test_tiny_examples_roundtrip_and_dataset():
    rows = tiny_examples()
    validate_rows(rows)
    assert set(labels_from_rows(rows)) == set(TINY_LABELS)
    dataset = build_sft_dataset(rows, TINY_LABELS)
    assert dataset.column_names == ["prompt", "completion"] and len(dataset) == len(rows)
    for row, record in zip(rows, dataset):
        parsed = parse_completion(record["completion"][0]["content"], row["units"], TINY_LABELS)
        assert parsed.triplets == row_triplets(row) and parsed.well_formed


def test_corpus_labels():
    assert corpus_labels("semeval2024_ecac") == ("anger", "disgust", "fear", "joy", "sadness", "surprise")
    assert "happiness" in corpus_labels("ecpe_en")
    with pytest.raises(ValueError, match="labels="):
        corpus_labels("ed_cause")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "folder", "config"),
    [("semeval2024_ecac", "ecf2-semeval2024", "subtask1"), ("ecpe_en", "ecpe-en", "fold1")],
)
def test_real_corpus_completions_roundtrip(data_root, name, folder, config):
    from hf_ecpe.llm.data import load_corpus_rows

    corpus_dir(data_root, folder)
    rows = load_corpus_rows(name, data_root, config, "train").select(range(300))
    labels = corpus_labels(name)
    for row in rows:
        record = to_prompt_completion(row, labels)
        assert parse_completion(record["completion"][0]["content"], row["units"], labels).triplets == row_triplets(row)


def test_completion_token_budget_fits_the_longest_gold_completion():
    from hf_ecpe.llm.data import completion_token_budget

    def whitespace_tokenizer(text: str, add_special_tokens: bool = True) -> dict:
        return {"input_ids": text.split()}

    rows = tiny_examples()
    longest = max(len(to_prompt_completion(r, TINY_LABELS)["completion"][0]["content"].split()) for r in rows)
    assert completion_token_budget(rows, TINY_LABELS, whitespace_tokenizer) == longest + 16
    assert completion_token_budget(rows[2:3], TINY_LABELS, whitespace_tokenizer, margin=0) == 1  # "NONE"
    with pytest.raises(ValueError, match="no rows"):
        completion_token_budget([], TINY_LABELS, whitespace_tokenizer)


def test_spans_with_line_breaks_stay_on_one_line():
    units = ["so\x85happy\u2028today", "I passed\nthe exam ."]
    gold = [_triplet((0, 0, 8), (1, 2, 17))]
    completion = render_completion(gold, units)
    assert completion == '(U1: "so happy", U2: "passed the exam", joy)' and len(completion.splitlines()) == 1
    assert parse_completion(completion, units, ["joy"]).triplets == gold


def test_instruction_ablation_variants():
    """task ⊂ rules ⊂ workflow (the default, unchanged text); the grammar and the input are in every variant."""
    from hf_ecpe.llm.prompts import DEFAULT_INSTRUCTION, INSTRUCTIONS

    assert INSTRUCTIONS == ("task", "rules", "workflow") and DEFAULT_INSTRUCTION == "workflow"
    units, labels = ["I was so happy", "because I passed ."], ["joy", "anger"]
    prompts = {name: build_prompt(units, labels, instruction=name) for name in INSTRUCTIONS}
    assert prompts["workflow"] == build_prompt(units, labels)
    assert "Rules:" not in prompts["task"] and "Workflow:" not in prompts["task"]
    assert "Rules:" in prompts["rules"] and "Workflow:" not in prompts["rules"]
    assert "Rules:" in prompts["workflow"] and "Workflow:" in prompts["workflow"]
    for prompt in prompts.values():
        assert "Categories: joy, anger" in prompt and "Output format" in prompt and EMPTY_MARKER in prompt
        assert prompt.endswith("U1: I was so happy\nU2: because I passed .")
    assert prompts["task"].count(EMPTY_MARKER) == prompts["rules"].count(EMPTY_MARKER) == 1
    row = tiny_examples()[0]
    record = to_prompt_completion(row, TINY_LABELS, instruction="task")
    assert "Rules:" not in record["prompt"][0]["content"]
    assert record["completion"] == to_prompt_completion(row, TINY_LABELS)["completion"]
    assert "Workflow:" not in build_sft_dataset([row], TINY_LABELS, "rules")[0]["prompt"][0]["content"]
    with pytest.raises(ValueError, match="instruction must be one of"):
        build_prompt(units, labels, instruction="rules+workflow")
