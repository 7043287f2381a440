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


@pytest.mark.parametrize("name", OWN_MODULES)
def test_mismatched_lengths_are_rejected_by_the_module(name):
    kwargs = {"predictions": [[], []], "references": [[]]}
    if name == "consistency":
        kwargs = {"predictions": [[], []], "emotion_predictions": [[]], "cause_predictions": [[], []]}
    elif name == "cause_entailment":
        kwargs = {"predictions": [0, 1], "references": [0]}
    with pytest.raises(ValueError, match="inputs have different numbers of examples"):
        packaged_module(name).compute(**kwargs)


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


# Inputs the plain functions refuse; the modules used to cast them into their int32 features first (0.9 -> 0,
# 1.99 -> 1, "1" -> 1) and score the truncated values. Both paths must raise the same MetricInputError.
DISAGREEING_INPUTS = [
    pytest.param(
        "cause_entailment",
        cause_entailment_scores,
        {"predictions": [0.9, 0.8, 0.2, 0.1], "references": [1, 1, 0, 0]},
        id="entailment-float-predictions",
    ),
    pytest.param(
        "cause_entailment",
        cause_entailment_scores,
        {"predictions": [1, 0], "references": [1.0, 0.5]},
        id="entailment-float-references",
    ),
    pytest.param(
        "cause_entailment", cause_entailment_scores, {"predictions": ["1"], "references": [1]}, id="entailment-str"
    ),
    pytest.param(
        "cause_entailment",
        cause_entailment_scores,
        {"predictions": [0, 1], "references": [0]},
        id="entailment-lengths",
    ),
    pytest.param(
        "pair_auprc", pair_auprc_scores, {"predictions": [[0.5, 0.4]], "references": [[1.99, 0]]}, id="auprc-float"
    ),
    pytest.param(
        "pair_auprc",
        pair_auprc_scores,
        {"predictions": [[0.5, float("nan")]], "references": [[1, 0]]},
        id="auprc-nan-score",
    ),
    pytest.param(
        "pair_auprc", pair_auprc_scores, {"predictions": [["0.5"]], "references": [[1]]}, id="auprc-str-score"
    ),
    pytest.param(
        "consistency",
        consistency_scores,
        {"predictions": [[[0, 0]]], "emotion_predictions": [[0.7]], "cause_predictions": [[0]]},
        id="consistency-float-emotion",
    ),
    pytest.param(
        "consistency",
        consistency_scores,
        {"predictions": [[[0, 0]]], "emotion_predictions": [[0]], "cause_predictions": [[True]]},
        id="consistency-bool-cause",
    ),
    pytest.param(
        "consistency",
        consistency_scores,
        {"predictions": [[[0.5, 0]]], "emotion_predictions": [[0]], "cause_predictions": [[0]]},
        id="consistency-float-pair",
    ),
    pytest.param("ecpe", ecpe_scores, {"predictions": [[[True, 0]]], "references": [[[1, 0]]]}, id="ecpe-bool"),
    pytest.param("ecpe", ecpe_scores, {"predictions": [[[1.5, 0]]], "references": [[[1, 0]]]}, id="ecpe-float"),
    pytest.param(
        "ecpe",
        ecpe_scores,
        {"predictions": [[[1, 0, 5]]], "references": [[[1, 0, "5"]]], "categories": ["5"]},
        id="ecpe-int-category",
    ),
]


@pytest.mark.parametrize(("name", "function", "kwargs"), DISAGREEING_INPUTS)
def test_module_and_function_refuse_the_same_bad_inputs(name, function, kwargs):
    from hf_ecpe.evaluation import MetricInputError

    with pytest.raises(MetricInputError) as from_function:
        function(**copy.deepcopy(kwargs))
    with pytest.raises(MetricInputError) as from_module:
        packaged_module(name).compute(**copy.deepcopy(kwargs))
    assert str(from_module.value) == str(from_function.value)


@pytest.mark.parametrize(
    ("name", "function", "kwargs"),
    [
        ("cause_entailment", cause_entailment_scores, {"predictions": [1.0, 0.0, True], "references": [1, 0, 0]}),
        ("pair_auprc", pair_auprc_scores, {"predictions": [[1, 0]], "references": [[1.0, 0.0]]}),
        (
            "consistency",
            consistency_scores,
            {"predictions": [[[2.0, "1"]]], "emotion_predictions": [[2.0]], "cause_predictions": [["1"]]},
        ),
        ("ecpe", ecpe_scores, {"predictions": [[[2.0, "1"]]], "references": [{(2, 1)}]}),
    ],
)
def test_module_and_function_agree_on_integral_floats_and_strings(name, function, kwargs):
    assert packaged_module(name).compute(**copy.deepcopy(kwargs)) == function(**copy.deepcopy(kwargs))


def test_module_add_refuses_a_float_label():
    from hf_ecpe.evaluation import MetricInputError

    module = packaged_module("cause_entailment")
    with pytest.raises(MetricInputError, match=r"label 0\.9 at position 0 is not 0 or 1"):
        module.add(prediction=0.9, reference=1)


@pytest.mark.parametrize(
    ("name", "function", "kwargs"),
    [
        (
            "ecpe_span",
            "semeval_span_scores",
            {
                "predictions": [[{"emotion": 2**40, "category": "sadness", "cause": 0, "start": 0, "end": 5}]],
                "references": [[{"emotion": 1, "category": "sadness", "cause": 0, "start": 0, "end": 5}]],
            },
        ),
        (
            "consistency",
            "consistency_scores",
            {"predictions": [[[2**40, 0]]], "emotion_predictions": [[2**40]], "cause_predictions": [[0]]},
        ),
    ],
)
def test_modules_store_large_indices_without_overflow(name, function, kwargs):
    """The span, triplet and consistency modules stored indices as int32: 2**40 was an Arrow error in the module and
    a valid index in the function."""
    import hf_ecpe.evaluation as evaluation

    assert packaged_module(name).compute(**copy.deepcopy(kwargs)) == getattr(evaluation, function)(**kwargs)


def test_indices_beyond_int64_are_refused_by_both_paths():
    from hf_ecpe.evaluation import MetricInputError

    kwargs = {"predictions": [[[2**70, 0]]], "references": [[]]}
    with pytest.raises(MetricInputError, match="too large") as from_function:
        ecpe_scores(**kwargs)
    with pytest.raises(MetricInputError) as from_module:
        packaged_module("ecpe").compute(**kwargs)
    assert str(from_module.value) == str(from_function.value)
