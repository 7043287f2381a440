"""The ``ecpe_span``, ``reccon_span``, ``triplet`` and ``empathetic_generation`` ``evaluate`` modules: loaded from the
checkout (``metrics/<name>`` symlink) and from the package (``hf_ecpe.evaluation.load``), they return exactly what the
plain functions return, accumulate batches, and reject malformed input naming the example.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from hf_ecpe.evaluation import (
    available_metrics,
    empathetic_generation_scores,
    load,
    module_path,
    reccon_span_scores,
    semeval_span_scores,
    triplet_scores,
)

evaluate = pytest.importorskip("evaluate")

REPO_ROOT = Path(__file__).resolve().parents[1]
NAMES = ["ecpe_span", "reccon_span", "triplet", "empathetic_generation"]


def span_pair(emotion: int, cause: int, start: int, end: int, category: str) -> dict:
    return {"emotion": emotion, "category": category, "cause": cause, "start": start, "end": end}


def triplet(e: int, es: int, ee: int, c: int, cs: int, ce: int, category: str) -> dict:
    keys = ("emotion_unit", "emotion_start", "emotion_end", "cause_unit", "cause_start", "cause_end", "category")
    return dict(zip(keys, (e, es, ee, c, cs, ce, category)))


SEMEVAL_GOLD = [
    [span_pair(1, 0, 0, 5, "sadness"), span_pair(2, 2, 1, 6, "joy"), span_pair(0, 0, 0, 4, "sadness")],
    [],
    [span_pair(0, 0, 0, 2, "neutral")],
]
SEMEVAL_PRED = [
    [span_pair(1, 0, 0, 5, "sadness"), span_pair(2, 2, 0, 6, "joy"), span_pair(0, 0, 0, 4, "anger")],
    [span_pair(3, 1, 2, 4, "fear"), span_pair(3, 1, 2, 4, "fear")],
    [],
]
RECCON_GOLD = ["i lost my makeup bag at the airport"] * 2 + ["we won the lottery"] * 2 + ["", ""]
RECCON_PRED = ["i lost my makeup bag at the airport", "my makeup bag", "", "the weather was nice", "", "some text"]
UNITS = [["I was so happy", "because I passed the exam"], ["我很开心", "因为考试通过了"]]
TRIPLET_GOLD = [[triplet(0, 9, 14, 1, 8, 25, "happiness")], [triplet(0, 2, 4, 1, 0, 7, "happiness")]]
TRIPLET_PRED = [[triplet(0, 2, 14, 1, 17, 25, "happiness")], [triplet(0, 2, 4, 1, 2, 6, "happiness")]]
GEN_HYPS = ["i am so sorry to hear that .", "that is great ! what happened ?", "oh no"]
GEN_REFS = [
    "i am sorry to hear that . are you ok ?",
    "that is awesome ! what did you do ?",
    "oh no , that is terrible",
]

CASES = [
    pytest.param(
        "ecpe_span", {"predictions": SEMEVAL_PRED, "references": SEMEVAL_GOLD}, semeval_span_scores, id="span"
    ),
    pytest.param(
        "ecpe_span",
        {
            "predictions": [[span_pair(1, 0, 0, 5, "happiness")]],
            "references": [[span_pair(1, 0, 1, 5, "happiness")]],
            "categories": ["happiness", "sadness"],
            "epsilon": 0.0,
        },
        semeval_span_scores,
        id="span-categories",
    ),
    pytest.param("reccon_span", {"predictions": RECCON_PRED, "references": RECCON_GOLD}, reccon_span_scores, id="qa"),
    pytest.param(
        "reccon_span",
        {"predictions": RECCON_PRED, "references": RECCON_GOLD, "reccon_compat": True},
        reccon_span_scores,
        id="qa-compat",
    ),
    pytest.param(
        "triplet",
        {"predictions": TRIPLET_PRED, "references": TRIPLET_GOLD, "units": UNITS},
        triplet_scores,
        id="triplet-en",
    ),
    pytest.param(
        "triplet",
        {"predictions": TRIPLET_PRED, "references": TRIPLET_GOLD, "units": UNITS, "language": "zh"},
        triplet_scores,
        id="triplet-zh",
    ),
    pytest.param(
        "empathetic_generation",
        {
            "predictions": GEN_HYPS,
            "references": GEN_REFS,
            "bleu_impl": "nltk",
            "emotion_predictions": ["sad", "joyful", "sad"],
            "emotion_references": ["sad", "sad", "sad"],
        },
        empathetic_generation_scores,
        id="generation",
    ),
]

_LOADED: dict[tuple[str, str], object] = {}


def module(name: str, where: str = "packaged"):
    key = (where, name)
    if key not in _LOADED:
        _LOADED[key] = load(name) if where == "packaged" else evaluate.load(str(REPO_ROOT / "metrics" / name))
    return _LOADED[key]


@pytest.mark.parametrize(("name", "kwargs", "function"), CASES)
def test_modules_match_functions(name, kwargs, function):
    expected = function(**copy.deepcopy(kwargs))
    assert module(name, "checkout").compute(**copy.deepcopy(kwargs)) == expected
    assert module(name, "packaged").compute(**copy.deepcopy(kwargs)) == expected


def test_worked_examples_through_the_modules():
    span = module("ecpe_span").compute(predictions=SEMEVAL_PRED[:1], references=SEMEVAL_GOLD[:1])
    assert (span["weighted_strict_f1"], span["weighted_proportional_f1"]) == pytest.approx((0.4444, 0.7792), abs=1e-4)
    assert (span["strict_f1"], span["proportional_f1"]) == pytest.approx((0.3333, 0.6897), abs=1e-4)
    qa = module("reccon_span").compute(predictions=RECCON_PRED, references=RECCON_GOLD, reccon_compat=True)
    assert (qa["exact_match_pos"], qa["f1_pos"], qa["lcs_f1_pos"]) == pytest.approx((0.25, 0.40, 0.3864), abs=1e-4)
    assert (qa["f1_neg"], qa["f1_all"]) == pytest.approx((0.40, 0.4333), abs=1e-4)
    corrected = module("reccon_span").compute(predictions=RECCON_PRED, references=RECCON_GOLD)
    assert corrected["f1_neg"] == pytest.approx(0.50)
    gen = module("empathetic_generation")
    assert gen.compute(predictions=GEN_HYPS, references=GEN_REFS)["bleu"] == pytest.approx(24.203, abs=5e-4)
    dist = gen.compute(predictions=["i am sorry .", "i am happy", "i am sorry ."], references=["x"] * 3)
    assert (dist["dist_1"], dist["dist_2"]) == pytest.approx((5 / 11, 0.5))


def test_modules_accumulate_batches():
    span = module("ecpe_span", "checkout")
    span.add_batch(predictions=SEMEVAL_PRED[:2], references=SEMEVAL_GOLD[:2])
    span.add(prediction=SEMEVAL_PRED[2], reference=SEMEVAL_GOLD[2])
    assert span.compute() == semeval_span_scores(SEMEVAL_PRED, SEMEVAL_GOLD)

    qa = module("reccon_span", "checkout")
    for prediction, reference in zip(RECCON_PRED, RECCON_GOLD):  # one question at a time keeps the order
        qa.add(prediction=prediction, reference=reference)
    assert qa.compute(reccon_compat=True) == reccon_span_scores(RECCON_PRED, RECCON_GOLD, reccon_compat=True)

    tri = module("triplet", "checkout")
    tri.add_batch(predictions=TRIPLET_PRED[:1], references=TRIPLET_GOLD[:1], units=UNITS[:1])
    tri.add(prediction=TRIPLET_PRED[1], reference=TRIPLET_GOLD[1], units=UNITS[1])
    assert tri.compute(language="zh") == triplet_scores(TRIPLET_PRED, TRIPLET_GOLD, UNITS, language="zh")

    gen = module("empathetic_generation", "checkout")
    gen.add_batch(predictions=GEN_HYPS[:2], references=GEN_REFS[:2])
    gen.add(prediction=GEN_HYPS[2], reference=GEN_REFS[2])
    assert gen.compute() == empathetic_generation_scores(GEN_HYPS, GEN_REFS)


def test_span_module_accepts_digit_strings_and_numpy_ints():
    np = pytest.importorskip("numpy")
    pred = [[{"emotion": np.int64(1), "category": " sadness", "cause": "0", "start": 0.0, "end": np.int32(5)}]]
    result = module("ecpe_span").compute(predictions=pred, references=[[span_pair(1, 0, 0, 5, "sadness")]])
    assert result["strict_f1"] == pytest.approx(1.0, abs=1e-7)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        (
            "ecpe_span",
            {"predictions": [[], [{"emotion": 1, "cause": 0, "start": 0, "category": "joy"}]], "references": [[], []]},
            r"predictions\[1\]: span pair 0 lacks \['end'\]",
        ),
        (
            "ecpe_span",
            {"predictions": [[{**span_pair(1, 0, 0, 2, "joy"), "text": "x"}]], "references": [[]]},
            r"predictions\[0\]: span pair 0 has unknown keys \['text'\]",
        ),
        ("ecpe_span", {"predictions": [[span_pair(1, 0, 0, 2, "happy")]], "references": [[]]}, "unknown category"),
        ("ecpe_span", {"predictions": [[[1, 0, 0, 2, "joy"]]], "references": [[]]}, r"predictions\[0\].*dict"),
        ("reccon_span", {"predictions": ["a", None], "references": ["a", "b"]}, r"predictions\[1\]: expected a span"),
        (
            "reccon_span",
            {"predictions": ["a b", "x", ""], "references": ["a b", "c d", ""], "reccon_compat": True},
            "NameError",
        ),
        (
            "triplet",
            {
                "predictions": [[triplet(0, 0, 99, 1, 0, 7, "joy")]],
                "references": [[]],
                "units": [["I was so happy", "because"]],
            },
            r"predictions\[0\]: triplet 0 emotion span \[0, 99\) runs past the end",
        ),
        (
            "triplet",
            {"predictions": [[]], "references": [[{"emotion_unit": 0}]], "units": [["a"]]},
            r"references\[0\]: triplet 0 lacks",
        ),
        ("triplet", {"predictions": [[]], "references": [[]], "units": [[None]]}, r"units\[0\]: unit 0"),
        ("empathetic_generation", {"predictions": ["a", 3], "references": ["a", "b"]}, r"predictions\[1\]"),
        (
            "empathetic_generation",
            {"predictions": ["a"], "references": ["a"], "bertscore_model": "/no/such/dir", "bertscore_num_layers": 1},
            "not a local directory",
        ),
    ],
)
def test_module_errors_name_the_example(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        module(name).compute(**kwargs)


def test_bertscore_through_the_module(tmp_path):
    pytest.importorskip("bert_score")
    from conftest import build_tiny_encoder
    from transformers import AutoTokenizer

    path = build_tiny_encoder(tmp_path / "tiny")
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.model_max_length = 64
    tokenizer.save_pretrained(path)
    kwargs = {"predictions": ["i was so happy", ""], "references": ["i was happy today", "her dog died"]}
    options = {"bertscore_model": str(path), "bertscore_num_layers": 1}
    assert module("empathetic_generation").compute(**kwargs, **options) == empathetic_generation_scores(
        **kwargs, **options
    )


@pytest.mark.parametrize("name", NAMES)
def test_module_files_and_symlinks(name):
    assert name in available_metrics()
    link = REPO_ROOT / "metrics" / name
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert link.resolve() == module_path(name).resolve()
    card = (module_path(name) / "README.md").read_text(encoding="utf-8")
    assert "## Metric Description" in card and "## Further References" in card
    info = module(name).info
    assert {"predictions", "references"} <= set(info.features) and "Returns" in info.inputs_description
