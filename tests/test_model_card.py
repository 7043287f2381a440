"""The hf_ecpe model card: full-text regex, valid Hub metadata, offline safety, the training callback."""

from __future__ import annotations

import re

import pytest
import torch
import yaml
from datasets import Dataset
from huggingface_hub import ModelCard
from transformers import AutoTokenizer

import hf_ecpe  # noqa: F401
from hf_ecpe._registration import register_all
from hf_ecpe.data.schema import FEATURES, make_pair
from hf_ecpe.model_card import EcpeModelCardData, generate_model_card
from hf_ecpe.model_card import card_data as card_module
from hf_ecpe.models import A2NetModel
from hf_ecpe.trainers import EcpeTrainer, EcpeTrainingArguments

register_all()
torch.set_num_threads(1)

MODEL_CARD_PATTERN = re.compile(
    r"""---
language: en
library_name: hf-ecpe
pipeline_tag: emotion-cause
tags:
- hf-ecpe
- emotion-cause-pair-extraction
- a2net
metrics:
- precision
- recall
- f1
model-index:
- name: A2Net on Toy ECPE \(tiny-bert\)
  results:
  - task:
      type: emotion-cause-pair-extraction
      name: Emotion-Cause Pair Extraction
    dataset:
      name: Toy ECPE
      type: toy-ecpe
      config: fold1
      split: validation
    metrics:
    - type: f1
      value: 0\.3333
      name: Pair F1
    - type: precision
      value: 0\.5
      name: Pair precision
    - type: recall
      value: 0\.25
      name: Pair recall
  - task:
      type: emotion-cause-pair-extraction
      name: Emotion-Cause Pair Extraction
    dataset:
      name: Toy ECPE
      type: toy-ecpe
      config: fold1
      split: test
    metrics:
    - type: f1
      value: 0\.25
      name: Pair F1
    - type: precision
      value: 0\.25
      name: Pair precision
    - type: recall
      value: 0\.25
      name: Pair recall
---

# A2Net on Toy ECPE \(tiny-bert\)

This is an A2Net model for \*\*emotion–cause pair extraction\*\* trained with the `hf_ecpe` library on Toy ECPE \(config `fold1`\)\. [^\n]+

## Model details

- \*\*Method:\*\* A2Net \(`model_type: hf-ecpe-a2net`\)
- \*\*Base encoder:\*\* tiny-bert
- \*\*Training data:\*\* Toy ECPE, config `fold1`
- \*\*Language:\*\* en
- \*\*Training objective:\*\* pair BCE [^\n]+
- \*\*Library:\*\* hf_ecpe [\w.]+

## Usage

```python
import hf_ecpe  # [^\n]+
from transformers import pipeline

extractor = pipeline\("emotion-cause", model="org/a2net-toy"\)
result = extractor\("[^"]+"\)
print\(result\["pairs"\]\)
```

Inputs are [^\n]+

## Evaluation

### Split `validation`

\| Metric \| Precision \| Recall \| F1 \|
\|:---\|:---\|:---\|:---\|
\| Pairs \| 0\.5000 \| 0\.2500 \| 0\.3333 \|
\| Emotion units \(projection of the pairs\) \| 0\.5000 \| 0\.5000 \| 0\.5000 \|

\| Quantity \| Value \|
\|:---\|:---\|
\| emotion_consistency \| 0\.9000 \|
\| loss \| 0\.7000 \|

### Split `test`

\| Metric \| Precision \| Recall \| F1 \|
\|:---\|:---\|:---\|:---\|
\| Pairs \| 0\.2500 \| 0\.2500 \| 0\.2500 \|

Precision, recall and F1 are micro-averaged [^\n]+ The `validation` split selected the checkpoint, so its numbers are optimistic; [^\n]+

## Training

### Training set

\| Documents \| Units \| Pairs \| Units per document \(min / median / max\) \|
\|:---\|:---\|:---\|:---\|
\| 6 \| 19 \| 8 \| 2 / 3 / 5 \|

### Method hyperparameters

\| Name \| Value \|
\|:---\|:---\|
(?:\| \w+ \| [^\n]+ \|\n)+
### Training hyperparameters

- learning_rate: 0\.001
- train_batch_size: 2

### Training log

\| Epoch \| Step \| Training loss \| Validation loss \| Pair F1 \|
\|:---\|:---\|:---\|:---\|:---\|
\| 1\.00 \| 3 \| 0\.9000 \| 0\.8000 \| 0\.3000 \|

The checkpoint of step 3 \(best validation `pair_f1`\) was kept\.

## Intended use and limitations

This model is meant for research [^\n]+

\*\*Data licence\.\*\* The training data is distributed under these terms: research only\. Most public emotion–cause corpora are released for research use only [^\n]+

## Framework versions

- python: [^\n]+
- hf_ecpe: [^\n]+
- transformers: [^\n]+
- torch: [^\n]+
- datasets: [^\n]+
- tokenizers: [^\n]+

## Citation

### A2Net

```bibtex
@inproceedings\{chen-etal-2022-joint,
    title = "Joint Alignment of Multi-Task Feature and Label Spaces for Emotion Cause Pair Extraction",
(?:    [^\n]+\n)+\}
```
""",
)


