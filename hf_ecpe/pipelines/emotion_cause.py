"""``pipeline("emotion-cause")``: emotion–cause pairs from a text, a list of clauses or a conversation.

After ``import hf_ecpe`` (which registers the task)::

    from transformers import pipeline
    extractor = pipeline("emotion-cause", model="path/or/hub-id")
    extractor("I was so happy, because I passed the exam.")
    extractor({"clauses": ["I lost my job", "so I am sad"]})
    extractor({"utterances": ["I got the job!", "Congratulations!"], "speakers": ["A", "B"]})
    extractor([doc1, doc2, doc3], batch_size=2)           # a list is a batch of documents

Inputs (one document each; a ``list`` is always a batch):

- ``str``: a document, split into clauses with :func:`hf_ecpe.data.clauses.split_clauses` (``language`` parameter,
  auto-detected by default). Empty or whitespace-only text has no clause → empty result.
- ``{"clauses": [...]}`` / ``{"units": [...]}``: clauses given by the caller, kept as they are.
- ``{"utterances": [...], "speakers": [...]}``: a conversation; ``speakers`` is optional. When the model was trained
  with speaker prefixes (``config.prepend_speaker``), each utterance is fed as ``"<speaker>: <utterance>"``.
- ``{"text": "..."}``: same as a plain string.

Errors: a list of units given as a string, a non-string unit or speaker, an empty or whitespace-only unit, speakers of
another length than the utterances, unknown keys → ``TypeError`` / ``ValueError`` naming the problem. An empty list
of units gives an empty result. A single unit is a valid document: its only candidate is (0, 0).

Output per document (JSON-serialisable)::

    {"units": [...],
     "pairs": [{"emotion_index", "cause_index", "emotion_text", "cause_text", "score"}, ...],   # best first
     "emotions": [{"index", "text", "score"}, ...], "causes": [{"index", "text", "score"}, ...]}

``pairs`` come from the model's ``decode_pairs`` (its configured strategy unless ``decoding`` / ``threshold`` /
``top_k`` are given; ``lexicon`` — a set of words — restricts the 2nd and 3rd pair of the ``"reference"`` strategy
to emotion units that contain one of the words). ``emotions`` / ``causes`` are the units the emotion / cause heads
select (σ > ``unit_threshold``, default 0.5). ``return_pair_scores=True`` adds ``"pair_scores"``: the n × n matrix of
pair probabilities (row = emotion, column = cause; ``None`` outside the candidate window), for
:func:`hf_ecpe.plotting.plot_pair_scores`. Long documents are not truncated: the model windows them.
A model with a category head (pair scorer with ``emotion_categories``) adds ``"category"`` and ``"category_score"``
to every pair and emotion: the best non-neutral category of the emotion unit and its probability.

**LLM backend.** Given a causal LM — typically a LoRA adapter folder trained by ``hf_ecpe.scripts.sft`` — the
pipeline generates emotion–cause–category triplets with :class:`hf_ecpe.llm.EmotionCauseLLM` instead::

    pipeline("emotion-cause", model="outputs/sft_smollm2_semeval", labels=corpus_labels("semeval2024_ecac"),
             max_new_tokens=160, batch_size=8)

``labels`` (the categories the model was trained with; the adapter's ``metrics.json`` lists them) is required.
Same inputs; each pair also has ``category``, character ``emotion_span`` / ``cause_span`` and their texts, and the
result adds ``generated_text`` and ``parse`` (counts of what the parser dropped). The pair-model parameters
(``threshold``, ``decoding``, ``lexicon``, ...) do not apply there and raise ``TypeError``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from transformers import Pipeline

from hf_ecpe.losses.rpcl import pair_margins

DECODING_STRATEGIES = ("reference", "threshold")
_ACCEPTED_KEYS = ("text", "clauses", "units", "utterances", "speakers")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def empty_result() -> dict[str, list]:
    """The result of a document without units."""
    return {"units": [], "pairs": [], "emotions": [], "causes": []}


def lexicon_mask_for(units: list[str], lexicon: Iterable[str]) -> list[bool]:
    """Per unit, whether it contains a lexicon entry.

    Entries with CJK characters match as substrings (Chinese has no word boundaries); other entries match as whole
    words or phrases, case-insensitively (``"happy"`` matches "Happy," but not "unhappy").
    """
    entries = sorted({entry.strip() for entry in lexicon if entry and entry.strip()}, key=len, reverse=True)
    substrings = [entry for entry in entries if _CJK.search(entry)]
    words = [entry for entry in entries if not _CJK.search(entry)]
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.I) if words else None
    return [bool(pattern and pattern.search(unit)) or any(s in unit for s in substrings) for unit in units]


def _check_units(units: Any, key: str) -> list[str]:
    if isinstance(units, str):
        raise TypeError(
            f"{key!r} must be a list of strings, got a single string. Pass the text itself (or {{'text': ...}}) to "
            f"have it split into clauses, or wrap it: {{{key!r}: [text]}}."
        )
    if not isinstance(units, (list, tuple)):
        raise TypeError(f"{key!r} must be a list of strings, got {type(units).__name__}")
    for index, unit in enumerate(units):
        if not isinstance(unit, str):
            raise TypeError(f"{key}[{index}] must be a string, got {type(unit).__name__}: {unit!r:.60}")
        if not unit.strip():
            raise ValueError(
                f"{key}[{index}] is empty or whitespace only; every unit needs text (pair indices refer to the list "
                "you pass, so empty units are not dropped silently — remove them yourself)."
            )
    return list(units)


def normalise_input(inputs: Any, language: str | None = None) -> tuple[list[str], list[str] | None]:
    """One pipeline input → ``(units, speakers)``; raises TypeError/ValueError for malformed inputs (see module doc)."""
    if isinstance(inputs, str):
        from hf_ecpe.data.clauses import split_clauses

        return split_clauses(inputs, language), None
    if isinstance(inputs, Mapping):
        unknown = sorted(set(inputs) - set(_ACCEPTED_KEYS))
        if unknown:
            raise ValueError(
                f"unknown input key(s) {unknown}; a document is a string or a dict with one of 'text', 'clauses', "
                "'units' or 'utterances' (plus optional 'speakers')"
            )
        given = [key for key in ("text", "clauses", "units", "utterances") if key in inputs]
        if len(given) != 1:
            raise ValueError(
                f"a document dict needs exactly one of 'text', 'clauses', 'units', 'utterances'; got {given or 'none'}"
            )
        key = given[0]
        speakers = inputs.get("speakers")
        if key == "text":
            if not isinstance(inputs["text"], str):
                raise TypeError(f"'text' must be a string, got {type(inputs['text']).__name__}")
            if speakers is not None:
                raise ValueError("'speakers' goes with 'utterances', not with 'text'")
            from hf_ecpe.data.clauses import split_clauses

            return split_clauses(inputs["text"], language), None
        units = _check_units(inputs[key], key)
        if speakers is None:
            return units, None
        if key == "clauses":
            raise ValueError("'speakers' goes with 'utterances' (a conversation), not with 'clauses'")
        if isinstance(speakers, str) or not isinstance(speakers, (list, tuple)):
            raise TypeError(f"'speakers' must be a list of strings, got {type(speakers).__name__}")
        if len(speakers) != len(units):
            raise ValueError(f"got {len(speakers)} speakers for {len(units)} {key}; give one speaker per unit")
        for index, speaker in enumerate(speakers):
            if not isinstance(speaker, str):
                raise TypeError(f"speakers[{index}] must be a string, got {type(speaker).__name__}")
        return units, list(speakers)
    if isinstance(inputs, (list, tuple)):
        raise TypeError(
            "a document inside a batch must be a string or a dict; a list of clauses must be given as "
            "{'clauses': [...]} (a bare list is read as a batch of documents)"
        )
    raise TypeError(f"a document must be a string or a dict, got {type(inputs).__name__}")


class EmotionCausePipeline(Pipeline):
    """Emotion–cause pair extraction over clauses or utterances (see the module docstring for inputs and outputs)."""

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._llm_settings: dict[str, Any] = {}
        self._initialising = True
        super().__init__(*args, **kwargs)
        self._initialising = False
        self.llm = None
        if not hasattr(self.model, "decode_pairs") and callable(getattr(self.model, "generate", None)):
            self.llm = self._build_llm()
            return
        if self._llm_settings:
            raise TypeError(
                f"{sorted(self._llm_settings)} only apply to the LLM backend (a causal LM); "
                f"{type(self.model).__name__} is a pair model"
            )
        for name in ("decode_pairs", "decode_units"):
            if not hasattr(self.model, name):
                raise TypeError(
                    f"the emotion-cause pipeline needs an hf_ecpe pair model (with {name}()); got "
                    f"{type(self.model).__name__}. Load a checkpoint saved by hf_ecpe (e.g. A2NetModel)."
                )
        if getattr(self.tokenizer, "padding_side", "right") != "right":
            raise ValueError(
                "the emotion-cause pipeline needs a right-padding tokenizer (unit positions are counted from the "
                "left); set tokenizer.padding_side = 'right'"
            )

    def _build_llm(self) -> Any:
        """The :class:`~hf_ecpe.llm.EmotionCauseLLM` over the loaded causal LM, with the construction parameters."""
        from hf_ecpe.llm.inference import EmotionCauseLLM

        settings = dict(self._llm_settings)
        labels = settings.pop("labels", None)
        if not labels:
            raise ValueError(
                f"the emotion-cause pipeline got a causal LM ({type(self.model).__name__}) but no emotion categories: "
                "pass labels=[...], the categories it was trained with (listed in the adapter's metrics.json; e.g. "
                "hf_ecpe.llm.corpus_labels('semeval2024_ecac'))"
            )
        pair_only = sorted(key for key in (*self._preprocess_params, *self._postprocess_params) if key != "language")
        if pair_only:
            raise TypeError(f"{pair_only} are parameters of pair models; the LLM backend does not use them")
        if self._batch_size is not None:
            settings["batch_size"] = self._batch_size
        return EmotionCauseLLM(
            self.model,
            tokenizer=self.tokenizer,
            labels=labels,
            language=self._preprocess_params.get("language"),
            **settings,
        )

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(inputs, (list, tuple)) and len(inputs) == 0:
            return []
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if self.llm is not None:
            if args or kwargs:
                raise TypeError(
                    f"the LLM backend of the emotion-cause pipeline takes no call parameters, got "
                    f"{sorted(kwargs) or list(args)}; set labels / max_new_tokens / batch_size / language when "
                    "building the pipeline"
                )
            return self.llm(inputs)
        return super().__call__(inputs, *args, **kwargs)

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
        **kwargs: Any,
    ) -> tuple[dict, dict, dict]:
        llm_keys = [key for key in kwargs if key in ("labels", "max_new_tokens")]
        if llm_keys and not getattr(self, "_initialising", False):
            raise TypeError(f"{llm_keys} are LLM-backend settings: give them when building the pipeline")
        for key in llm_keys:
            self._llm_settings[key] = kwargs.pop(key)
        if kwargs:
            raise TypeError(f"unknown emotion-cause pipeline parameter(s) {sorted(kwargs)}")
        preprocess: dict[str, Any] = {}
        postprocess: dict[str, Any] = {}
        if language is not None:
            preprocess["language"] = language
        if max_unit_tokens is not None:
            preprocess["max_unit_tokens"] = max_unit_tokens
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

    def preprocess(
        self,
        inputs: Any,
        language: str | None = None,
        lexicon: frozenset[str] | None = None,
        max_unit_tokens: int | None = None,
    ) -> dict[str, Any]:
        from hf_ecpe.data.collators import ClauseCollator

        units, speakers = normalise_input(inputs, language)
        empty = len(units) == 0
        model_units = list(units)
        if speakers is not None and getattr(self.model.config, "prepend_speaker", False):
            model_units = [f"{speaker}: {unit}" for speaker, unit in zip(speakers, units)]
        if empty:  # a placeholder document keeps the batch layout; its outputs are discarded in postprocess
            model_units = ["."]
        batch = ClauseCollator(self.tokenizer, max_unit_tokens=max_unit_tokens)([{"units": model_units}])
        model_inputs = {
            key: batch[key]
            for key in ("input_ids", "attention_mask", "token_type_ids", "unit_token_index", "unit_mask")
            if key in batch
        }
        if "speaker_ids" in inspect.signature(self.model.forward).parameters:  # conversational pair scorers
            from hf_ecpe.data.multimodal import speaker_ids_for

            ids = speaker_ids_for({"units": model_units, "speakers": speakers}) if speakers and not empty else None
            model_inputs["speaker_ids"] = torch.tensor([ids or [-1] * len(model_units)], dtype=torch.long)
        flags = lexicon_mask_for(model_units, lexicon) if lexicon and not empty else [False] * len(model_units)
        model_inputs["lexicon_mask"] = torch.tensor([flags], dtype=torch.bool)
        model_inputs["meta"] = {"units": units, "empty": empty, "has_lexicon": lexicon is not None}
        return model_inputs

    def _forward(self, model_inputs: dict[str, Any]) -> dict[str, Any]:
        meta = model_inputs.pop("meta")
        lexicon_mask = model_inputs.pop("lexicon_mask")
        outputs = self.model(**model_inputs)
        result = {
            "pair_logits": pair_margins(outputs["pair_logits"]),  # binary logits, also for 2-way pair scorers
            "candidate_mask": outputs["candidate_mask"],
            "emotion_logits": outputs["emotion_logits"],
            "cause_logits": outputs["cause_logits"],
            "unit_mask": model_inputs["unit_mask"],
            "lexicon_mask": lexicon_mask,
            "meta": [meta] if isinstance(meta, Mapping) else list(meta),
        }
        if outputs.get("category_logits") is not None:  # models with a category head
            result["category_logits"] = outputs["category_logits"]
        return result

    def postprocess(
        self,
        model_outputs: dict[str, Any],
        decoding: str | None = None,
        threshold: float | None = None,
        top_k: int | None = None,
        unit_threshold: float = 0.5,
        return_pair_scores: bool = False,
    ) -> dict[str, Any]:
        meta = model_outputs["meta"]
        meta = meta[0] if isinstance(meta, list) else meta
        units = list(meta["units"])
        if meta["empty"]:
            result = empty_result()
            if return_pair_scores:
                result["pair_scores"] = []
            return result
        n = len(units)
        pair_logits = model_outputs["pair_logits"][:, :n, :n].float()
        candidate_mask = model_outputs["candidate_mask"][:, :n, :n].bool()
        unit_mask = model_outputs["unit_mask"][:, :n].bool()
        lexicon_mask = model_outputs["lexicon_mask"][:, :n].bool() if meta["has_lexicon"] else None
        decoded = self.model.decode_pairs(
            pair_logits, candidate_mask, strategy=decoding, threshold=threshold, top_k=top_k, lexicon_mask=lexicon_mask
        )[0]
        pairs = [
            {
                "emotion_index": int(e),
                "cause_index": int(c),
                "emotion_text": units[int(e)],
                "cause_text": units[int(c)],
                "score": float(p),
            }
            for e, c, p in decoded
        ]
        result: dict[str, Any] = {"units": units, "pairs": pairs}
        for key, logits_key in (("emotions", "emotion_logits"), ("causes", "cause_logits")):
            selected = self.model.decode_units(model_outputs[logits_key][:, :n].float(), unit_mask, unit_threshold)[0]
            result[key] = [{"index": int(i), "text": units[int(i)], "score": float(p)} for i, p in selected]
        if model_outputs.get("category_logits") is not None:
            categories = self.model.decode_categories(model_outputs["category_logits"][:, :n].float(), unit_mask)[0]
            for entry in (*pairs, *result["emotions"]):
                index = entry["emotion_index"] if "emotion_index" in entry else entry["index"]
                entry["category"], entry["category_score"] = categories[index]
        if return_pair_scores:
            probabilities = torch.sigmoid(pair_logits[0])
            result["pair_scores"] = [
                [float(probabilities[i, j]) if bool(candidate_mask[0, i, j]) else None for j in range(n)]
                for i in range(n)
            ]
        return result
