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

Output per document (JSON-serialisable): the pair model's ``predict`` result
(:class:`hf_ecpe.prediction.PairPrediction`, whose docstring is the schema) as ``to_dict()`` — ``units``, ``pairs``
(best first), ``emotions``, ``causes`` — plus ``offsets`` (raw-text inputs: each unit's ``[start, end)`` characters)
and ``id`` (inputs that have one), before ``pair_scores``.

``pairs`` come from the model's ``decode_pairs`` (its configured strategy unless ``decoding`` / ``threshold`` /
``top_k`` are given; ``lexicon`` — a set of words — restricts the 2nd and 3rd pair of the ``"reference"`` strategy
to emotion units that contain one of the words). ``emotions`` are the units the emotion head selects
(σ > ``unit_threshold``, default 0.5) and the emotion units of the pairs; ``causes`` the cause units of the pairs.
``return_pair_scores=True`` adds ``"pair_scores"``: the n × n matrix of
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

import importlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from transformers import Pipeline

from hf_ecpe.data.inputs import ACCEPTED_KEYS
from hf_ecpe.data.inputs import normalise_input as normalise_input  # re-exported (hf_ecpe.pipelines)

# Re-exported: the pieces of a long document moved to hf_ecpe.prediction with the rest of predict. The pair
# pipeline reads AUTO_MAX_UNITS here at call time (the default piece size when max_units is not given).
from hf_ecpe.prediction import AUTO_MAX_UNITS, stitch_pieces, unit_pieces  # noqa: F401

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
            # A method may serve its kind with its own subclass: MethodSpec.extra["pipeline_class"] (import path).
            from hf_ecpe.methods import method_for, resolve

            spec = method_for(model)
            custom = spec.extra.get("pipeline_class") if spec is not None else None
            cls = resolve(custom or PIPELINE_CLASSES[kind])
        return super().__new__(cls)


def _is_batch(inputs: Any) -> bool:
    """A list / tuple of documents, or a ``datasets.Dataset`` of canonical rows, is a batch."""
    if isinstance(inputs, (list, tuple)):
        return True
    try:
        from datasets import Dataset
    except ImportError:  # pragma: no cover - datasets is a core dependency
        return False
    return isinstance(inputs, Dataset)


#: The pipeline class serving each output kind, as import paths (one file per pipeline class; they subclass
#: EmotionCausePipeline, so they are imported when a pipeline is built, not by this module).
PIPELINE_CLASSES: dict[str, str] = {
    "pairs": "hf_ecpe.pipelines.pairs:PairPipeline",
    "triplets": "hf_ecpe.pipelines.triplets:TripletPipeline",
}
#: Names this module used to define, now in the module of their pipeline class.
_MOVED = {"PairPipeline": "pairs", "PreparedDocument": "pairs", "TripletPipeline": "triplets"}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        return getattr(importlib.import_module(f"{__package__}.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
