"""ONNX Runtime serving of hf_ecpe pair models: :func:`export_onnx` writes a folder, :class:`OnnxPairModel` runs it.

``python -m hf_ecpe.scripts.export --model default --output DIR [--quantize int8]`` writes ``DIR`` with
``model.onnx`` (the WHOLE pair model: encoder, unit pooling, context layer, unit / category heads and pair head in one
graph), the tokenizer, the model's ``config.json``, ``onnx_config.json`` (what the graph takes and how it was made)
and a ``README.md`` card. ``hf_ecpe.pipeline("emotion-cause", model=DIR)`` serves it: the pipeline's own code
(normalisation, clause splitting, offsets) and the PyTorch model class's own ``predict`` (collation, pieces,
``decode_pairs`` / ``decode_units`` / ``decode_categories``) run unchanged; only the model forward is an onnxruntime
session.

The graph boundary (:class:`PairModelGraph`)::

    input_ids, attention_mask, token_type_ids   (W, Tw)  encoder windows (W = B, the documents themselves, unless a
                                                         document is longer than the encoder window)
    token_source                                (B, T)   per document token, its row-major position in the windows
    document_attention_mask                     (B, T)
    unit_token_index, unit_mask                 (B, N)   as ClauseCollator builds them
    speaker_ids                                 (B, N)   conversational models; -1 = unknown
    -> emotion_logits, cause_logits (B, N), pair_logits (B, N, N, 2), candidate_mask (B, N, N) bool,
       category_logits (B, N, C) (models with a category head)

Every axis is dynamic. **Long inputs**: the model's window planning (``_encode_windowed``: Python loops over the
documents) does not trace, so it stays in Python — :meth:`OnnxPairModel.encoder_windows` runs the PyTorch class's
own ``_encode_windowed`` with an "encoder" that returns token positions instead of states, which yields the windows
and ``token_source``; the graph then encodes the windows and gathers each document's token states from them, exactly
as the PyTorch model does. A batch that fits the window takes the model's one-pass path (``token_source`` is the
identity).

``--quantize int8``: onnxruntime's dynamic quantization (int8 weights, activations quantized per call) of the
graph's MatMul / Gemm weights (:data:`INT8_SETTINGS`); the benchmark ``benchmarks/onnx_speed.py`` measures its speed
and pair F1 against fp32.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

#: The file that marks a folder as an hf_ecpe ONNX export.
SERVING_FILE = "onnx_config.json"
MODEL_FILE = "model.onnx"
FORMAT = "hf_ecpe-onnx"
FORMAT_VERSION = 1
OPSET = 17
INPUT_NAMES = (
    "input_ids",
    "attention_mask",
    "token_type_ids",
    "token_source",
    "document_attention_mask",
    "unit_token_index",
    "unit_mask",
    "speaker_ids",
)
OUTPUT_NAMES = ("emotion_logits", "cause_logits", "pair_logits", "candidate_mask", "category_logits")
DYNAMIC_AXES = {
    **{name: {0: "windows", 1: "window_tokens"} for name in ("input_ids", "attention_mask", "token_type_ids")},
    **{name: {0: "batch", 1: "tokens"} for name in ("token_source", "document_attention_mask")},
    **{name: {0: "batch", 1: "units"} for name in ("unit_token_index", "unit_mask", "speaker_ids")},
    "emotion_logits": {0: "batch", 1: "units"},
    "cause_logits": {0: "batch", 1: "units"},
    "pair_logits": {0: "batch", 1: "units", 2: "cause_units"},
    "candidate_mask": {0: "batch", 1: "units", 2: "cause_units"},
    "category_logits": {0: "batch", 1: "units"},
}
#: Quantization choices of :func:`export_onnx`.
QUANTIZATIONS = ("int8",)
#: onnxruntime ``quantize_dynamic`` settings of ``--quantize int8``, chosen by ``benchmarks/onnx_speed.py``: signed
#: int8 weights per output channel with ``reduce_range`` (7-bit weights: on CPUs without VNNI, such as AVX2-only ones,
#: onnxruntime's u8 x s8 kernels can saturate with 8-bit weights, and the full range lost 0.016 pair F1 on ECF), every
#: MatMul / Gemm of the graph (encoder, context projections and heads).
INT8_SETTINGS: dict[str, Any] = {
    "weight_type": "QInt8",
    "per_channel": True,
    "reduce_range": True,
    "op_types": ("MatMul", "Gemm"),
}
#: The methods whose models export, and the output class their forward returns.
SUPPORTED_METHODS = {"pair_scorer": "MultimodalPairScorerOutput"}
#: Why the other methods do not export (one line each, for the CLI's error).
UNSUPPORTED_REASONS = {
    "a2net": "A2Net's partition filter runs a Python loop with one step per unit, which tracing would freeze at the "
    "example's number of units",
    "triplet_llm": "the triplet LLM generates text token by token (serve it with the PyTorch pipeline)",
    "empathy": "the empathetic-response generator is a sequence-to-sequence model with its own pipeline",
    "kd_ecs_student": "KD-ECS extracts spans with its own pipeline and prompt-based encoder",
    "kd_ecs_teacher": "the KD-ECS teacher is a training-time model that reads gold emotions",
}
#: Methods of the PyTorch model class that the ONNX model uses as they are (prediction, decoding, input checks).
DELEGATED_METHODS = ("predict", "decode_pairs", "decode_units", "decode_categories", "_default_top_k", "_unit_inputs")
#: Sample documents traced and checked at export time (any tokenizer: unknown words become [UNK]).
EXAMPLE_DOCUMENTS = (
    ["i was so happy", "because i passed the exam", "today"],
    ["she felt sad", "when her dog died"],
)
CHECK_DOCUMENTS = (
    ["he is angry", "that they lost the game", "oh no", "we were surprised", "to see snow in july", "terrible"],
    ["my friend is afraid of the dark"],
    ["i lost my job today", "and i got a new puppy", "i was so happy"],
)


# ---------------------------------------------------------------------------------------------------------------
# Folders and models
# ---------------------------------------------------------------------------------------------------------------


def is_onnx_folder(path: str | os.PathLike | None) -> bool:
    """Whether ``path`` is a folder written by :func:`export_onnx` (it holds ``onnx_config.json``)."""
    return path is not None and isinstance(path, (str, os.PathLike)) and (Path(path) / SERVING_FILE).is_file()


def resolve_model(model: str | os.PathLike) -> Path:
    """``"default"`` → the embedded default; a shipped model's name → its folder; else an existing folder."""
    from hf_ecpe.defaults import resolve_model_name, shipped_models

    shipped = shipped_models()
    path = Path(resolve_model_name(model))
    if not path.is_dir():
        raise FileNotFoundError(
            f"--model {model}: no such folder (a saved pair model folder, 'default' or a shipped model: "
            f"{sorted(shipped)})"
        )
    return path