@pytest.fixture(scope="module")
def model(tiny_encoder_dir):
    torch.manual_seed(0)
    return A2NetModel.from_encoder(str(tiny_encoder_dir), pfn_hidden_size=16, position_embedding_size=8)


def filled_card() -> EcpeModelCardData:
    card = EcpeModelCardData(
        language="en",
        model_id="org/a2net-toy",
        encoder_name="tiny-bert",
        dataset_name="Toy ECPE",
        dataset_config="fold1",
        data_license="research only",
    )
    card.hyperparameters = {"learning_rate": 1e-3, "train_batch_size": 2, "output_dir": "/somewhere"}
    card.set_evaluation(
        "validation",
        {
            "eval_pair_precision": 0.5,
            "eval_pair_recall": 0.25,
            "eval_pair_f1": 1 / 3,
            "eval_emotion_precision": 0.5,
            "eval_emotion_recall": 0.5,
            "eval_emotion_f1": 0.5,
            "eval_emotion_consistency": 0.9,
            "eval_loss": 0.7,
            "eval_runtime": 0.1,
        },
        prefix="eval",
    )
    card.set_evaluation("test", {"test_pair_precision": 0.25, "test_pair_recall": 0.25, "test_pair_f1": 0.25})
    card.eval_lines_list = [{"Epoch": "1.00", "Step": 3, "Training loss": 0.9, "Validation loss": 0.8, "Pair F1": 0.3}]
    card.train_stats = {"documents": 6, "units": 19, "pairs": 8, "units_min": 2, "units_median": 3, "units_max": 5}
    card.best_model_step = 3
    return card


def front_matter(text: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "no YAML front matter"
    return yaml.safe_load(match.group(1))


def test_full_card_matches_the_pattern(model):
    text = generate_model_card(filled_card(), model)
    assert MODEL_CARD_PATTERN.fullmatch(text), text


def test_front_matter_is_valid_hub_metadata(model):
    text = generate_model_card(filled_card(), model)
    meta = front_matter(text)
    assert meta["library_name"] == "hf-ecpe" and meta["language"] == "en"
    assert "base_model" not in meta  # no Hub id given: nothing invalid is invented

    def no_none(value):
        if isinstance(value, dict):
            return all(v is not None and no_none(v) for v in value.values())
        if isinstance(value, list):
            return all(v is not None and no_none(v) for v in value)
        return True

    assert no_none(meta)  # transformers#28137: null values make the Hub reject the card
    parsed = ModelCard(text)  # huggingface_hub parses model-index into EvalResults (raises when malformed)
    results = {(r.dataset_split, r.metric_type): r.metric_value for r in parsed.data.eval_results}
    assert results == {
        ("validation", "f1"): 0.3333,
        ("validation", "precision"): 0.5,
        ("validation", "recall"): 0.25,
        ("test", "f1"): 0.25,
        ("test", "precision"): 0.25,
        ("test", "recall"): 0.25,
    }


def test_to_dict_keeps_auto_fields_and_drops_none():
    card = EcpeModelCardData(language="en")
    data = card.to_dict()
    assert data["library_name"] == "hf-ecpe"  # an init=False field (CardData.to_dict alone would miss it)
    assert "version" in data and "torch" in data["version"]
    assert "license" not in data and "encoder_id" not in data  # None values are filtered
    assert "model-index" not in yaml.safe_load(card.to_yaml())


def test_encoder_id_becomes_base_model_and_datasets(model, monkeypatch):
    monkeypatch.setattr(card_module, "is_on_hub", lambda repo_id, repo_type="model", timeout=5.0: True)
    card = EcpeModelCardData(encoder_id="sentence-transformers/all-MiniLM-L6-v2", dataset_id="org/ecpe-en")
    meta = front_matter(generate_model_card(card, model))
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert meta["datasets"] == ["org/ecpe-en"]


def test_no_hub_call_when_offline(model, monkeypatch):
    import huggingface_hub

    def forbidden(*args, **kwargs):
        raise AssertionError("the model card must not call the Hub under HF_HUB_OFFLINE")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.HfApi, "repo_info", forbidden)
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", forbidden)
    monkeypatch.setattr(huggingface_hub.HfApi, "dataset_info", forbidden)
    card = EcpeModelCardData(encoder_id="someone/encoder", dataset_id="someone/data", model_id="org/name")
    assert card.encoder_id == "someone/encoder" and card.dataset_id == "someone/data"  # unknown offline: kept
    generate_model_card(card, model)


