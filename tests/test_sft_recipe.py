"""SFT recipe: `accelerate launch -m hf_ecpe.scripts.sft --config recipes/sft_tiny.yaml` end to end, then reload."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_recipes_parse_with_trl_parser():
    from hf_ecpe.scripts.sft import make_parser

    for recipe in ("sft_tiny.yaml", "sft_smollm2_semeval.yaml"):
        script_args, training_args, model_args = make_parser().parse_args_and_config(
            ["--config", str(REPO / "recipes" / recipe), "--output_dir", "/tmp/unused"]
        )
        assert model_args.use_peft and training_args.completion_only_loss is True
        assert training_args.label_names == ["labels"] and training_args.bf16 is False


@pytest.fixture(scope="module")
def trained_adapter(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sft_tiny")
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or "accelerate"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false"}
    command = [
        accelerate, "launch", "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no",
        "--dynamo_backend", "no", "-m", "hf_ecpe.scripts.sft", "--config", str(REPO / "recipes" / "sft_tiny.yaml"),
        "--output_dir", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_adapter_card_and_metrics_written(trained_adapter):
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "README.md", "metrics.json"):
        assert (trained_adapter / name).is_file(), name
    record = json.loads((trained_adapter / "metrics.json").read_text())
    assert record["prompt_version"] == "2" and record["base_model"] == "tiny-random-llama"
    assert record["instruction"] == "workflow" and record["metrics"]["eval_constrained"] is True
    metrics = record["metrics"]
    assert metrics["eval_num_examples"] == 6 and 0.0 <= metrics["eval_malformed_rate"] <= 1.0
    assert metrics["train_loss"] > 0
    card = (trained_adapter / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: peft" in card
    assert "**Prompt version:** 2 (`hf_ecpe.llm.prompts`), instruction `workflow`" in card
    assert "built-in tiny examples" in card and "Triplets, strict span match" in card  # the shared card template
    assert "pipeline_tag: emotion-cause" in card and "- hf-ecpe\n" in card and "Instruction-tuned triplet LLM" in card


def test_reload_adapter_and_generate(trained_adapter):
    from peft import AutoPeftModelForCausalLM, PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hf_ecpe.llm.data import TINY_LABELS
    from hf_ecpe.llm.inference import EmotionCauseLLM

    model = AutoPeftModelForCausalLM.from_pretrained(trained_adapter)
    assert isinstance(model, PeftModel)
    tokenizer = AutoTokenizer.from_pretrained(trained_adapter)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    generated = model.generate(**prompt, max_new_tokens=5, do_sample=False)
    assert generated.shape[1] == prompt["input_ids"].shape[1] + 5 or generated[0, -1] == tokenizer.eos_token_id

    # base + PeftModel.from_pretrained through the wrapper, pipeline-style inputs and output schema
    base = AutoModelForCausalLM.from_pretrained(trained_adapter / "base_model")
    llm = EmotionCauseLLM(base, adapter=trained_adapter, labels=TINY_LABELS, max_new_tokens=8, batch_size=2)
    results = llm(
        [
            "I was so happy because I passed .",
            {"utterances": ["Oh no !", "I lost it ."], "speakers": ["A", "B"]},
            {"clauses": []},
        ]
    )
    assert [r["units"] for r in results] == [["I was so happy because I passed ."], ["Oh no !", "I lost it ."], []]
    for result in results:
        assert set(result) == {"units", "pairs", "generated_text", "parse"} and isinstance(result["pairs"], list)
    assert tokenizer.padding_side == "left" or llm.tokenizer.padding_side == "left"


def test_adapter_serves_the_emotion_cause_pipeline(trained_adapter):
    """pipeline("emotion-cause", model=<adapter folder>) is the LLM backend: same outputs as EmotionCauseLLM."""
    from transformers import AutoModelForCausalLM, pipeline

    import hf_ecpe  # registers the task
    from hf_ecpe.llm.data import TINY_LABELS
    from hf_ecpe.llm.inference import EmotionCauseLLM

    extractor = pipeline("emotion-cause", model=str(trained_adapter), labels=TINY_LABELS, max_new_tokens=8)
    assert extractor.llm is not None and extractor.llm.labels == tuple(TINY_LABELS)
    inputs = ["I was so happy because I passed .", {"utterances": ["Oh no !", "I lost it ."], "speakers": ["A", "B"]}]
    results = extractor(inputs)
    base = AutoModelForCausalLM.from_pretrained(trained_adapter / "base_model")
    direct = EmotionCauseLLM(base, adapter=trained_adapter, labels=TINY_LABELS, max_new_tokens=8)(inputs)
    assert [r["generated_text"] for r in results] == [r["generated_text"] for r in direct]
    assert [r["pairs"] for r in results] == [r["pairs"] for r in direct]
    assert [r["units"] for r in results] == [["I was so happy because I passed ."], ["Oh no !", "I lost it ."]]
    empty = extractor({"clauses": []})
    assert empty["units"] == [] and empty["pairs"] == [] and empty["generated_text"] == ""

    # hf_ecpe.pipeline reads the categories from the adapter folder (metrics.json) when not given.
    recorded = hf_ecpe.pipeline("emotion-cause", model=str(trained_adapter), max_new_tokens=8)
    assert recorded.llm.labels == tuple(TINY_LABELS)
    assert [r["pairs"] for r in recorded(inputs)] == [r["pairs"] for r in direct]
    with pytest.raises(TypeError, match="pass labels=\\[...\\]"):  # transformers.pipeline cannot see the folder
        pipeline("emotion-cause", model=str(trained_adapter))
    with pytest.raises(TypeError, match=r"\['threshold'\] are not settings of the triplet-LLM pipeline"):
        pipeline("emotion-cause", model=str(trained_adapter), labels=TINY_LABELS, threshold=0.5)
    with pytest.raises(TypeError, match=r"takes only batch_size and language at call time, got \['threshold'\]"):
        extractor("I was happy .", threshold=0.3)
    # batch_size at call time, like every pipeline (issue 22): the same results, one generate call per document
    assert [r["pairs"] for r in extractor(inputs, batch_size=1)] == [r["pairs"] for r in direct]


def test_evaluate_scores_generated_completions(trained_adapter):
    """evaluate() parses what generate() returns and scores it; generation is replaced by known completions."""
    from hf_ecpe.llm.data import TINY_LABELS, row_prompt, row_triplets, tiny_examples
    from hf_ecpe.llm.inference import EmotionCauseLLM
    from hf_ecpe.llm.prompts import render_completion

    rows = tiny_examples()
    gold = {row_prompt(row, TINY_LABELS): render_completion(row_triplets(row), row["units"]) for row in rows}
    llm = EmotionCauseLLM(str(trained_adapter / "base_model"), labels=TINY_LABELS, max_new_tokens=4)
    llm.generate = lambda prompts, units=None, **_: [(gold[p], 1.0) for p in prompts]
    perfect = llm.evaluate(rows, keep_generations=2)
    assert perfect["strict_f1"] == perfect["unit_pair_f1"] == perfect["unit_category_pair_f1"] == 1.0
    assert perfect["malformed_rate"] == 0.0 and perfect["num_examples"] == 6
    assert [g["id"] for g in perfect["generations"]] == ["tiny-0", "tiny-1"]
    assert perfect["generations"][0]["generated"] == perfect["generations"][0]["gold"]

    # right units and categories, shortened spans: unit scores stay 1, strict triplet F1 drops, proportional between
    def shortened(prompts, units=None, **_):
        edit = {'"I passed the exam"': '"passed the exam"', "anger": "joy"}
        return [(_replace_all(gold[p], edit), 1.0) for p in prompts]

    llm.generate = shortened
    scores = llm.evaluate(rows)
    assert scores["unit_pair_f1"] == 1.0 and scores["unit_category_pair_f1"] < 1.0
    assert scores["strict_f1"] < scores["proportional_f1"] < 1.0 and "generations" not in scores


def _replace_all(text: str, edits: dict[str, str]) -> str:
    for old, new in edits.items():
        text = text.replace(old, new)
    return text


def test_scripts_evaluate_scores_the_adapter_with_its_recorded_settings(trained_adapter, tmp_path):
    """scripts.evaluate on an SFT adapter: labels and the instruction variant read from its folder, constrained
    decoding by default, free generation on request."""
    from datasets import Dataset, DatasetDict

    from hf_ecpe.data.schema import FEATURES
    from hf_ecpe.llm.data import tiny_examples
    from hf_ecpe.scripts import evaluate

    rows = [{key: row[key] for key in FEATURES} for row in tiny_examples()]
    DatasetDict({"test": Dataset.from_list(rows, features=FEATURES)}).save_to_disk(str(tmp_path / "data"))
    common = ["--model", str(trained_adapter), "--dataset_path", str(tmp_path / "data"), "--max_new_tokens", "8"]
    constrained = evaluate.main([*common, "--output", str(tmp_path / "c.json")])
    free = evaluate.main([*common, "--free_generation", "--output", str(tmp_path / "f.json")])
    assert constrained["method"] == "triplet_llm" and constrained["metrics"]["constrained"] is True
    assert constrained["metrics"]["malformed_rate"] == 0.0 and free["metrics"]["constrained"] is False
    assert constrained["metrics"]["instruction"] == "workflow"


def _sft(argv: list[str]) -> dict:
    from hf_ecpe.scripts.sft import main, make_parser

    return main(*make_parser().parse_args_and_config(["--config", str(REPO / "recipes" / "sft_tiny.yaml"), *argv]))


def test_sft_refuses_a_non_empty_output_dir(tmp_path):
    """Issue 27 item 6: SFT overwrote an existing adapter, exit 0; now it refuses as hf_ecpe.scripts.train does."""
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"a trained adapter")
    with pytest.raises(ValueError, match=r"is not empty.*--resume_from_checkpoint true.*--overwrite_output_dir true"):
        _sft(["--output_dir", str(adapter)])
    assert sorted(p.name for p in adapter.iterdir()) == ["adapter_model.safetensors"]
    assert (adapter / "adapter_model.safetensors").read_bytes() == b"a trained adapter"


def test_sft_resume_records_the_checkpoint_hyperparameters(tmp_path, caplog, recwarn):
    """A resume continues with the checkpoint's optimiser (learning rate) and RNG (seed): metrics.json and the card
    record those, the ignored flags are named once; peft's `is_gradient_checkpointing` FutureWarning is not shown."""
    out = tmp_path / "adapter"
    fast = ["--output_dir", str(out), "--generate_eval", "false", "--save_strategy", "steps", "--save_steps", "2"]
    _sft([*fast, "--max_steps", "2"])
    assert (out / "checkpoint-2" / "hf_ecpe_training_args.json").is_file()
    with caplog.at_level("WARNING"):
        _sft([*fast, "--max_steps", "4", "--resume_from_checkpoint", "true", "--learning_rate", "0.5"])
    assert [r for r in caplog.records if "fix learning_rate=0.005" in r.getMessage()], caplog.text
    record = json.loads((out / "metrics.json").read_text())
    assert record["learning_rate"] == 5.0e-3 and record["ignored_on_resume"] == {"learning_rate": 0.5}
    assert record["resumed_from"] == str(out / "checkpoint-2")
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "- learning_rate: 0.005" in card
    assert not [w for w in recwarn.list if "is_gradient_checkpointing" in str(w.message)]
