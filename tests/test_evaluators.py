"""Evaluators declare their settings, primary metric and direction; ``scripts.evaluate`` passes only the declared
settings and refuses the others (issue 22, item 2). The one-line refusals themselves are cases of
tests/test_cli_user_errors.py (``ev-kd-ecs-decoding``, ``ev-empathy-threshold-top-k``, ...)."""

from __future__ import annotations

from typing import Any

import pytest

from hf_ecpe.evaluation.evaluators import (
    EmpathyEvaluator,
    Evaluator,
    FunctionEvaluator,
    KdEcsStudentEvaluator,
    KdEcsTeacherEvaluator,
    PairEvaluator,
    TripletLLMEvaluator,
    evaluator_for,
)
from hf_ecpe.methods import get_method, methods
from hf_ecpe.scripts.evaluate import EVALUATOR_SETTINGS, build_parser, parse_arguments

EXPECTED = {
    "a2net": (PairEvaluator, "pair_f1"),
    "pair_scorer": (PairEvaluator, "pair_f1"),
    "kd_ecs_teacher": (KdEcsTeacherEvaluator, "utterance_macro_f1"),
    "kd_ecs_student": (KdEcsStudentEvaluator, "span_macro_f1"),
    "empathy": (EmpathyEvaluator, "bleu_nltk"),
    "triplet_llm": (TripletLLMEvaluator, "strict_f1"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_method_has_an_evaluator_declaring_its_metric_and_direction(name: str) -> None:
    spec = get_method(name)
    evaluator = evaluator_for(spec)
    cls, metric = EXPECTED[name]
    assert type(evaluator) is cls
    assert evaluator.primary_metric == metric == spec.primary_metric
    assert evaluator.greater_is_better is True
    assert "batch_size" in evaluator.settings
    assert set(evaluator.settings) <= set(EVALUATOR_SETTINGS)  # every declared setting is a flag of the script
    parser_flags = {action.dest for action in build_parser()._actions}
    assert set(EVALUATOR_SETTINGS) <= parser_flags


def test_every_registered_method_has_a_consistent_evaluator() -> None:
    for spec in methods().values():
        if spec.evaluator is None:
            continue
        evaluator = evaluator_for(spec)
        assert isinstance(evaluator, Evaluator)
        assert evaluator.primary_metric == spec.primary_metric, spec.name


def test_the_settings_the_families_accept() -> None:
    assert PairEvaluator.settings == ("batch_size", "decoding", "threshold", "top_k", "lexicon")
    assert KdEcsStudentEvaluator.settings == KdEcsTeacherEvaluator.settings == ("batch_size", "threshold")
    assert EmpathyEvaluator.settings == ("batch_size",)
    assert TripletLLMEvaluator.settings == ("batch_size", "labels", "max_new_tokens", "free_generation")


def test_an_undeclared_setting_is_an_error_not_ignored() -> None:
    with pytest.raises(ValueError, match="EmpathyEvaluator does not take threshold, top_k; it takes batch_size"):
        EmpathyEvaluator()(None, None, [], batch_size=8, threshold=0.5, top_k=1)


def test_a_plain_runner_declares_its_keyword_parameters() -> None:
    def runner(model: Any, tokenizer: Any, dataset: Any, *, batch_size: int = 8, threshold: float = 0.5) -> dict:
        return {"batch_size": batch_size, "threshold": threshold}

    evaluator = FunctionEvaluator(runner, "pair_f1")
    assert evaluator.settings == ("batch_size", "threshold") and evaluator.primary_metric == "pair_f1"
    assert evaluator(None, None, [], threshold=0.25) == {"batch_size": 8, "threshold": 0.25}
    with pytest.raises(ValueError, match="does not take top_k"):
        evaluator(None, None, [], top_k=2)


@pytest.mark.parametrize(
    "extra, given",
    [
        ([], set()),  # every flag at its default: none counts
        (["--batch_size", "8"], {"batch_size"}),  # given explicitly, even at the default value
        (["--thresh", "0.3"], {"threshold"}),  # an abbreviation counts as the flag
        (["--free_generation", "--top_k", "2"], {"free_generation", "top_k"}),
        (["--lexicon", "none"], {"lexicon"}),
    ],
)
def test_only_flags_given_on_the_command_line_count(extra: list[str], given: set[str]) -> None:
    argv = ["--model", "m", "--corpus", "ecpe_en", *extra]
    args, given_dests = parse_arguments(argv)  # argv parsed once
    assert given_dests & set(EVALUATOR_SETTINGS) == given
    assert {"model", "corpus"} <= given_dests
    assert args == build_parser().parse_args(argv)  # the flags not given hold their defaults, as a plain parse
