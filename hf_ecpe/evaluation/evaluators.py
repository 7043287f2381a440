"""Evaluators: what ``scripts.evaluate`` runs for a method, and the settings it accepts (the sentence-transformers
evaluator shape).

An :class:`Evaluator` subclass declares, as class attributes,

- ``settings``: the names of the ``scripts.evaluate`` flags it uses (``"batch_size"``, ``"threshold"``, ...; the
  flag is ``--<name>``). ``scripts.evaluate`` passes exactly these and refuses any other flag given on the command
  line with one line naming the ones accepted, instead of ignoring it;
- ``primary_metric`` / ``greater_is_better``: the headline metric of its result and its direction (the method's
  ``MethodSpec.primary_metric``);
- ``model_name``: how the error line calls its models (``"a KD-ECS model"``).

``evaluator(model, tokenizer, dataset, **settings) -> metrics`` scores ``dataset`` (canonical rows) and returns a
flat ``dict`` of metrics (plus a few descriptive entries). One subclass per method family:

- :class:`PairEvaluator` (A2Net, the pair scorer): :func:`evaluate_pair_model`;
- :class:`KdEcsTeacherEvaluator` / :class:`KdEcsStudentEvaluator`: :func:`hf_ecpe.trainers.kd_ecs.evaluate_kd_ecs`;
- :class:`EmpathyEvaluator`: :func:`hf_ecpe.evaluation.empathy.evaluate_empathy_model`;
- :class:`TripletLLMEvaluator` (a LoRA adapter; ``model`` is its folder, ``tokenizer`` ``None``):
  :func:`evaluate_triplet_llm`.

A method names its evaluator in ``MethodSpec.evaluator`` (a class or ``"module:Class"``); :func:`evaluator_for`
returns an instance (a plain function there is wrapped, its settings read from its keyword parameters).
"""

from __future__ import annotations

import inspect
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar


class Evaluator:
    """Scores a model on a split: ``evaluator(model, tokenizer, dataset, **settings) -> metrics``.

    Subclasses set :attr:`settings`, :attr:`primary_metric`, :attr:`greater_is_better`, :attr:`model_name` and
    implement :meth:`evaluate`; calling the instance with a setting it does not declare is a ``ValueError``."""

    #: The ``scripts.evaluate`` settings (flag names without ``--``) this evaluator uses.
    settings: ClassVar[tuple[str, ...]] = ("batch_size",)
    #: The headline metric of the result and whether higher is better.
    primary_metric: ClassVar[str] = ""
    greater_is_better: ClassVar[bool] = True
    #: How error messages call the models it scores ("a KD-ECS model").
    model_name: ClassVar[str] = "model"

    def __call__(self, model: Any, tokenizer: Any, dataset: Any, **settings: Any) -> dict[str, Any]:
        undeclared = sorted(set(settings) - set(self.settings))
        if undeclared:
            raise ValueError(
                f"{type(self).__name__} does not take {', '.join(undeclared)}; it takes {', '.join(self.settings)}"
            )
        return self.evaluate(model, tokenizer, dataset, **settings)

    def evaluate(self, model: Any, tokenizer: Any, dataset: Any, **settings: Any) -> dict[str, Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(settings={self.settings}, primary_metric={self.primary_metric!r}, "
            f"greater_is_better={self.greater_is_better})"
        )


class PairEvaluator(Evaluator):
    """A2Net and the pair scorer: the ``ecpe`` scores + ``pair_auprc`` (:func:`evaluate_pair_model`)."""

    settings = ("batch_size", "decoding", "threshold", "top_k", "lexicon")
    primary_metric = "pair_f1"
    model_name = "a pair model"

    def evaluate(self, model: Any, tokenizer: Any, dataset: Any, **settings: Any) -> dict[str, Any]:
        return evaluate_pair_model(model, tokenizer, dataset, **settings)


class KdEcsTeacherEvaluator(Evaluator):
    """The KD-ECS teacher: RECCON utterance-level scores (:func:`hf_ecpe.trainers.kd_ecs.evaluate_kd_ecs`)."""

    settings = ("batch_size", "threshold")
    primary_metric = "utterance_macro_f1"
    model_name = "a KD-ECS teacher model"

    def evaluate(self, model: Any, tokenizer: Any, dataset: Any, **settings: Any) -> dict[str, Any]:
        from hf_ecpe.methods import resolve

        # an import path, as in the method registry: the runner's module is imported when an evaluation runs
        return resolve("hf_ecpe.trainers.kd_ecs:evaluate_kd_ecs")(model, tokenizer, dataset, **settings)


class KdEcsStudentEvaluator(KdEcsTeacherEvaluator):
    """The KD-ECS student: RECCON span scores + SemEval-2024 / triplet scores of its end-to-end output (decoded by the
    functions ``model.predict`` runs, ``hf_ecpe.models.kd_ecs.processing_kd_ecs``)."""

    primary_metric = "span_macro_f1"
    model_name = "a KD-ECS model"


class EmpathyEvaluator(Evaluator):
    """The empathetic generator: BLEU, Dist-n, emotion accuracy, BERTScore
    (:func:`hf_ecpe.evaluation.empathy.evaluate_empathy_model`)."""

    settings = ("batch_size",)
    primary_metric = "bleu_nltk"
    model_name = "an empathetic-response model"

    def evaluate(self, model: Any, tokenizer: Any, dataset: Any, **settings: Any) -> dict[str, Any]:
        from hf_ecpe.methods import resolve

        # an import path, as in the method registry (a static import would close a circle through hf_ecpe.data)
        return resolve("hf_ecpe.evaluation.empathy:evaluate_empathy_model")(model, tokenizer, dataset, **settings)


class TripletLLMEvaluator(Evaluator):
    """The triplet LLM (a LoRA adapter; ``model`` is the adapter folder, ``tokenizer`` unused): strict /
    proportional span F1 and unit-level scores (:func:`evaluate_triplet_llm`)."""

    settings = ("batch_size", "labels", "max_new_tokens", "free_generation")
    primary_metric = "strict_f1"
    model_name = "a triplet LLM"

    def evaluate(self, model: Any, tokenizer: Any, dataset: Any, **settings: Any) -> dict[str, Any]:
        free_generation = bool(settings.pop("free_generation", False))
        return evaluate_triplet_llm(
            Path(model),
            dataset,
            labels=settings.pop("labels", None),
            max_new_tokens=settings.pop("max_new_tokens", None),
            constrained=not free_generation,
            **settings,
        )


class FunctionEvaluator(Evaluator):
    """A plain ``runner(model, tokenizer, dataset, **settings)`` as an evaluator: its settings are its keyword
    parameters (after the first three), its primary metric the method's."""

    def __init__(self, runner: Callable[..., dict[str, Any]], primary_metric: str = "") -> None:
        parameters = list(inspect.signature(runner).parameters.values())[3:]
        self.runner = runner
        self.settings = tuple(p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))  # type: ignore[misc]
        self.primary_metric = primary_metric  # type: ignore[misc]

    def evaluate(self, model: Any, tokenizer: Any, dataset: Any, **settings: Any) -> dict[str, Any]:
        return self.runner(model, tokenizer, dataset, **settings)


