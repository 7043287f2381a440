"""The emotion-cause pipeline of pair models: inputs → the model's ``predict`` → the output schema (the module
docstring of :mod:`hf_ecpe.pipelines.emotion_cause` describes inputs, parameters and output)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hf_ecpe.data.inputs import normalise_input_with_offsets
from hf_ecpe.prediction import (
    PairPrediction,
    forward_pairs,
    model_text,
    predict_pairs,
    prediction_of,
    rows_of,
    unit_inputs,
)

from . import emotion_cause
from .emotion_cause import (
    DECODING_STRATEGIES,
    TRIPLET_SETTINGS,
    EmotionCausePipeline,
    _is_batch,
    language_mismatch,
    lexicon_mask_for,
    model_languages,
)


@dataclass
class PreparedDocument:
    """One normalised pipeline input: its units as given and as fed to the model, speakers, character offsets of the
    units in a raw-text input, the caller's ``id`` and the lexicon flags."""

    units: list[str]
    model_units: list[str]
    speakers: list[str] | None
    offsets: list[list[int]] | None
    doc_id: Any
    lexicon_flags: list[bool] | None

    @property
    def size(self) -> int:
        """A length proxy for length-sorted batching (characters of the model's text)."""
        return sum(len(unit) for unit in self.model_units)


