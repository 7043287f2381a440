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
``max_units=N`` encodes a document longer than N units in overlapping pieces of N units instead (each starting N // 2
units before the previous one ends) and takes each unit's and pair's scores from the piece where it has the most
context; pairs more than N // 2 units apart may share no piece and are then not candidates. Without ``max_units``,
documents longer than ``AUTO_MAX_UNITS`` (256) units are encoded in pieces of 256 units, so that memory and time grow
linearly with the length (a quadratic pair matrix is never built for them). Models trained on short
documents lose recall on long ones: the default's pair F1 is 0.425 on validation documents, 0.143 on three of them
joined into one input, 0.309 on the same joined inputs with ``max_units=8`` (0.411 on single documents;
`benchmarks/default_probes.py`).
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

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import Pipeline

from hf_ecpe.data.inputs import ACCEPTED_KEYS, normalise_input_with_offsets
from hf_ecpe.data.inputs import normalise_input as normalise_input  # re-exported (hf_ecpe.pipelines)
from hf_ecpe.modeling_utils import pair_margins, plan_unit_windows

#: The logit given to a pair no piece of a split document scores (P(pair) = 0 in float32).
NOT_A_CANDIDATE_LOGIT = -1e4
#: A document of more units is encoded in overlapping pieces of this many units when ``max_units`` is not given: the
#: models score (N, N) pair matrices, whose memory and time grow with the square of the length (5,000 clauses
#: needed 25.6 GB), while pieces keep both linear. 256 units is 40 times the median training document, so no
#: ordinary input is split.
AUTO_MAX_UNITS = 256

DECODING_STRATEGIES = ("reference", "threshold")
_ACCEPTED_KEYS = ACCEPTED_KEYS
#: Construction settings of the triplet-LLM pipeline.
TRIPLET_SETTINGS = ("labels", "max_new_tokens", "constrained", "no_repeat_lines", "instruction")
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


def output_kind_of(model: Any, labels: Any = None, tokenizer: Any = None) -> str:
    """What ``model`` returns, as its method declares it (:attr:`hf_ecpe.methods.MethodSpec.kind`): ``"pairs"``
    for hf_ecpe pair models; ``"triplets"`` for a causal LM that is an instruction-tuned triplet extractor — an
    adapter trained by ``hf_ecpe.scripts.sft`` (its folder records the categories) or any causal LM given
    ``labels=[...]``. Anything else is not an hf_ecpe model: ``TypeError`` saying so."""
    from hf_ecpe.methods import method_for

    spec = method_for(model)
    if spec is not None:
        return spec.kind
    if _is_causal_lm(model) and (labels or recorded_labels(model) or recorded_labels(_folder_of(tokenizer))):
        return "triplets"
    name = type(model).__name__
    hint = (
        " If it is an instruction-tuned triplet LLM, pass labels=[...] (the categories it was trained with)."
        if _is_causal_lm(model)
        else ""
    )
    raise TypeError(
        f"{name} is not an hf_ecpe model: the emotion-cause pipeline serves checkpoints saved by hf_ecpe (A2NetModel, "
        f"MultimodalPairScorerModel, ... — trained with hf_ecpe.scripts.train) and triplet LLM adapters trained with "
        f"hf_ecpe.scripts.sft.{hint}"
    )


def _is_causal_lm(model: Any) -> bool:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    config = getattr(model, "config", None)
    base = getattr(model, "base_model", None)
    if type(model).__name__ in ("PeftModel", "PeftModelForCausalLM"):
        return True
    names = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
    return type(model).__name__ in names or (base is not None and type(base).__name__ in names and config is not None)


def _model_folders(model: Any) -> list[Path]:
    """Folders a loaded model came from (its ``name_or_path`` and, with a PEFT adapter, the adapter's path)."""
    candidates = [getattr(model, "name_or_path", None), getattr(getattr(model, "config", None), "_name_or_path", None)]
    for peft_config in (getattr(model, "peft_config", None) or {}).values():
        candidates.append(getattr(peft_config, "_hf_ecpe_adapter_path", None))
    candidates.append(getattr(model, "_hf_ecpe_adapter_path", None))
    return [Path(c) for c in candidates if c and Path(str(c)).is_dir()]