def evaluator_for(spec: Any) -> Evaluator:
    """The evaluator of a method (``MethodSpec.evaluator``: an :class:`Evaluator` subclass or instance, its import
    path, or a plain runner function); ``ValueError`` for a method without one."""
    from hf_ecpe.methods import resolve

    evaluator = resolve(spec.evaluator)
    if evaluator is None:
        raise ValueError(
            f"method {spec.name!r} has no evaluator (MethodSpec.evaluator); scripts.evaluate cannot score it"
        )
    if isinstance(evaluator, type) and issubclass(evaluator, Evaluator):
        return evaluator()
    if isinstance(evaluator, Evaluator):
        return evaluator
    return FunctionEvaluator(evaluator, spec.primary_metric)


# ---------------------------------------------------------------------------------------------------------------
# Runners (moved here from hf_ecpe.scripts.evaluate, which re-exports them)
# ---------------------------------------------------------------------------------------------------------------


def evaluate_pair_model(
    model: Any, tokenizer: Any, dataset: Any, *, batch_size: int = 8, lexicon: Any = None, **decode: Any
) -> dict:
    """The ``ecpe`` scores of a pair model (the ``PairTrainer`` evaluation training reports, so the numbers are the
    ones of the training run) plus ``pair_auprc`` over every candidate pair.

    ``lexicon``: the sentiment lexicon of the reference decoding (a path, see :mod:`hf_ecpe.evaluation.lexicon`);
    ``None`` uses the config's ``decode_lexicon`` (none when unset), ``"none"`` none at all."""
    import torch

    from hf_ecpe.evaluation import pair_auprc_scores
    from hf_ecpe.methods import method_for
    from hf_ecpe.trainers import EcpeTrainingArguments, PairTrainer
    from hf_ecpe.trainers.metrics import EcpeComputeMetrics, candidate_rankings, unpack

    spec = method_for(model)
    overrides = {key: value for key, value in decode.items() if value is not None}
    decode_kwargs = {
        "strategy": overrides.get("decoding"),
        "threshold": overrides.get("threshold"),
        "top_k": overrides.get("top_k"),
    }
    saved_lexicon = getattr(model.config, "decode_lexicon", None)
    if lexicon is None:
        lexicon = saved_lexicon
    elif isinstance(lexicon, str) and lexicon.strip().lower() in ("none", "null", ""):
        lexicon = None
    with tempfile.TemporaryDirectory(prefix="hf_ecpe_evaluate_") as folder:
        args = EcpeTrainingArguments(
            output_dir=folder,
            per_device_eval_batch_size=batch_size,
            report_to="none",
            use_cpu=not torch.cuda.is_available(),
            dataloader_num_workers=0,
            decode_lexicon=lexicon,
        )
        trainer = PairTrainer(
            model=model,
            args=args,
            processing_class=tokenizer,
            compute_metrics=EcpeComputeMetrics(
                lambda: model, decode_kwargs={k: v for k, v in decode_kwargs.items() if v is not None}
            ),
            method=spec,
        )
        output = trainer.predict(dataset, metric_key_prefix="eval")
    if saved_lexicon is None:  # the trainer records its lexicon in the config; leave the model as it came
        model.config.__dict__.pop("decode_lexicon", None)
    else:
        model.config.decode_lexicon = saved_lexicon
    metrics = {key[len("eval_") :]: value for key, value in output.metrics.items() if key.startswith("eval_")}
    docs, gold = unpack(output.predictions, output.label_ids)
    scores, labels, unreachable = candidate_rankings(docs, gold)
    ranking = pair_auprc_scores(scores, labels, num_unreachable=unreachable)
    metrics.update(
        pair_auprc=ranking["auprc"],
        best_threshold_pair_f1=ranking["best_f1"],
        best_threshold=ranking["best_threshold"],
        unreachable_gold_pairs=int(sum(unreachable)),
    )
    config = model.config
    metrics["decoding"] = {
        "strategy": decode_kwargs["strategy"] or getattr(config, "decoding", None),
        "threshold": (
            decode_kwargs["threshold"]
            if decode_kwargs["threshold"] is not None
            else getattr(config, "decode_threshold", None)
        ),
        "top_k": decode_kwargs["top_k"]
        if decode_kwargs["top_k"] is not None
        else getattr(config, "decode_top_k", None),
        # where the threshold comes from: the split training chose it on, or None when --threshold overrode it
        "threshold_selected_on": (
            None if decode_kwargs["threshold"] is not None else getattr(config, "decode_threshold_selected_on", None)
        ),
        "lexicon": str(lexicon) if lexicon is not None else None,
    }
    return {key: value for key, value in metrics.items() if not key.endswith(("_runtime", "_per_second"))}