class PairPipeline(EmotionCausePipeline):
    """Emotion–cause pairs from an hf_ecpe pair model over clauses or utterances (see the module docstring of
    :mod:`hf_ecpe.pipelines.emotion_cause`).

    A thin adapter over the model's ``predict`` (:func:`hf_ecpe.prediction.predict_pairs`: length-sorted batches of
    ``batch_size`` documents, one forward pass each, results in the input order): it normalises the inputs (clause
    splitting, offsets, speakers, lexicon flags, language check), calls ``predict`` and adds each input's ``offsets``
    and ``id`` to :meth:`~hf_ecpe.prediction.PairPrediction.to_dict`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("decode_pairs", "decode_units"):
            if not hasattr(self.model, name):
                raise TypeError(
                    f"{type(self.model).__name__} declares output kind 'pairs' but has no {name}(): a pair model must "
                    "offer decode_pairs() and decode_units() (see docs/adding-a-method.md)"
                )
        if getattr(self.tokenizer, "padding_side", "right") != "right":
            raise ValueError(
                "the emotion-cause pipeline needs a right-padding tokenizer (unit positions are counted from the "
                "left); set tokenizer.padding_side = 'right'"
            )

    # ------------------------------------------------------------------ the batched path
    def __call__(self, inputs: Any, *args: Any, batch_size: int | None = None, **kwargs: Any) -> Any:
        if args:
            raise TypeError(f"the emotion-cause pipeline takes its parameters by keyword, got {args!r:.80}")
        single = not _is_batch(inputs)
        documents = [inputs] if single else list(inputs)
        if not documents:
            return []
        preprocess, _, postprocess = self._sanitize_parameters(**kwargs)
        preprocess = {**self._preprocess_params, **preprocess}
        postprocess = {**self._postprocess_params, **postprocess}
        size = batch_size or self._batch_size or 1
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {size!r}")
        prepare = {key: value for key, value in preprocess.items() if key not in ("max_units", "max_unit_tokens")}
        prepared = [self.prepare(document, **prepare) for document in documents]
        self._warn_on_language_mismatch(prepared)
        # Very long documents go in pieces of AUTO_MAX_UNITS units unless max_units is given (memory and time stay
        # linear in the length); the default is read at call time from hf_ecpe.pipelines.emotion_cause.
        with self.device_placement():
            predictions = self._predict(
                [document.units for document in prepared],
                [document.speakers for document in prepared],
                batch_size=size,
                max_units=preprocess.get("max_units", emotion_cause.AUTO_MAX_UNITS),
                max_unit_tokens=preprocess.get("max_unit_tokens"),
                lexicon_flags=[document.lexicon_flags for document in prepared],
                **postprocess,
            )
        results = [self.format(prediction, document) for prediction, document in zip(predictions, prepared)]
        return results[0] if single else results

    def _predict(self, documents: list[list[str]], speakers: list[list[str] | None], **settings: Any) -> Any:
        """The model's ``predict`` with the pipeline's tokenizer; for a pair model without one (remote code saved
        before ``predict`` existed), :func:`hf_ecpe.prediction.predict_pairs`, the original of every ``predict``."""
        if hasattr(self.model, "predict"):
            return self.model.predict(documents, speakers, tokenizer=self.tokenizer, **settings)
        return predict_pairs(self.model, self.tokenizer, documents, speakers, **settings)

    def _warn_on_language_mismatch(self, documents: Sequence[PreparedDocument]) -> None:
        """One warning per call (not per document) when the documents are written in another script than the
        model's language (:func:`~hf_ecpe.pipelines.emotion_cause.language_mismatch`)."""
        if not hasattr(self, "_model_languages"):
            self._model_languages = model_languages(self.model)
        message = language_mismatch(self._model_languages, (" ".join(d.units) for d in documents if d.units))
        if message is not None:
            warnings.warn(message, UserWarning, stacklevel=3)

    def prepare(
        self, inputs: Any, language: str | None = None, lexicon: frozenset[str] | None = None
    ) -> PreparedDocument:
        """Normalise one input (:func:`hf_ecpe.data.inputs.normalise_input_with_offsets`); raw text also gets the
        units' character offsets (from the splitter: each unit's own characters)."""
        units, speakers, offsets = normalise_input_with_offsets(inputs, language)
        model_units = model_text(self.model.config, units, speakers)
        return PreparedDocument(
            units=units,
            model_units=model_units,
            speakers=speakers,
            offsets=offsets,
            doc_id=inputs.get("id") if isinstance(inputs, Mapping) else None,
            lexicon_flags=lexicon_mask_for(model_units, lexicon) if lexicon else None,
        )

    def collate(self, documents: Sequence[PreparedDocument], max_unit_tokens: int | None = None) -> dict[str, Any]:
        """Model inputs of a batch of prepared documents (:func:`hf_ecpe.prediction.unit_inputs`)."""
        return unit_inputs(
            self.tokenizer,
            self.model.config,
            [document.model_units for document in documents],
            [document.speakers for document in documents],
            max_unit_tokens,
        )

    @staticmethod
    def format(prediction: PairPrediction, document: PreparedDocument) -> dict[str, Any]:
        """The pipeline's result of one document: ``prediction.to_dict()`` with the input's ``offsets`` and ``id``
        (when it has them) before ``pair_scores``."""
        result = prediction.to_dict()
        pair_scores = result.pop("pair_scores", None)
        if document.offsets is not None:
            result["offsets"] = document.offsets
        if document.doc_id is not None:
            result["id"] = document.doc_id
        if pair_scores is not None:
            result["pair_scores"] = pair_scores
        return result

    # ------------------------------------------------------------------ the transformers Pipeline interface
    def _sanitize_parameters(
        self,
        threshold: float | None = None,
        decoding: str | None = None,
        top_k: int | None = None,
        lexicon: Iterable[str] | None = None,
        unit_threshold: float | None = None,
        language: str | None = None,
        return_pair_scores: bool | None = None,
        max_unit_tokens: int | None = None,
        max_units: int | None = None,
        **kwargs: Any,
    ) -> tuple[dict, dict, dict]:
        llm_keys = sorted(key for key in kwargs if key in TRIPLET_SETTINGS)
        if llm_keys:
            raise TypeError(
                f"{llm_keys} are settings of the triplet-LLM pipeline; {type(self.model).__name__} is a pair model"
            )
        if kwargs:
            raise TypeError(f"unknown emotion-cause pipeline parameter(s) {sorted(kwargs)}")
        preprocess: dict[str, Any] = {}
        postprocess: dict[str, Any] = {}
        if language is not None:
            preprocess["language"] = language
        if max_unit_tokens is not None:
            preprocess["max_unit_tokens"] = max_unit_tokens
        if max_units is not None:
            if isinstance(max_units, bool) or not isinstance(max_units, int) or max_units < 2:
                raise ValueError(
                    f"max_units is the number of units encoded in one pass, an integer >= 2, got {max_units!r} "
                    "(e.g. max_units=16 for documents much longer than the model's training documents)"
                )
            preprocess["max_units"] = max_units
        if lexicon is not None:
            if isinstance(lexicon, str) or not all(isinstance(word, str) for word in lexicon):
                raise TypeError("lexicon must be a collection of words (e.g. a set of strings), not a single string")
            preprocess["lexicon"] = frozenset(lexicon)
        if decoding is not None:
            if decoding not in DECODING_STRATEGIES:
                raise ValueError(f"decoding must be one of {DECODING_STRATEGIES}, got {decoding!r}")
            postprocess["decoding"] = decoding
        for name, value in (("threshold", threshold), ("unit_threshold", unit_threshold)):
            if value is not None:
                if not 0.0 <= float(value) <= 1.0:
                    raise ValueError(f"{name} is a probability in [0, 1], got {value}")
                postprocess[name] = float(value)
        if top_k is not None:
            if int(top_k) < 1:
                raise ValueError(f"top_k must be >= 1, got {top_k}")
            postprocess["top_k"] = int(top_k)
        if return_pair_scores is not None:
            postprocess["return_pair_scores"] = bool(return_pair_scores)
        return preprocess, {}, postprocess

    def preprocess(self, inputs: Any, **params: Any) -> dict[str, Any]:
        """One document as a batch of one (the transformers ``Pipeline`` path; ``__call__`` batches instead)."""
        if params.get("max_units") is not None:  # pragma: no cover - __call__ always takes the batched path
            raise ValueError("max_units needs the batched path: call the pipeline itself")
        document = self.prepare(inputs, **{key: value for key, value in params.items() if key != "max_unit_tokens"})
        model_inputs = self.collate([document], params.get("max_unit_tokens")) if document.units else {}
        return {"model_inputs": model_inputs, "document": document}

    def _forward(self, inputs: dict[str, Any]) -> dict[str, Any]:
        outputs = None
        if inputs["document"].units:
            with self.device_placement():
                outputs = forward_pairs(self.model, inputs["model_inputs"])
        return {"outputs": outputs, "document": inputs["document"]}

    def postprocess(self, model_outputs: dict[str, Any], **params: Any) -> dict[str, Any]:
        document = model_outputs["document"]
        if not document.units:
            prediction = PairPrediction([], [], [], [], [] if params.get("return_pair_scores") else None)
        else:
            outputs = rows_of(model_outputs["outputs"], 0, len(document.units))
            prediction = prediction_of(
                self.model, outputs, document.units, lexicon_flags=document.lexicon_flags, **params
            )
        return self.format(prediction, document)
