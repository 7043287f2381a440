"""``pipeline("empathetic-response")``: an empathetic reply to a conversation, with the emotion and the causes the
model recognised (Gao et al. 2021). Registered by ``import hf_ecpe``::

    responder = pipeline("empathetic-response", model="outputs/empathy_ed")
    responder(["i lost my job today .", "oh no , what happened ?", "they closed the whole office ."])
    responder({"utterances": [...], "speakers": ["speaker", "listener", "speaker"]}, num_beams=5)
    responder([conversation_1, conversation_2], batch_size=2, do_sample=True, top_k=3, temperature=0.6)

Inputs: a conversation as a list of utterance strings, or a dict ``{"utterances": [...], "speakers": [...]}``
(speakers optional; the model reads the utterances in order). A list of such conversations is a batch; a generator
of them is answered lazily, batch by batch. Keyword arguments other than ``batch_size`` and ``cause_threshold`` are
``generate()`` arguments (``max_new_tokens``, ``num_beams``, ``do_sample``, ``top_k``, ``top_p``, ``temperature``,
``num_return_sequences``, ...), on top of the model's saved ``GenerationConfig``.

The pipeline is an adapter: it checks and normalises the input, runs the model's
:meth:`~hf_ecpe.models.empathy.EmpathyForConditionalGeneration.predict` and returns
:meth:`~hf_ecpe.models.empathy.ResponsePrediction.to_dict` per conversation::

    {"response": str, "emotion": str, "emotion_score": float,
     "cause_utterances": [{"index", "text", "score"}, ...],   # utterances whose mean P(cause) > cause_threshold
     "cause_tokens": [{"token", "utterance", "score", "gate"}, ...]}   # word pieces with P(cause) > cause_threshold

plus ``"responses"`` (all of them) when ``num_return_sequences > 1``. A model without a cause task (``gate="none"``)
returns empty cause lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from transformers import Pipeline

from hf_ecpe.data.inputs import check_units, normalise_input


def _is_conversation(value: Any) -> bool:
    return isinstance(value, (Mapping, str)) or (
        isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(item, str) for item in value)
    )


def _conversation(value: Any) -> tuple[list[str], list[str] | None]:
    """One conversation → ``(utterances, speakers)`` (a list of strings, or any input of :func:`normalise_input`)."""
    if isinstance(value, (list, tuple)):
        utterances, speakers = check_units(list(value), "utterances"), None
    else:
        utterances, speakers = normalise_input(value)
    if not utterances:
        raise ValueError("a conversation needs at least one utterance")
    return utterances, speakers


class EmpatheticResponsePipeline(Pipeline):
    """See the module docstring."""

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from hf_ecpe.devices import check_device

        check_device(kwargs.get("device"))  # device=0 without an accelerator: an error, not a silent CPU run
        super().__init__(*args, **kwargs)
        from hf_ecpe.methods import method_for

        spec = method_for(self.model)
        if spec is None or spec.kind != "response":
            raise TypeError(
                f"{type(self.model).__name__} is not an hf_ecpe response generator: the empathetic-response pipeline "
                "serves checkpoints of the empathy method (EmpathyForConditionalGeneration)"
            )

    def __call__(
        self,
        inputs: Any,
        *args: Any,
        batch_size: int | None = None,
        cause_threshold: float | None = None,
        **generate_kwargs: Any,
    ) -> Any:
        """One conversation → its result; a list of conversations → a list; a generator → an iterator of results.
        ``batch_size``: conversations per ``generate`` call (the pipeline's own, else 1)."""
        if args:
            raise TypeError(f"the empathetic-response pipeline takes its parameters by keyword, got {args!r:.80}")
        settings = {**self._forward_params, **generate_kwargs, "batch_size": batch_size or self._batch_size or 1}
        if cause_threshold is not None:
            settings["cause_threshold"] = cause_threshold
        if _is_conversation(inputs):  # one conversation (a list of strings is ONE conversation here)
            return self._respond([inputs], settings)[0]
        if isinstance(inputs, (list, tuple)):
            return self._respond(list(inputs), settings)
        if isinstance(inputs, Iterable):
            return self._stream(inputs, settings)
        raise TypeError(
            f"a conversation is a list of utterance strings or a dict with 'utterances', got {type(inputs).__name__}"
        )

    def _respond(self, conversations: list[Any], settings: dict[str, Any]) -> list[dict[str, Any]]:
        if not conversations:
            return []
        utterances, speakers = zip(*(_conversation(conversation) for conversation in conversations))
        predictions = self.model.predict(list(utterances), list(speakers), tokenizer=self.tokenizer, **settings)
        return [prediction.to_dict() for prediction in predictions]

    def _stream(self, conversations: Iterable[Any], settings: dict[str, Any]) -> Iterator[dict[str, Any]]:
        chunk: list[Any] = []
        for conversation in conversations:
            chunk.append(conversation)
            if len(chunk) == settings["batch_size"]:
                yield from self._respond(chunk, settings)
                chunk = []
        yield from self._respond(chunk, settings)

    def _sanitize_parameters(self, cause_threshold: float | None = None, **generate_kwargs: Any):
        # called when the pipeline is built: its extra keyword arguments hold for every call
        if cause_threshold is not None:
            generate_kwargs["cause_threshold"] = cause_threshold
        return {}, generate_kwargs, {}

    def preprocess(self, inputs: Any) -> Any:  # pragma: no cover - the model's predict() runs every step
        raise NotImplementedError

    def _forward(self, inputs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def postprocess(self, outputs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError


__all__ = ["EmpatheticResponsePipeline"]