def _folder_of(tokenizer: Any) -> Path | None:
    """The folder a tokenizer was loaded from (for an adapter: the adapter folder, where the SFT run wrote it)."""
    name = getattr(tokenizer, "name_or_path", None)
    return Path(name) if name and Path(str(name)).is_dir() else None


def recorded_labels(model_or_folder: Any) -> list[str] | None:
    """The emotion categories an SFT run recorded in its output folder (``metrics.json``'s ``labels``), or None."""
    import json

    if model_or_folder is None:
        return None
    folders = [Path(model_or_folder)] if isinstance(model_or_folder, (str, Path)) else _model_folders(model_or_folder)
    for folder in folders:
        record = folder / "metrics.json"
        if record.is_file():
            try:
                labels = json.loads(record.read_text(encoding="utf-8")).get("labels")
            except (ValueError, AttributeError):
                continue
            if labels:
                return list(labels)
    return None


def model_languages(model: Any) -> list[str]:
    """The language codes ``model`` was trained on: ``config.language`` when set, else the ``language`` of the model
    card (``README.md`` metadata) in the folder it was loaded from; ``[]`` when neither says."""
    from huggingface_hub.repocard import metadata_load

    declared = getattr(getattr(model, "config", None), "language", None)
    if not declared:
        for folder in _model_folders(model):
            card = folder / "README.md"
            if card.is_file():
                try:
                    declared = (metadata_load(card) or {}).get("language")
                except (ValueError, OSError):  # a card without valid YAML metadata says nothing
                    declared = None
                if declared:
                    break
    if not declared:
        return []
    return [str(code) for code in ([declared] if isinstance(declared, str) else declared)]


def language_mismatch(languages: Sequence[str], texts: Iterable[str]) -> str | None:
    """A warning when the ``texts`` (one per document) are written in a script none of the model's ``languages``
    is written in (e.g. Chinese or Arabic text into an English model), else ``None``. Languages without a known
    script (:data:`hf_ecpe.data.clauses.LANGUAGE_SCRIPTS`) and texts with too few letters are not judged."""
    from hf_ecpe.data.clauses import LANGUAGE_SCRIPTS, dominant_script

    expected = {LANGUAGE_SCRIPTS.get(code.split("-")[0].lower()) for code in languages}
    if not languages or None in expected:
        return None
    found: dict[str, int] = {}
    total = 0
    for text in texts:
        total += 1
        script = dominant_script(text)
        if script is not None and script not in expected:
            found[script] = found.get(script, 0) + 1
    if not found:
        return None
    written = ", ".join(f"{script} script ({count} of {total} documents)" for script, count in sorted(found.items()))
    return (
        f"the model's language is {'/'.join(languages)} ({'/'.join(sorted(expected))} script), but the input is "
        f"written in {written}; the model cannot read those, so their results are empty or meaningless: use a model "
        "trained on their language"
    )


class EmotionCausePipeline(Pipeline):
    """``pipeline("emotion-cause")``: builds the pipeline class of the model's output kind (see the module doc).

    Constructing ``EmotionCausePipeline(model=...)`` returns a :class:`PairPipeline` for pair models or a
    :class:`TripletPipeline` for triplet LLMs, chosen by :func:`output_kind_of` — the kind the model's method declares.
    """

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False

    def __new__(cls, *args: Any, **kwargs: Any) -> EmotionCausePipeline:
        from hf_ecpe.devices import check_device

        check_device(kwargs.get("device"))  # device=0 without an accelerator: an error, not a silent CPU run
        if cls is EmotionCausePipeline:
            model = kwargs.get("model", args[0] if args else None)
            kind = output_kind_of(model, labels=kwargs.get("labels"), tokenizer=kwargs.get("tokenizer"))
            if kind not in PIPELINE_CLASSES:
                raise TypeError(
                    f"{type(model).__name__} returns {kind!r}, which the emotion-cause pipeline does not serve "
                    f"(it serves {sorted(PIPELINE_CLASSES)})"
                )
            cls = PIPELINE_CLASSES[kind]
            # A method may serve its kind with its own subclass: MethodSpec.extra["pipeline_class"] (import path).
            from hf_ecpe.methods import method_for, resolve

            spec = method_for(model)
            custom = spec.extra.get("pipeline_class") if spec is not None else None
            if custom:
                cls = resolve(custom)
        return super().__new__(cls)


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

    def piece(self, first: int, end: int) -> PreparedDocument:
        """Units ``first .. end - 1`` as a document of their own (the whole document when they are all of it)."""
        if first == 0 and end == len(self.units):
            return self
        return PreparedDocument(
            units=self.units[first:end],
            model_units=self.model_units[first:end],
            speakers=self.speakers[first:end] if self.speakers is not None else None,
            offsets=None,
            doc_id=None,
            lexicon_flags=self.lexicon_flags[first:end] if self.lexicon_flags is not None else None,
        )