def check_exportable(spec: Any, config: Any, where: str) -> None:
    """``ValueError`` (one line) unless the model of method ``spec`` with ``config`` exports to ONNX."""
    if spec is None or spec.name not in SUPPORTED_METHODS:
        name = getattr(spec, "name", None)
        reason = UNSUPPORTED_REASONS.get(name, "it is not an hf_ecpe pair model")
        display = getattr(spec, "display_name", "unknown")
        raise ValueError(
            f"{where} holds a {display} model ({name}); it does not export to ONNX: {reason}. ONNX export supports "
            f"{sorted(SUPPORTED_METHODS)} models (e.g. --model default)"
        )
    if getattr(config, "audio_dim", None) or getattr(config, "visual_dim", None):
        raise ValueError(
            f"{where} takes audio / visual features, which the emotion-cause pipeline does not serve; ONNX export "
            "supports text pair scorers"
        )


def _model_module(model_class: type) -> Any:
    return importlib.import_module(model_class.__module__)


class PairModelGraph(nn.Module):
    """What ``model.onnx`` computes (see the module docstring for the inputs): the pair model's encoder on the
    windows, each document's token states gathered from them, the model's unit pooling, then its ``score_pairs``
    (context layer, unit and category heads, pair head). Traced by :func:`export_onnx` in eval mode."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self._pool_units = _model_module(type(model)).pool_units

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
        token_source: torch.Tensor,
        document_attention_mask: torch.Tensor,
        unit_token_index: torch.Tensor,
        unit_mask: torch.Tensor,
        speaker_ids: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        hidden = self.model._run_encoder(input_ids, attention_mask, token_type_ids)  # (W, Tw, D)
        tokens = hidden.reshape(-1, hidden.size(-1))[token_source]  # (B, T, D)
        unit_mask = unit_mask.bool()
        states = self._pool_units(
            tokens, document_attention_mask, unit_token_index, unit_mask, self.model.config.unit_pooling
        )
        states = states * unit_mask[:, :, None].to(states.dtype)
        scores = self.model.score_pairs(states, unit_mask, speaker_ids)
        outputs = (scores.emotion_logits, scores.cause_logits, scores.pair_logits, scores.candidate_mask)
        return outputs + ((scores.category_logits,) if scores.category_logits is not None else ())


class OnnxPairModel:
    """A pair model whose forward is an onnxruntime session over a folder written by :func:`export_onnx`.

    It offers what the emotion-cause pipeline uses of a PyTorch pair model: ``config`` (the model's own config, so
    the pipeline picks the same pipeline class and settings), ``forward(**batch)`` returning the PyTorch model's
    output class with ``emotion_logits`` / ``cause_logits`` / ``pair_logits`` / ``candidate_mask`` /
    ``category_logits``, and the PyTorch class's ``predict`` / ``decode_pairs`` / ``decode_units`` /
    ``decode_categories`` (the same functions, bound to this object: ``predict`` runs the model module's
    :func:`~hf_ecpe.prediction.predict_pairs` copy with this forward). CPU only.

    Args:
        folder: the export folder.
        num_threads: onnxruntime intra-op threads (default: ``torch.get_num_threads()``, as the PyTorch pipeline).
        model_file: another graph file to run with the folder's settings (export-time checks).
    """

    device = torch.device("cpu")
    dtype = torch.float32

    def __init__(
        self, folder: str | os.PathLike, *, num_threads: int | None = None, model_file: str | os.PathLike | None = None
    ) -> None:
        import onnxruntime
        from transformers import AutoConfig

        from hf_ecpe.methods import method_for

        folder = Path(folder)
        self.serving_config = read_serving_config(folder)
        self.config = AutoConfig.from_pretrained(folder)
        spec = method_for(self.config)
        check_exportable(spec, self.config, str(folder))
        self._model_class = spec.model_class
        self._output_class = getattr(_model_module(spec.model_class), SUPPORTED_METHODS[spec.name])
        self.name_or_path = str(folder)
        self.max_window_tokens = self.serving_config["max_window_tokens"]
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(num_threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(
            str(model_file or folder / self.serving_config["model_file"]), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = [node.name for node in self.session.get_inputs()]
        self.input_types = {node.name: node.type for node in self.session.get_inputs()}
        self.output_names = [node.name for node in self.session.get_outputs()]

    def __getattr__(self, name: str) -> Any:
        # The PyTorch class's decoding / input-check methods, bound to this object (they read self.config).
        if name in DELEGATED_METHODS and "_model_class" in self.__dict__:
            return inspect.getattr_static(self._model_class, name).__get__(self, type(self))
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __repr__(self) -> str:
        quantization = self.serving_config.get("quantization") or "fp32"
        return f"OnnxPairModel({self.name_or_path!r}, {self._model_class.__name__}, {quantization})"

    # ----- what transformers' Pipeline calls on a model
    def to(self, *args: Any, **kwargs: Any) -> OnnxPairModel:
        device = kwargs.get("device", args[0] if args else "cpu")
        if isinstance(device, (str, torch.device)) and torch.device(device).type != "cpu":
            raise ValueError(f"OnnxPairModel runs on the CPU (onnxruntime's CPU provider), not on {device}")
        return self

    def eval(self) -> OnnxPairModel:
        return self

    def can_generate(self) -> bool:
        return False

    # ----- forward
    def __call__(self, **inputs: Any) -> Any:
        return self.forward(**inputs)

    def encoder_windows(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None,
        unit_token_index: torch.Tensor,
        unit_mask: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """The graph's encoder inputs and ``token_source`` for a batch, as the PyTorch model's ``encode_units``
        cuts it: one pass over the documents when the longest fits the encoder window, else the windows of the
        model's own ``_encode_windowed`` (run with a recording encoder whose "states" are token positions)."""
        lengths = attention_mask.sum(-1)
        longest = int(lengths.max())
        if self.max_window_tokens is None or longest <= self.max_window_tokens:
            batch = input_ids.size(0)
            return {
                "input_ids": input_ids[:, :longest],
                "attention_mask": attention_mask[:, :longest],
                "token_type_ids": token_type_ids[:, :longest] if token_type_ids is not None else None,
                "token_source": torch.arange(batch * longest).view(batch, longest),
            }
        windows: dict[str, torch.Tensor | None] = {}

        def record_windows(ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor | None) -> torch.Tensor:
            windows.update(input_ids=ids, attention_mask=mask, token_type_ids=types)
            return torch.arange(ids.numel(), dtype=torch.float64).view(*ids.shape, 1)  # exact up to 2**53

        planner = SimpleNamespace(
            max_window_tokens=self.max_window_tokens,
            config=self.config,
            encoder=SimpleNamespace(config=SimpleNamespace(pad_token_id=self.serving_config["pad_token_id"])),
            _run_encoder=record_windows,
        )
        source = self._model_class._encode_windowed(
            planner, input_ids, token_type_ids, lengths, unit_token_index, unit_mask
        )
        return {**windows, "token_source": source[..., 0].long()}

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        unit_token_index: torch.Tensor | None = None,
        unit_mask: torch.Tensor | None = None,
        speaker_ids: torch.Tensor | None = None,
        return_dict: bool | None = None,
    ) -> Any:
        """The PyTorch model's forward on a ``ClauseCollator`` batch (inference: no labels, no loss), through
        onnxruntime. Returns the model's output class (``MultimodalPairScorerOutput``) on the CPU."""
        attention_mask, unit_mask = self._unit_inputs(input_ids, attention_mask, unit_token_index, unit_mask)
        longest = int(attention_mask.sum(-1).max())
        feed = self.encoder_windows(input_ids, attention_mask, token_type_ids, unit_token_index, unit_mask)
        if feed["token_type_ids"] is None:  # what the encoder does without segment ids
            feed["token_type_ids"] = torch.zeros_like(feed["input_ids"])
        feed["document_attention_mask"] = attention_mask[:, :longest]
        feed["unit_token_index"] = unit_token_index
        feed["unit_mask"] = unit_mask
        feed["speaker_ids"] = speaker_ids if speaker_ids is not None else torch.full_like(unit_token_index, -1)
        arrays = {name: _as_numpy(feed[name], self.input_types[name]) for name in self.input_names}
        values = self.session.run(self.output_names, arrays)
        outputs = {name: torch.from_numpy(value) for name, value in zip(self.output_names, values)}
        result = self._output_class(**outputs)
        return result if return_dict is not False else result.to_tuple()


