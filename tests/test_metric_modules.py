"""The ``evaluate`` metric modules: checkout path (``metrics/<name>`` symlink) and packaged path (``hf_ecpe.evaluation.load``)
load the same script and give the same numbers as the plain functions.

To cover another module, append a ``pytest.param(name, compute_kwargs, function)`` to ``MODULE_CASES``: ``function``
is the plain-numpy function that must return exactly what ``module.compute(**compute_kwargs)`` returns.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hf_ecpe.evaluation import (
    available_metrics,
    cause_entailment_scores,
    consistency_scores,
    ecpe_scores,
    load,
    module_path,
    pair_auprc_scores,
)

evaluate = pytest.importorskip("evaluate")

REPO_ROOT = Path(__file__).resolve().parents[1]

MODULE_CASES = [
    pytest.param(
        "ecpe",
        {"predictions": [[[2, 1], [2, 2]], [[3, 3]], [[4, 4]]], "references": [[[2, 1]], [[3, 3], [5, 4]], [[1, 1]]]},
        ecpe_scores,
        id="ecpe-pairs",
    ),
    pytest.param(
        "ecpe",
        {
            "predictions": [[], [[2, 1, "sadness"], [3, 3, "joy"], [3, 2, "joy"], [1, 1, "anger"]]],
            "references": [[[0, 0, "joy"]], [[2, 1, "sadness"], [3, 3, "joy"], [1, 1, "sadness"]]],
            "num_units": [1, 4],
        },
        ecpe_scores,
        id="ecpe-categories",
    ),
    pytest.param(
        "ecpe",
        {"predictions": [[[1, 2], [1, 2]]], "references": [[[1, 2]]], "epsilon": 0.0},
        ecpe_scores,
        id="ecpe-epsilon0",
    ),
    pytest.param(
        "ecpe",
        {
            "predictions": [[[1, 0, "joy"], [2, 0, "disgust"]]],
            "references": [[[1, 0, "joy"], [2, 0, "disgust"], [3, 3, "disgust"]]],
            "weighted_categories": ["anger", "joy", "sadness", "surprise"],
        },
        ecpe_scores,
        id="ecpe-four-class",
    ),
    pytest.param(
        "pair_auprc",
        {"predictions": [[0.2, 0.9, 0.1], [0.7, 0.6, 0.5]], "references": [[1, 0, 0], [0, 1, 1]], "threshold": 0.5},
        pair_auprc_scores,
        id="auprc-pooled",
    ),
    pytest.param(
        "pair_auprc",
        {
            "predictions": [[0.2, 0.9, 0.1], [0.7, 0.6, 0.5], []],
            "references": [[1, 0, 0], [0, 1, 1], []],
            "num_unreachable": [0, 1, 2],
            "average": "per_example",
        },
        pair_auprc_scores,
        id="auprc-per-example-unreachable",
    ),
    pytest.param(
        "pair_auprc",
        {"predictions": [[0.3, 0.1]], "references": [[0, 0]], "threshold": 0.2, "inclusive": False},
        pair_auprc_scores,
        id="auprc-all-negative",
    ),
    pytest.param(
        "consistency",
        {
            "predictions": [[[2, 1], [2, 2]], [[3, 3, "joy"]], []],
            "emotion_predictions": [[2], [0], []],
            "cause_predictions": [[1, 2], [3], [1]],
        },
        consistency_scores,
        id="consistency",
    ),
    pytest.param(
        "cause_entailment",
        {
            "predictions": [1, 0, 1, 0, 1],
            "references": [1, 0, 0, 0, 1],
            "emotion_predictions": ["joy", "anger"],
            "emotion_references": ["joy", "joy"],
        },
        cause_entailment_scores,
        id="cause-entailment",
    ),
]

OWN_MODULES = ["ecpe", "pair_auprc", "consistency", "cause_entailment"]

_LOADED: dict[tuple[str, str], object] = {}


def checkout_module(name: str):
    """``evaluate.load`` of ``<checkout>/metrics/<name>`` (the symlink), cached per session."""
    key = ("checkout", name)
    if key not in _LOADED:
        _LOADED[key] = evaluate.load(str(REPO_ROOT / "metrics" / name))
    return _LOADED[key]


def packaged_module(name: str):
    key = ("packaged", name)
    if key not in _LOADED:
        _LOADED[key] = load(name)
    return _LOADED[key]


@pytest.mark.parametrize(("name", "kwargs", "function"), MODULE_CASES)
def test_checkout_and_packaged_modules_match_the_function(name, kwargs, function):
    expected = function(**copy.deepcopy(kwargs))
    from_checkout = checkout_module(name).compute(**copy.deepcopy(kwargs))
    from_package = packaged_module(name).compute(**copy.deepcopy(kwargs))
    assert from_checkout == expected
    assert from_package == expected


@pytest.mark.parametrize("name", available_metrics())
def test_metrics_folder_is_a_relative_symlink_to_the_packaged_module(name):
    link = REPO_ROOT / "metrics" / name
    assert link.is_symlink(), f"metrics/{name} should be a symlink to hf_ecpe/evaluation/modules/{name}"
    target = os.readlink(link)
    assert not os.path.isabs(target), f"metrics/{name} -> {target} must be relative to work from any checkout"
    assert link.resolve() == module_path(name).resolve()


@pytest.mark.parametrize("name", available_metrics())
def test_metric_card_has_evaluate_header(name):
    card = module_path(name) / "README.md"
    assert card.is_file(), f"{card} (the metric card) is missing"
    text = card.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    header = yaml.safe_load(text.split("---\n", 2)[1])
    assert {"evaluate", "metric"} <= set(header["tags"])
    assert header["title"] and header["description"]
    assert "## Metric Description" in text and "## Citation" in text


@pytest.mark.parametrize("name", OWN_MODULES)
def test_module_info_documents_inputs(name):
    module = packaged_module(name)
    assert "predictions" in module.info.features
    assert "Returns" in module.info.inputs_description


def test_literal_relative_load_from_checkout(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    module = evaluate.load("metrics/ecpe")
    result = module.compute(predictions=[[[2, 1]]], references=[[[2, 1]]])
    assert result == ecpe_scores([[[2, 1]]], [[[2, 1]]])


def test_ecpe_module_accumulates_batches_with_both_pair_forms():
    predictions = [[], [[2, 1, "sadness"], [3, 3, "joy"], [3, 2, "joy"], [1, 1, "anger"]]]
    references = [[], [[2, 1, "sadness"], [3, 3, "joy"], [1, 1, "sadness"]]]
    expected = ecpe_scores(predictions, references)
    module = checkout_module("ecpe")
    # The first example has no pairs; the 3-element string/int pairs come later.
    module.add_batch(predictions=predictions[:1], references=references[:1])
    module.add_batch(predictions=predictions[1:], references=references[1:])
    assert module.compute() == expected
    for prediction, reference in zip(predictions, references):
        module.add(prediction=prediction, reference=reference)
    assert module.compute() == expected
    assert expected["weighted_f1"] == pytest.approx(0.6667, abs=1e-4)


def test_consistency_module_accumulates_batches():
    kwargs = {
        "predictions": [[[2, 1], [2, 2]], [[3, 3]]],
        "emotion_predictions": [[2], [0]],
        "cause_predictions": [[1, 2], [3]],
    }
    module = checkout_module("consistency")
    module.add_batch(**{k: v[:1] for k, v in kwargs.items()})
    module.add_batch(**{k: v[1:] for k, v in kwargs.items()})
    assert module.compute() == consistency_scores(**kwargs)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("ecpe", {"predictions": [[], [[1, -1]]], "references": [[], []]}, r"predictions\[1\]: pair 0 cause index -1"),
        ("ecpe", {"predictions": [[[1, 0, "happy"]]], "references": [[]]}, r"predictions\[0\]: unknown category"),
        ("ecpe", {"predictions": [[[3, 0]]], "references": [[]], "num_units": [3]}, r"predictions\[0\].*out of range"),
        ("pair_auprc", {"predictions": [[0.1, 0.2]], "references": [[1]]}, r"predictions\[0\]: has 2 scores"),
        ("pair_auprc", {"predictions": [[0.1]], "references": [[3]]}, r"references\[0\]: label 3"),
        (
            "consistency",
            {"predictions": [[]], "emotion_predictions": [[-1]], "cause_predictions": [[]]},
            r"emotion_predictions\[0\]: emotion index -1",
        ),
        ("cause_entailment", {"predictions": [0, 2], "references": [0, 1]}, "label 2 at position 1"),
    ],
)
def test_module_errors_name_the_example(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        packaged_module(name).compute(**kwargs)


def test_mismatched_lengths_are_rejected_by_the_module():
    with pytest.raises(ValueError, match="Mismatch in the number of predictions"):
        packaged_module("cause_entailment").compute(predictions=[0, 1], references=[0])


def test_load_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"unknown hf_ecpe metric 'bleu'; available: \[.*'ecpe'"):
        load("bleu")
    with pytest.raises(ValueError, match="unknown hf_ecpe metric"):
        module_path("../evaluation")
    assert set(OWN_MODULES) <= set(available_metrics())


def test_package_import_stays_light():
    """``hf_ecpe.evaluation`` itself imports neither ``evaluate`` nor a model/scorer stack.

    The root ``hf_ecpe/__init__`` (model registration) is replaced by a bare namespace in the child process, so
    only what the evaluation package adds is measured.
    """
    code = (
        "import sys, types; root = types.ModuleType('hf_ecpe'); root.__path__ = [sys.argv[1]]; "
        "sys.modules['hf_ecpe'] = root; import hf_ecpe.evaluation; "
        "heavy = {'evaluate', 'torch', 'transformers', 'sklearn', 'sacrebleu', 'nltk', 'bert_score'}; "
        "print(','.join(sorted(heavy & {m.split('.')[0] for m in sys.modules})))"
    )
    package_dir = str(REPO_ROOT / "hf_ecpe")
    out = subprocess.run([sys.executable, "-c", code, package_dir], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing hf_ecpe.evaluation pulled in {out.stdout.strip()}"