def evaluate_triplet_llm(
    model_path: Path,
    dataset: Any,
    *,
    labels: list[str] | None,
    max_new_tokens: int | None,
    batch_size: int = 8,
    constrained: bool = True,
) -> dict:
    """The ``triplet`` scores (strict / proportional span F1) and unit-level scores of an SFT adapter."""
    from hf_ecpe.llm.data import completion_token_budget
    from hf_ecpe.llm.inference import EmotionCauseLLM
    from hf_ecpe.pipelines.emotion_cause import recorded_labels

    labels = labels or recorded_labels(model_path)
    if not labels:
        raise ValueError(
            f"{model_path}: no emotion categories recorded (metrics.json 'labels'); pass --labels ..., the categories "
            "the adapter was trained with"
        )
    rows = [dict(row) for row in dataset]
    record = model_path / "metrics.json"
    instruction = json.loads(record.read_text(encoding="utf-8")).get("instruction") if record.is_file() else None
    extra = {"instruction": instruction} if instruction else {}  # the prompt variant the adapter was trained with
    llm = EmotionCauseLLM(str(model_path), labels=labels, batch_size=batch_size, constrained=constrained, **extra)
    llm.max_new_tokens = max_new_tokens or completion_token_budget(rows, labels, llm.tokenizer)
    metrics = llm.evaluate(rows)
    metrics["max_new_tokens"] = llm.max_new_tokens
    return metrics


__all__ = [
    "EmpathyEvaluator",
    "Evaluator",
    "FunctionEvaluator",
    "KdEcsStudentEvaluator",
    "KdEcsTeacherEvaluator",
    "PairEvaluator",
    "TripletLLMEvaluator",
    "evaluate_pair_model",
    "evaluate_triplet_llm",
    "evaluator_for",
]
