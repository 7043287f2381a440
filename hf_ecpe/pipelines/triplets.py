"""The emotion-cause pipeline of triplet LLMs (the LLM backend of :mod:`hf_ecpe.pipelines.emotion_cause`)."""

from __future__ import annotations

from typing import Any

from .emotion_cause import TRIPLET_SETTINGS, EmotionCausePipeline, _folder_of, recorded_labels


class TripletPipeline(EmotionCausePipeline):
    """Emotion–cause–category triplets from an instruction-tuned causal LM (a LoRA adapter trained by
    ``hf_ecpe.scripts.sft``) through :class:`hf_ecpe.llm.EmotionCauseLLM`. Settings (``labels`` — read from the
    adapter folder when not given —, ``max_new_tokens``, ``batch_size``, ``language``) are given when building it;
    ``batch_size`` (documents per ``generate`` call) and ``language`` may also be given at call time, as for every
    pipeline, and then hold for that call only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._llm_settings: dict[str, Any] = {}
        super().__init__(*args, **kwargs)
        self.llm = self._build_llm()

    def _sanitize_parameters(self, language: str | None = None, **kwargs: Any) -> tuple[dict, dict, dict]:
        if getattr(self, "llm", None) is not None and kwargs:
            raise TypeError(_triplet_call_error(kwargs))
        unknown = sorted(set(kwargs) - set(TRIPLET_SETTINGS))
        if unknown:
            raise TypeError(
                f"{unknown} are not settings of the triplet-LLM pipeline (it takes {list(TRIPLET_SETTINGS)} and "
                "language; threshold / decoding / lexicon are parameters of pair models)"
            )
        self._llm_settings.update(kwargs)
        if language is not None:
            self._llm_settings["language"] = language
        return {}, {}, {}

    def _build_llm(self) -> Any:
        from hf_ecpe.llm.inference import EmotionCauseLLM

        settings = dict(self._llm_settings)
        labels = (
            settings.pop("labels", None) or recorded_labels(self.model) or recorded_labels(_folder_of(self.tokenizer))
        )
        if not labels:
            raise ValueError(
                f"the triplet-LLM pipeline needs the emotion categories {type(self.model).__name__} was trained with: "
                "pass labels=[...] (e.g. hf_ecpe.llm.corpus_labels('semeval2024_ecac'))"
            )
        if self._batch_size is not None:
            settings["batch_size"] = self._batch_size
        return EmotionCauseLLM(self.model, tokenizer=self.tokenizer, labels=labels, **settings)

    def __call__(
        self, inputs: Any, *args: Any, batch_size: int | None = None, language: str | None = None, **kwargs: Any
    ) -> Any:
        if args:
            raise TypeError(f"the emotion-cause pipeline takes its parameters by keyword, got {args!r:.80}")
        if kwargs:
            raise TypeError(_triplet_call_error(kwargs))
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if isinstance(inputs, (list, tuple)) and len(inputs) == 0:
            return []
        return self.llm(
            list(inputs) if isinstance(inputs, tuple) else inputs, batch_size=batch_size, language=language
        )

    def preprocess(self, inputs: Any) -> Any:  # pragma: no cover - generation runs in EmotionCauseLLM
        raise NotImplementedError

    def _forward(self, inputs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def postprocess(self, outputs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError


def _triplet_call_error(kwargs: dict[str, Any]) -> str:
    """The message for call parameters the triplet-LLM pipeline does not take."""
    return (
        f"the triplet-LLM pipeline takes only batch_size and language at call time, got {sorted(kwargs)}; set labels / "
        "max_new_tokens / constrained / no_repeat_lines / instruction when building the pipeline (threshold / decoding "
        "/ lexicon are parameters of pair models)"
    )