#: torch dtypes of the graph's input types.
_INPUT_DTYPES = {"tensor(bool)": torch.bool, "tensor(int64)": torch.long, "tensor(float)": torch.float32}


def _as_numpy(tensor: torch.Tensor, onnx_type: str) -> Any:
    """``tensor`` as the numpy array of the graph input's type (e.g. ``"tensor(bool)"``)."""
    return tensor.detach().cpu().to(_INPUT_DTYPES[onnx_type]).numpy()


def read_serving_config(folder: str | os.PathLike) -> dict[str, Any]:
    """``onnx_config.json`` of an export folder, checked (``ValueError`` for another format or version)."""
    path = Path(folder) / SERVING_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{folder} has no {SERVING_FILE}: not a folder written by hf_ecpe.scripts.export")
    serving = json.loads(path.read_text(encoding="utf-8"))
    if serving.get("format") != FORMAT or int(serving.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(
            f"{path}: format {serving.get('format')!r} version {serving.get('format_version')} is not one this "
            f"hf_ecpe reads ({FORMAT!r} up to version {FORMAT_VERSION}); re-export the model"
        )
    return serving


def require_onnxruntime(what: str) -> None:
    """``ImportError`` saying how to install the ``onnx`` extra when onnxruntime / onnx are missing."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        raise ImportError(f"{what} needs onnxruntime and onnx: pip install 'hf-ecpe[onnx]' ({err})") from err


def load_onnx_model(folder: str | os.PathLike, *, num_threads: int | None = None) -> tuple[OnnxPairModel, Any]:
    """``(OnnxPairModel, tokenizer)`` of an export folder (what ``hf_ecpe.pipeline`` passes to
    ``transformers.pipeline``). ``ImportError`` with the install command when onnxruntime is missing."""
    require_onnxruntime(f"{folder} is an ONNX export: serving it")
    from transformers import AutoTokenizer

    return OnnxPairModel(folder, num_threads=num_threads), AutoTokenizer.from_pretrained(folder)


# ---------------------------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------------------------


def example_batch(tokenizer: Any, documents: Sequence[Sequence[str]], model: Any) -> dict[str, torch.Tensor]:
    """A ``ClauseCollator`` batch of ``documents`` with the speaker ids the pipeline adds (alternating A / B)."""
    from hf_ecpe.data.collators import ClauseCollator

    batch = ClauseCollator(tokenizer)([{"units": list(units)} for units in documents])
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "unit_token_index", "unit_mask")}
    # the graph always takes segment ids; an encoder without them (MPNet, RoBERTa) ignores them, as forward() does
    inputs["token_type_ids"] = batch.get("token_type_ids", torch.zeros_like(batch["input_ids"]))
    if getattr(model.config, "supports_speaker_ids", False):
        speakers = torch.full_like(inputs["unit_token_index"], -1)
        for row, units in enumerate(documents):
            speakers[row, : len(units)] = torch.arange(len(units)) % 2
        inputs["speaker_ids"] = speakers
    return inputs


def pair_probability_difference(reference: Any, other: Any) -> tuple[float, float]:
    """``(max |ΔP(pair)|, fraction of candidate pairs whose P(pair) > 0.5 decision differs)`` of two outputs."""
    from hf_ecpe.modeling_utils import pair_probabilities

    mask = reference["candidate_mask"].bool()
    first = pair_probabilities(reference["pair_logits"].float())[mask]
    second = pair_probabilities(torch.as_tensor(other["pair_logits"]).float())[mask]
    if first.numel() == 0:
        return 0.0, 0.0
    flipped = ((first > 0.5) != (second > 0.5)).float().mean()
    return float((first - second).abs().max()), float(flipped)


def export_onnx(
    model: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    quantize: str | None = None,
    int8_settings: dict[str, Any] | None = None,
    tolerance: float = 1e-4,
) -> Path:
    """Export a saved pair model (a folder, ``"default"`` or a shipped model's name) to ``output_dir``.

    Writes ``model.onnx`` (:class:`PairModelGraph`, opset :data:`OPSET`, every axis dynamic), the tokenizer,
    ``config.json``, ``onnx_config.json`` and ``README.md``. The fp32 graph is checked against PyTorch on
    :data:`CHECK_DOCUMENTS` (other shapes than the traced ones): a pair probability further than ``tolerance`` is an
    error. ``quantize="int8"`` then replaces it with onnxruntime's dynamic int8 quantization (``int8_settings``,
    default :data:`INT8_SETTINGS`); its difference to PyTorch is recorded, not enforced. Returns ``output_dir``.
    """
    require_onnxruntime("ONNX export")
    import onnxruntime
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from hf_ecpe.defaults import strip_remote_code
    from hf_ecpe.scripts.evaluate import method_of_folder

    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS} or None, got {quantize!r}")
    source = resolve_model(model)
    output_dir = Path(output_dir)
    if output_dir.resolve() == source.resolve():
        raise ValueError(f"--output {output_dir} is the model's own folder: export to a new folder")
    if output_dir.exists() and any(output_dir.iterdir()) and not is_onnx_folder(output_dir):
        raise ValueError(f"--output {output_dir} exists and is not an ONNX export folder: choose a new folder")
    spec = method_of_folder(source)
    check_exportable(spec, None, str(source))  # before loading: an adapter folder has no model config
    check_exportable(spec, AutoConfig.from_pretrained(source), str(source))
    torch_model = AutoModel.from_pretrained(source).eval()
    tokenizer = AutoTokenizer.from_pretrained(source)
    graph = PairModelGraph(torch_model).eval()
    example = example_batch(tokenizer, EXAMPLE_DOCUMENTS, torch_model)
    batch, length = example["input_ids"].shape
    arguments = (
        example["input_ids"],
        example["attention_mask"],
        example["token_type_ids"],
        torch.arange(batch * length).view(batch, length),
        example["attention_mask"],
        example["unit_token_index"],
        example["unit_mask"],
        example.get("speaker_ids", torch.full_like(example["unit_token_index"], -1)),
    )
    outputs = list(OUTPUT_NAMES if torch_model.category_head is not None else OUTPUT_NAMES[:-1])
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        fp32_file = Path(scratch) / MODEL_FILE
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer warnings on the model's input checks (constant in the graph)
            torch.onnx.export(
                graph,
                arguments,
                str(fp32_file),
                dynamo=False,
                input_names=list(INPUT_NAMES),
                output_names=outputs,
                dynamic_axes={name: DYNAMIC_AXES[name] for name in (*INPUT_NAMES, *outputs)},
                opset_version=OPSET,
                do_constant_folding=True,
            )
        settings = {**INT8_SETTINGS, **(int8_settings or {})} if quantize == "int8" else None
        if settings is not None:
            quantize_int8(fp32_file, output_dir / MODEL_FILE, settings)
        else:
            shutil.copyfile(fp32_file, output_dir / MODEL_FILE)
        torch_model.config.save_pretrained(output_dir)
        strip_remote_code(output_dir)  # no model code: the config loads through hf_ecpe's registered classes
        tokenizer.save_pretrained(output_dir)
        serving: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model_file": MODEL_FILE,
            "method": spec.name,
            "source_model": str(model),
            "quantization": quantize,
            "int8_settings": settings,
            "opset": OPSET,
            "outputs": outputs,
            "max_window_tokens": torch_model.max_window_tokens,
            "pad_token_id": getattr(torch_model.encoder.config, "pad_token_id", None) or 0,
            "exported_with": {
                "torch": torch.__version__,
                "onnxruntime": onnxruntime.__version__,
                "hf_ecpe": _library_version(),
            },
        }
        (output_dir / SERVING_FILE).write_text(json.dumps(serving, indent=2) + "\n", encoding="utf-8")
        fp32_difference, _ = check_parity(torch_model, tokenizer, OnnxPairModel(output_dir, model_file=fp32_file))
    if fp32_difference > tolerance:
        raise ValueError(
            f"the exported graph differs from PyTorch by {fp32_difference:.2e} in a pair probability (tolerance "
            f"{tolerance:g}); please report this model"
        )
    served = OnnxPairModel(output_dir)
    serving["inputs"] = served.input_names
    serving["parity"] = {"documents": len(CHECK_DOCUMENTS), "fp32_max_pair_probability_difference": fp32_difference}
    if quantize:
        difference, flipped = check_parity(torch_model, tokenizer, served)
        serving["parity"].update(
            {"quantized_max_pair_probability_difference": difference, "quantized_flipped_decisions": flipped}
        )
    (output_dir / SERVING_FILE).write_text(json.dumps(serving, indent=2) + "\n", encoding="utf-8")
    write_card(source, output_dir, serving)
    return output_dir


def quantize_int8(source: Path, target: Path, settings: dict[str, Any]) -> None:
    """onnxruntime dynamic quantization of ``source`` into ``target`` (``settings``: :data:`INT8_SETTINGS`'s keys,
    plus ``exclude_prefixes``: node-name prefixes kept in float, e.g. ``"/pair_head"``)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    excluded: list[str] = []
    prefixes = tuple(settings.get("exclude_prefixes") or ())
    if prefixes:
        excluded = [node.name for node in onnx.load(str(source)).graph.node if node.name.startswith(prefixes)]
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=getattr(QuantType, settings["weight_type"]),
        per_channel=bool(settings["per_channel"]),
        reduce_range=bool(settings.get("reduce_range", False)),
        op_types_to_quantize=list(settings["op_types"]),
        nodes_to_exclude=excluded,
    )


