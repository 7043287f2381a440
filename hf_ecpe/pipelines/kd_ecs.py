"""``pipeline("emotion-cause", model=<KD-ECS student>)``: emotion–causal span pairs of conversations.

Chosen by ``EmotionCausePipeline`` for the KD-ECS methods (their ``MethodSpec.extra["pipeline_class"]``). Same
inputs as every emotion-cause pipeline (a conversation ``{"utterances": [...], "speakers": [...]}``, a list of
units, a text; a list is a batch). The student reads one prompt per candidate pair (u_i, u_j), j <= i
(``hf_ecpe.data.kd_ecs``), so a conversation of n utterances costs n (n + 1) / 2 prompts, run ``prompt_batch_size``
at a time; ``batch_size`` (at call time or when building the pipeline, as for every pipeline) is the number of
conversations whose prompts share those forward passes.

Output per conversation: the shared schema (``units``, ``pairs`` with ``emotion_index``, ``cause_index``,
``emotion_text``, ``cause_text``, ``score``; ``emotions``; ``causes``) where each pair adds ``category`` (the emotion
of u_i: the argmax of its mean emotion logits over its prompts) and ``category_score``, the character ``cause_span``
(``[start, end)`` in the cause utterance) with its ``cause_span_text``, and ``emotion_span`` (the whole emotion
utterance) with ``emotion_span_text`` — the keys of the triplet LLM. A pair is kept when u_i's emotion is not neutral
and its causal probability exceeds ``threshold`` (default: the model's ``decode_threshold``, chosen on validation).
"""

from __future__ import annotations

from typing import Any

from hf_ecpe.data.inputs import normalise_input

from .emotion_cause import EmotionCausePipeline, _is_batch, empty_result


class KdEcsPipeline(EmotionCausePipeline):
    """The KD-ECS student's emotion-cause pipeline (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from hf_ecpe.data.kd_ecs import is_student

        if not is_student(self.model.config):
            raise TypeError(
                f"{type(self.model).__name__} is a KD-ECS teacher: it reads the gold emotion of every utterance and "
                "serves training only; run the pipeline with the distilled student"
            )
        if self.model.config.given_emotion:
            raise TypeError(
                "this KD-ECS student was trained with given_emotion=True (gold emotions written into the prompt); the "
                "pipeline has no gold emotions: score it with hf_ecpe.scripts.evaluate on canonical rows"
            )

    def __call__(self, inputs: Any, *args: Any, batch_size: int | None = None, **kwargs: Any) -> Any:
        """One conversation (or a list of them: a batch). ``batch_size``: conversations whose prompts are scored
        together, ``prompt_batch_size`` prompts per forward pass (the pipeline's own ``batch_size`` by default)."""
        if args:
            raise TypeError(f"the emotion-cause pipeline takes its parameters by keyword, got {args!r:.80}")
        single = not _is_batch(inputs)
        documents = [inputs] if single else list(inputs)
        if not documents:
            return []
        size = batch_size or self._batch_size or 1
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {size!r}")
        preprocess, forward, postprocess = self._sanitize_parameters(**kwargs)
        preprocess = {**self._preprocess_params, **preprocess}
        forward = {**self._forward_params, **forward}
        postprocess = {**self._postprocess_params, **postprocess}
        metas = [self.preprocess(document, **preprocess)["meta"] for document in documents]
        results = []
        for start in range(0, len(metas), size):
            chunk = metas[start : start + size]
            pooled = {"meta": {"units": None, "examples": [example for meta in chunk for example in meta["examples"]]}}
            predictions = self._forward(pooled, **forward)["predictions"]
            for meta in chunk:
                own, predictions = predictions[: len(meta["examples"])], predictions[len(meta["examples"]) :]
                results.append(self.postprocess({"meta": meta, "predictions": own}, **postprocess))
        return results[0] if single else results

    def _sanitize_parameters(
        self,
        threshold: float | None = None,
        language: str | None = None,
        prompt_batch_size: int | None = None,
        max_span_tokens: int | None = None,
        **kwargs: Any,
    ) -> tuple[dict, dict, dict]:
        if kwargs:
            raise TypeError(
                f"unknown KD-ECS pipeline parameter(s) {sorted(kwargs)} (it takes threshold, language, "
                "prompt_batch_size, max_span_tokens)"
            )
        preprocess: dict[str, Any] = {}
        forward: dict[str, Any] = {}
        postprocess: dict[str, Any] = {}
        if language is not None:
            preprocess["language"] = language
        if threshold is not None:
            if not 0.0 <= float(threshold) <= 1.0:
                raise ValueError(f"threshold is a probability in [0, 1], got {threshold}")
            postprocess["threshold"] = float(threshold)
        if prompt_batch_size is not None:
            if int(prompt_batch_size) < 1:
                raise ValueError(f"prompt_batch_size must be >= 1, got {prompt_batch_size}")
            forward["prompt_batch_size"] = int(prompt_batch_size)
        if max_span_tokens is not None:
            if int(max_span_tokens) < 1:
                raise ValueError(f"max_span_tokens must be >= 1, got {max_span_tokens}")
            forward["max_span_tokens"] = int(max_span_tokens)
        return preprocess, forward, postprocess

    def preprocess(self, inputs: Any, language: str | None = None) -> dict[str, Any]:
        from hf_ecpe.data.kd_ecs import pair_examples

        units, speakers = normalise_input(inputs, language)
        row = {"id": "input", "units": units, "speakers": speakers or []}
        examples = pair_examples(row, self.model.config, self.tokenizer, "all", labelled=False) if units else []
        return {"meta": {"units": units, "examples": examples}}

    def _forward(
        self, model_inputs: dict[str, Any], prompt_batch_size: int = 32, max_span_tokens: int | None = None
    ) -> dict:
        from hf_ecpe.data.kd_ecs import KdEcsCollator, predict_examples

        meta = model_inputs["meta"]
        meta = meta[0] if isinstance(meta, list) else meta
        if not meta["examples"]:
            return {"meta": meta, "predictions": []}
        collator = KdEcsCollator(self.tokenizer, self.model.config)
        predictions = predict_examples(self.model, meta["examples"], collator, prompt_batch_size, max_span_tokens)
        return {"meta": meta, "predictions": predictions}

    def postprocess(self, model_outputs: dict[str, Any], threshold: float | None = None) -> dict[str, Any]:
        from hf_ecpe.data.kd_ecs import decode_conversation

        meta = model_outputs["meta"]
        if not meta["units"]:
            return empty_result()
        return decode_conversation(
            meta["units"], meta["examples"], model_outputs["predictions"], self.model.config, threshold
        )


__all__ = ["KdEcsPipeline"]
