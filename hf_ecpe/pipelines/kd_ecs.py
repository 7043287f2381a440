"""``pipeline("emotion-cause", model=<KD-ECS student>)``: emotion–causal span pairs of conversations.

Chosen by ``EmotionCausePipeline`` for the KD-ECS methods (their ``MethodSpec.extra["pipeline_class"]``). Same
inputs as every emotion-cause pipeline (a conversation ``{"utterances": [...], "speakers": [...]}``, a list of
units, a text; a list is a batch). A thin adapter: each input is normalised (:func:`normalise_input`), the
conversations go to ``model.predict`` (``KdEcsPreTrainedModel.predict``) and each
:class:`~hf_ecpe.models.kd_ecs.SpanPairPrediction` is returned as its ``to_dict()`` — the schema is documented there
(the shared ``units`` / ``pairs`` / ``emotions`` / ``causes``; each pair adds ``category`` and ``category_score``,
the character ``cause_span`` with its ``cause_span_text`` and the ``emotion_span`` with its ``emotion_span_text``,
the keys of the triplet LLM).

The student reads one prompt per candidate pair (u_i, u_j), j <= i, so a conversation of n utterances costs
n (n + 1) / 2 prompts, run ``prompt_batch_size`` at a time; ``batch_size`` (at call time or when building the
pipeline, as for every pipeline) is the number of conversations whose prompts share those forward passes.
``threshold`` (default: the model's ``decode_threshold``, chosen on validation) and ``max_span_tokens`` hold for
one call; the model's config is never changed.
"""

from __future__ import annotations

from typing import Any

from hf_ecpe.data.inputs import normalise_input
from hf_ecpe.models.kd_ecs.processing_kd_ecs import is_student

from .emotion_cause import EmotionCausePipeline, _is_batch


class KdEcsPipeline(EmotionCausePipeline):
    """The KD-ECS student's emotion-cause pipeline (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not is_student(self.model.config):
            raise TypeError(
                f"{type(self.model).__name__} is a KD-ECS teacher: it reads the gold emotion of every utterance, which "
                "pipeline inputs do not have; run the pipeline with the distilled student (or call the teacher's "
                "predict(..., emotions=...))"
            )
        if self.model.config.given_emotion:
            raise TypeError(
                "this KD-ECS student was trained with given_emotion=True (gold emotions written into the prompt); the "
                "pipeline has no gold emotions: score it with hf_ecpe.scripts.evaluate on canonical rows"
            )

    def __call__(self, inputs: Any, *args: Any, batch_size: int | None = None, **kwargs: Any) -> Any:
        """One conversation (or a list of them: a batch) → ``model.predict`` → ``to_dict()``. ``batch_size``:
        conversations whose prompts are scored together, ``prompt_batch_size`` prompts per forward pass (the
        pipeline's own ``batch_size`` by default)."""
        if args:
            raise TypeError(f"the emotion-cause pipeline takes its parameters by keyword, got {args!r:.80}")
        single = not _is_batch(inputs)
        documents = [inputs] if single else list(inputs)
        if not documents:
            return []
        size = batch_size or self._batch_size or 1
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {size!r}")
        preprocess, forward, _ = self._sanitize_parameters(**kwargs)
        preprocess = {**self._preprocess_params, **preprocess}
        forward = {**self._forward_params, **forward, "batch_size": size}
        inputs = [self.preprocess(document, **preprocess) for document in documents]
        results = [self.postprocess(prediction) for prediction in self._forward(inputs, **forward)]
        return results[0] if single else results

    def _sanitize_parameters(
        self,
        threshold: float | None = None,
        language: str | None = None,
        prompt_batch_size: int | None = None,
        max_span_tokens: int | None = None,
        **kwargs: Any,
    ) -> tuple[dict, dict, dict]:
        """``language`` goes to :func:`normalise_input`, the others to ``model.predict`` (which checks them)."""
        if kwargs:
            raise TypeError(
                f"unknown KD-ECS pipeline parameter(s) {sorted(kwargs)} (it takes threshold, language, "
                "prompt_batch_size, max_span_tokens)"
            )
        preprocess = {"language": language} if language is not None else {}
        forward = {
            name: value
            for name, value in (
                ("prompt_batch_size", prompt_batch_size),
                ("max_span_tokens", max_span_tokens),
                ("threshold", threshold),
            )
            if value is not None
        }
        return preprocess, forward, {}

    def preprocess(self, inputs: Any, language: str | None = None) -> dict[str, Any]:
        """One pipeline input → its ``units`` and ``speakers`` (:func:`normalise_input`)."""
        units, speakers = normalise_input(inputs, language)
        return {"units": units, "speakers": speakers}

    def _forward(self, model_inputs: Any, **params: Any) -> list:
        """``model.predict`` of normalised conversations (one, or a list)."""
        conversations = model_inputs if isinstance(model_inputs, list) else [model_inputs]
        return self.model.predict(
            [conversation["units"] for conversation in conversations],
            [conversation["speakers"] for conversation in conversations],
            tokenizer=self.tokenizer,
            **params,
        )

    def postprocess(self, model_outputs: Any) -> dict[str, Any]:
        """A :class:`~hf_ecpe.models.kd_ecs.SpanPairPrediction` (or the first of a list) → the output schema."""
        prediction = model_outputs[0] if isinstance(model_outputs, list) else model_outputs
        return prediction.to_dict()


__all__ = ["KdEcsPipeline"]