def unit_pieces(num_units: int, max_units: int | None) -> list[tuple[int, int]]:
    """The ``(first, end)`` unit ranges encoded separately: the whole document when ``max_units`` is ``None`` or
    the document is no longer, else pieces of ``max_units`` units, each starting ``max_units // 2`` units before
    the previous one ends (so every pair at most ``max_units // 2`` units apart lies inside one piece)."""
    if max_units is None or num_units <= max_units:
        return [(0, num_units)]
    windows, _ = plan_unit_windows(list(range(num_units)), num_units, max_units, max_units // 2)
    return windows


def rows_of(outputs: dict[str, Any], row: int, n: int) -> dict[str, Any]:
    """Batch row ``row`` of :meth:`PairPipeline.run_model`'s outputs, cut to its ``n`` units, as a batch of one."""
    sliced = {}
    for key, value in outputs.items():
        if key in ("pair_logits", "candidate_mask"):
            sliced[key] = value[row : row + 1, :n, :n]
        else:  # per-unit tensors: (B, N) or (B, N, C)
            sliced[key] = value[row : row + 1, :n]
    return sliced


def stitch_pieces(piece_outputs: dict[tuple[int, int], dict[str, Any]], n: int) -> dict[str, Any]:
    """One document's outputs from the outputs of its pieces (``{(first, end): rows_of(...)}``).

    A unit's emotion / cause / category logits come from the piece where it has the most context on both sides
    (:func:`plan_unit_windows`' rule); a pair's logit from the piece containing both units where the nearer of the
    two is farthest from that piece's edges (ties: the earlier piece). Pairs that share no piece are not candidates.

    A single piece is returned as it is (``(1, n, n)`` pair tensors). Several pieces give the pair tensors as a
    *band* instead, so that memory and time grow linearly with ``n``: ``pair_logits`` / ``candidate_mask``
    `(1, n, W)` with ``[0, i, c]`` the pair (emotion i, cause ``i + c + cause_offset``), where ``cause_offset`` (an
    int, also returned) and W span the cause offsets of every candidate of every piece.
    """
    if len(piece_outputs) == 1:
        return next(iter(piece_outputs.values()))
    ranges = sorted(piece_outputs)
    template = piece_outputs[ranges[0]]
    lowest, highest = 0, 0
    for piece in piece_outputs.values():
        emotion, cause = piece["candidate_mask"][0].nonzero(as_tuple=True)
        if len(emotion):
            lowest, highest = min(lowest, int((cause - emotion).min())), max(highest, int((cause - emotion).max()))
    width = highest - lowest + 1
    stitched: dict[str, Any] = {
        "pair_logits": torch.full((1, n, width), NOT_A_CANDIDATE_LOGIT),
        "candidate_mask": torch.zeros((1, n, width), dtype=template["candidate_mask"].dtype),
        "unit_mask": torch.ones((1, n), dtype=template["unit_mask"].dtype),
        "cause_offset": lowest,
    }
    unit_keys = [key for key in ("emotion_logits", "cause_logits", "category_logits") if key in template]
    for key in unit_keys:
        stitched[key] = torch.zeros((1, n, *template[key].shape[2:]), dtype=template[key].dtype)
    unit_context = torch.full((n,), -1.0)  # per unit: the context of the piece its scores come from so far
    pair_context = torch.full((n, width), -1.0)
    for first, end in ranges:
        piece, size = piece_outputs[(first, end)], end - first
        local = torch.arange(size)
        left = torch.full((size,), float(n)) if first == 0 else local.float()
        right = torch.full((size,), float(n)) if end == n else (size - 1 - local).float()
        context = torch.minimum(left, right)  # units to the nearer piece edge; a document edge counts as n
        better = context > unit_context[first:end]
        unit_context[first:end][better] = context[better]
        for key in unit_keys:
            stitched[key][0, first:end][better] = piece[key][0, :size][better]
        cause = local[:, None] + lowest + torch.arange(width)[None, :]  # (size, W): the local cause of each cell
        inside = (cause >= 0) & (cause < size)
        cause = cause.clamp(0, size - 1)
        cell_context = torch.minimum(context[:, None], context[cause]).masked_fill(~inside, -2.0)
        better = cell_context > pair_context[first:end]
        pair_context[first:end][better] = cell_context[better]
        stitched["pair_logits"][0, first:end][better] = piece["pair_logits"][0].gather(1, cause)[better]
        stitched["candidate_mask"][0, first:end][better] = piece["candidate_mask"][0].gather(1, cause)[better]
    return stitched


class PairPipeline(EmotionCausePipeline):
    """Emotion–cause pairs from an hf_ecpe pair model over clauses or utterances (see the module docstring).

    A call over many documents sorts them by length, encodes each batch in one collator call and one forward pass,
    and returns the results in the input order (``batch_size``: documents per forward pass).
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
        self._collators: dict[int | None, Any] = {}

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
        prepare = {key: value for key, value in preprocess.items() if key != "max_units"}
        prepared = [self.prepare(document, **prepare) for document in documents]
        self._warn_on_language_mismatch(prepared)
        results: list[dict[str, Any] | None] = [None] * len(prepared)
        for i, document in enumerate(prepared):
            if not document.units:
                results[i] = self._empty(document, postprocess.get("return_pair_scores", False))
        # One encoder pass per piece: the whole document, or overlapping pieces of max_units units (AUTO_MAX_UNITS
        # for a very long document when max_units is not given, so that memory and time stay linear in its length).
        max_units = preprocess.get("max_units", AUTO_MAX_UNITS)
        pieces = [
            (i, first, end, document.piece(first, end))
            for i, document in enumerate(prepared)
            if document.units
            for first, end in unit_pieces(len(document.units), max_units)
        ]
        pieces.sort(key=lambda piece: piece[3].size)
        piece_outputs: dict[int, dict[tuple[int, int], dict[str, Any]]] = {}  # document -> {(first, end): outputs}
        for start in range(0, len(pieces), size):
            chunk = pieces[start : start + size]
            outputs = self.run_model(self.collate([piece[3] for piece in chunk], preprocess.get("max_unit_tokens")))
            for row, (i, first, end, _) in enumerate(chunk):
                piece_outputs.setdefault(i, {})[(first, end)] = rows_of(outputs, row, end - first)
        for i, own in piece_outputs.items():
            results[i] = self.decode(stitch_pieces(own, len(prepared[i].units)), 0, prepared[i], **postprocess)
        return results[0] if single else results

    def _warn_on_language_mismatch(self, documents: Sequence[PreparedDocument]) -> None:
        """One warning per call (not per document) when the documents are written in another script than the
        model's language (:func:`language_mismatch`)."""
        if not hasattr(self, "_model_languages"):
            self._model_languages = model_languages(self.model)
        message = language_mismatch(self._model_languages, (" ".join(d.units) for d in documents if d.units))
        if message is not None:
            warnings.warn(message, UserWarning, stacklevel=3)

    def prepare(
        self,
        inputs: Any,
        language: str | None = None,
        lexicon: frozenset[str] | None = None,
        max_unit_tokens: int | None = None,
    ) -> PreparedDocument:
        """Normalise one input (:func:`hf_ecpe.data.inputs.normalise_input_with_offsets`); raw text also gets the
        units' character offsets (from the splitter: each unit's own characters)."""
        units, speakers, offsets = normalise_input_with_offsets(inputs, language)
        model_units = list(units)
        if speakers is not None and getattr(self.model.config, "prepend_speaker", False):
            model_units = [f"{speaker}: {unit}" for speaker, unit in zip(speakers, units)]
        return PreparedDocument(
            units=units,
            model_units=model_units,
            speakers=speakers,
            offsets=offsets,
            doc_id=inputs.get("id") if isinstance(inputs, Mapping) else None,
            lexicon_flags=lexicon_mask_for(model_units, lexicon) if lexicon else None,
        )

    def collate(self, documents: Sequence[PreparedDocument], max_unit_tokens: int | None = None) -> dict[str, Any]:
        """Model inputs of a batch of prepared documents (one tokenizer call for all their units)."""
        from hf_ecpe.data.collators import ClauseCollator

        if max_unit_tokens not in self._collators:
            self._collators[max_unit_tokens] = ClauseCollator(self.tokenizer, max_unit_tokens=max_unit_tokens)
        batch = self._collators[max_unit_tokens]([{"units": document.model_units} for document in documents])
        model_inputs = {
            key: batch[key]
            for key in ("input_ids", "attention_mask", "token_type_ids", "unit_token_index", "unit_mask")
            if key in batch
        }
        if getattr(self.model.config, "supports_speaker_ids", False):  # declared by conversational pair scorers
            from hf_ecpe.data.multimodal import speaker_ids_for

            width = model_inputs["unit_mask"].shape[1]
            ids = torch.full((len(documents), width), -1, dtype=torch.long)
            for row, document in enumerate(documents):
                if document.speakers:
                    found = speaker_ids_for({"units": document.model_units, "speakers": document.speakers})
                    ids[row, : len(found)] = torch.tensor(found, dtype=torch.long)
            model_inputs["speaker_ids"] = ids
        return model_inputs

    def run_model(self, model_inputs: dict[str, Any]) -> dict[str, Any]:
        """One forward pass (inference mode, on the pipeline's device); the outputs decoding needs, on the CPU."""
        with self.device_placement(), torch.inference_mode():
            inputs = {key: value.to(self.device) for key, value in model_inputs.items()}
            outputs = self.model(**inputs)
        result = {
            "pair_logits": pair_margins(outputs["pair_logits"]).float().cpu(),  # binary logits, also for 2-way
            "candidate_mask": outputs["candidate_mask"].cpu(),
            "emotion_logits": outputs["emotion_logits"].float().cpu(),
            "cause_logits": outputs["cause_logits"].float().cpu(),
            "unit_mask": model_inputs["unit_mask"],
        }
        if outputs.get("category_logits") is not None:  # models with a category head
            result["category_logits"] = outputs["category_logits"].float().cpu()
        return result

    def decode(
        self,
        outputs: dict[str, Any],
        row: int,
        document: PreparedDocument,
        decoding: str | None = None,
        threshold: float | None = None,
        top_k: int | None = None,
        unit_threshold: float = 0.5,
        return_pair_scores: bool = False,
    ) -> dict[str, Any]:
        """The result of batch row ``row`` (see the module docstring for the schema and the consistency rule)."""
        units, n = document.units, len(document.units)
        cause_offset = outputs.get("cause_offset")  # None: (B, N, N) pair tensors; else a band (stitch_pieces)
        columns = n if cause_offset is None else outputs["pair_logits"].shape[2]
        pair_logits = outputs["pair_logits"][row : row + 1, :n, :columns]
        candidate_mask = outputs["candidate_mask"][row : row + 1, :n, :columns].bool()
        unit_mask = outputs["unit_mask"][row : row + 1, :n].bool()
        lexicon_mask = (
            torch.tensor([document.lexicon_flags], dtype=torch.bool) if document.lexicon_flags is not None else None
        )
        decoded = self.model.decode_pairs(
            pair_logits, candidate_mask, strategy=decoding, threshold=threshold, top_k=top_k, lexicon_mask=lexicon_mask
        )[0]
        if cause_offset is not None:  # band column -> cause index
            decoded = [(emotion, emotion + column + cause_offset, p) for emotion, column, p in decoded]
        emotion_probabilities = torch.sigmoid(outputs["emotion_logits"][row, :n]).tolist()
        cause_probabilities = torch.sigmoid(outputs["cause_logits"][row, :n]).tolist()
        categories = None
        if outputs.get("category_logits") is not None and hasattr(self.model, "decode_categories"):
            categories = self.model.decode_categories(outputs["category_logits"][row : row + 1, :n], unit_mask)[0]
        pairs = []
        for emotion, cause, probability in decoded:
            pair = {
                "emotion_index": int(emotion),
                "cause_index": int(cause),
                "emotion_text": units[int(emotion)],
                "cause_text": units[int(cause)],
                "score": float(probability),
            }
            if categories is not None:
                pair["category"], pair["category_score"] = categories[int(emotion)]
            pairs.append(pair)
        # Consistent by construction: an emotion unit of a returned pair is in `emotions` (with its causes); a unit
        # the emotion head selects without a returned pair is listed with causes [] (no cause passed the threshold).
        head_emotions = {
            index
            for index, _ in self.model.decode_units(
                outputs["emotion_logits"][row : row + 1, :n], unit_mask, unit_threshold
            )[0]
        }
        emotion_units = sorted(head_emotions | {pair["emotion_index"] for pair in pairs})
        causes_of: dict[int, list[int]] = {}
        emotions_of: dict[int, list[int]] = {}
        for pair in pairs:  # grouped once (a long document has thousands of units and pairs), in pair order
            causes_of.setdefault(pair["emotion_index"], []).append(pair["cause_index"])
            emotions_of.setdefault(pair["cause_index"], []).append(pair["emotion_index"])
        emotions = []
        for index in emotion_units:
            entry = {
                "index": index,
                "text": units[index],
                "score": float(emotion_probabilities[index]),
                "causes": causes_of.get(index, []),
            }
            if categories is not None:
                entry["category"], entry["category_score"] = categories[index]
            emotions.append(entry)
        causes = []
        for index in sorted({pair["cause_index"] for pair in pairs}):
            causes.append(
                {
                    "index": index,
                    "text": units[index],
                    "score": float(cause_probabilities[index]),
                    "emotions": emotions_of[index],
                }
            )
        result: dict[str, Any] = {"units": units, "pairs": pairs, "emotions": emotions, "causes": causes}
        if document.offsets is not None:
            result["offsets"] = document.offsets
        if document.doc_id is not None:
            result["id"] = document.doc_id
        if return_pair_scores:
            probabilities = torch.sigmoid(pair_logits[0])
            if cause_offset is None:
                result["pair_scores"] = [
                    [float(probabilities[i, j]) if bool(candidate_mask[0, i, j]) else None for j in range(n)]
                    for i in range(n)
                ]
            else:
                scores: list[list[float | None]] = [[None] * n for _ in range(n)]
                for i, column in candidate_mask[0].nonzero().tolist():
                    scores[i][i + column + cause_offset] = float(probabilities[i, column])
                result["pair_scores"] = scores
        return result

    @staticmethod
    def _empty(document: PreparedDocument, return_pair_scores: bool) -> dict[str, Any]:
        result = empty_result()
        if document.offsets is not None:
            result["offsets"] = []
        if document.doc_id is not None:
            result["id"] = document.doc_id
        if return_pair_scores:
            result["pair_scores"] = []
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
        document = self.prepare(inputs, **params)
        model_inputs = self.collate([document], params.get("max_unit_tokens")) if document.units else {}
        return {"model_inputs": model_inputs, "document": document}

    def _forward(self, inputs: dict[str, Any]) -> dict[str, Any]:
        outputs = self.run_model(inputs["model_inputs"]) if inputs["document"].units else None
        return {"outputs": outputs, "document": inputs["document"]}

    def postprocess(self, model_outputs: dict[str, Any], **params: Any) -> dict[str, Any]:
        document = model_outputs["document"]
        if not document.units:
            return self._empty(document, params.get("return_pair_scores", False))
        return self.decode(model_outputs["outputs"], 0, document, **params)


def _is_batch(inputs: Any) -> bool:
    """A list / tuple of documents, or a ``datasets.Dataset`` of canonical rows, is a batch."""
    if isinstance(inputs, (list, tuple)):
        return True
    try:
        from datasets import Dataset
    except ImportError:  # pragma: no cover - datasets is a core dependency
        return False
    return isinstance(inputs, Dataset)


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


#: The pipeline class serving each output kind.
PIPELINE_CLASSES: dict[str, type[EmotionCausePipeline]] = {"pairs": PairPipeline, "triplets": TripletPipeline}