def test_unknown_hub_ids_are_dropped_when_online(monkeypatch, caplog):
    import huggingface_hub
    from huggingface_hub.errors import RepositoryNotFoundError

    calls = []

    def repo_info(self, repo_id, repo_type=None, timeout=None, **kwargs):
        calls.append((repo_id, repo_type, timeout))
        response = type("Response", (), {"status_code": 404, "headers": {}, "request": None})()
        raise RepositoryNotFoundError("not found", response=response)

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.HfApi, "repo_info", repo_info)
    card = EcpeModelCardData(encoder_id="nobody/encoder", dataset_id="nobody/data", model_id="no-org")
    assert card.encoder_id is None and card.dataset_id is None and card.model_id is None
    assert ("nobody/data", "dataset", 5.0) in calls and ("nobody/encoder", "model", 5.0) in calls


def test_callback_fills_the_card_during_training(tiny_encoder_dir, model, tmp_path):
    rows = [
        {
            "id": f"d{i}",
            "kind": "document",
            "language": "en",
            "units": ["i was so happy", "because i passed the exam", "today"],
            "speakers": [],
            "emotions": ["happiness", "neutral", "neutral"],
            "pairs": [make_pair(0, 1)],
        }
        for i in range(4)
    ]
    dataset = Dataset.from_list(rows, features=FEATURES)
    args = EcpeTrainingArguments(
        output_dir=str(tmp_path / "run"),
        per_device_train_batch_size=2,
        num_train_epochs=2,
        eval_strategy="epoch",
        save_strategy="epoch",
        load_best_model_at_end=True,
        use_cpu=True,
        report_to="none",
        disable_tqdm=True,
    )
    trainer = EcpeTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        eval_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(tiny_encoder_dir),
        model_card_data=EcpeModelCardData(language="en", dataset_name="toy"),
    )
    trainer.train()
    trainer.evaluate(dataset, metric_key_prefix="test")
    card = trainer.model_card_data
    assert [row["Step"] for row in card.eval_lines_list] == [2, 4]
    assert set(card.eval_results) == {"validation", "test"}
    assert card.eval_results["test"]["pair_f1"] == trainer.state.log_history[-1]["test_pair_f1"]
    assert card.hyperparameters["learning_rate"] == args.learning_rate
    assert card.best_model_step in (2, 4)
    trainer.create_model_card()
    text = (tmp_path / "run" / "README.md").read_text(encoding="utf-8")
    assert "### Split `test`" in text and "### Training log" in text and f"step {card.best_model_step}" in text
    assert front_matter(text)["model-index"][0]["results"][0]["dataset"]["split"] == "validation"


def test_model_index_of_a_single_metric_primary():
    """A primary metric that is not part of a P/R/F1 family (empathy's bleu_nltk) is reported under its own name."""
    card = EcpeModelCardData(dataset_name="Toy")
    card.primary_metric = "bleu_nltk"
    card.set_evaluation("validation", {"eval_bleu_nltk": 1.5, "eval_dist_1": 0.1}, prefix="eval")
    metrics = front_matter(f"---\n{card.to_yaml()}\n---\n")["model-index"][0]["results"][0]["metrics"]
    assert metrics == [{"type": "bleu_nltk", "value": 1.5, "name": "BLEU nltk"}]


def test_default_card_refresh_rebuilds_the_measured_sections_from_the_json_files(tmp_path, monkeypatch):
    """``build_default_card.py`` without ``--run_dir``: the card's own part is kept, the measured part is rebuilt
    (the shipped benchmark JSON files, a probes JSON), nothing else in the folder is touched."""
    import importlib.util
    import json
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("build_default_card", root / "model_cards/build_default_card.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    (model_dir / "README.md").write_text(
        "# card\n\nTraining log.\n" + builder.NOTE + "\n## Benchmark\n\nold numbers\n"
    )
    probes = {
        "by_position": {"ecf/validation": {"pair_f1": 0.5, "by_offset": {
            "-1": {"gold": 4, "recall": 0.25}, "0": {"gold": 0, "recall": 0.0}, "+1": {"gold": 2, "recall": 0.0}}}},
        "probes": [
            {"name": "water", "kind": "neutral", "units": ["Water boils."], "expected": [], "predicted": [],
             "passed": True},
            {"name": "because", "kind": "cause after", "units": ["I was happy", "because I passed"],
             "expected": [[0, 1]], "predicted": [[0, 0]], "passed": False},
        ],
    }  # fmt: skip
    (tmp_path / "probes.json").write_text(json.dumps(probes))
    results = root / "benchmarks/results"
    argv = ["build_default_card.py", "--benchmark", str(results / "default_model_pair_scorer.json")]
    argv += ["--probes", str(tmp_path / "probes.json"), "--model_dir", str(model_dir)]
    argv += ["--copy_to", str(tmp_path / "card.md")]
    monkeypatch.setattr(sys, "argv", argv)
    builder.main()

    card = (model_dir / "README.md").read_text()
    assert card == (tmp_path / "card.md").read_text()
    assert card.startswith("# card\n\nTraining log.\n") and "old numbers" not in card
    assert card.count("## How this default was trained") == 1
    assert "| ecf/validation | 0.25 (4) | – | 0.00 (2) |" in card
    assert "1 of 2 answered exactly" in card
    assert "| because (cause after) | I was happy / because I passed | (0, 1) | (0, 0) |" in card
    assert (model_dir / "config.json").read_text() == "{}"