def check_parity(torch_model: nn.Module, tokenizer: Any, onnx_model: OnnxPairModel) -> tuple[float, float]:
    """:func:`pair_probability_difference` of ``onnx_model`` against ``torch_model`` on :data:`CHECK_DOCUMENTS`."""
    batch = example_batch(tokenizer, CHECK_DOCUMENTS, torch_model)
    with torch.inference_mode():
        return pair_probability_difference(torch_model(**batch), onnx_model(**batch))


def _library_version() -> str:
    from hf_ecpe._version import __version__

    return __version__


def write_card(source: Path, output_dir: Path, serving: dict[str, Any]) -> None:
    """``README.md``: the source model's card (when it has one) followed by a section on this export."""
    card = (
        (source / "README.md").read_text(encoding="utf-8").rstrip() + "\n\n"
        if (source / "README.md").is_file()
        else ""
    )
    quantization = serving["quantization"]
    kind = (
        "int8 (onnxruntime dynamic quantization: int8 weights, activations quantized per call; "
        f"settings {json.dumps(serving['int8_settings'])})"
        if quantization
        else "float32"
    )
    parity = serving["parity"]
    lines = [
        "## ONNX Runtime export",
        "",
        f"`{MODEL_FILE}` is the whole pair model of `{serving['source_model']}` (encoder, unit pooling, context "
        f"layer, heads) as one ONNX graph (opset {serving['opset']}, {kind}), exported by hf_ecpe "
        f"{serving['exported_with']['hf_ecpe']} with torch {serving['exported_with']['torch']}. Serve it with the "
        "same pipeline and the same output schema as the PyTorch model:",
        "",
        "```python",
        "import hf_ecpe  # pip install 'hf-ecpe[onnx]'",
        "",
        'extractor = hf_ecpe.pipeline("emotion-cause", model="path/to/this/folder")',
        'extractor("I was so happy, because I passed the exam.")',
        "```",
        "",
        f"Checked at export on {parity['documents']} documents: largest pair-probability difference to PyTorch "
        f"{parity['fp32_max_pair_probability_difference']:.1e} (float32 graph)"
        + (
            f"; the int8 graph differs by up to {parity['quantized_max_pair_probability_difference']:.3f} and flips "
            f"{parity['quantized_flipped_decisions']:.1%} of the candidate decisions at P = 0.5 there."
            if quantization
            else "."
        ),
        "Speed and pair F1 of the float32 and int8 graphs against PyTorch: `benchmarks/onnx_speed.py` in the hf_ecpe "
        "repository (docs/serving.md).",
        "",
    ]
    (output_dir / "README.md").write_text(card + "\n".join(lines), encoding="utf-8")


__all__ = [
    "FORMAT",
    "INT8_SETTINGS",
    "MODEL_FILE",
    "SERVING_FILE",
    "OnnxPairModel",
    "PairModelGraph",
    "check_exportable",
    "export_onnx",
    "is_onnx_folder",
    "load_onnx_model",
    "read_serving_config",
    "resolve_model",
]
