"""Inference of the pair models: documents of units in, :class:`PairPrediction` dataclasses out.

This module is the original of the code behind ``predict`` on every pair model (``A2NetModel.predict``,
``MultimodalPairScorerModel.predict``): the model folders carry marked copies of it
(``# Copied from hf_ecpe.prediction.<name>``, kept in sync by ``python -m hf_ecpe.tools.check_copies``), so that a
checkpoint loaded with ``trust_remote_code`` predicts without hf_ecpe. It therefore uses only the standard library,
torch, transformers and the helpers of :mod:`hf_ecpe.modeling_utils` that every pair-model folder carries a copy of.

The path of one call (:func:`predict_pairs`)::

    documents (lists of unit strings) [+ speakers, lexicon flags]
      -> pieces (unit_pieces: the whole document, or overlapping pieces of max_units units for a long one)
      -> length-sorted batches -> unit_inputs (tokens, unit positions, speaker ids) -> forward_pairs (one forward
         pass per batch, inference mode, on the model's device)
      -> per document: rows_of each piece, stitch_pieces -> prediction_of (decode_document: the model's
         decode_pairs / decode_units / decode_categories) -> PairPrediction, in the input order

:func:`decode_document` is also how the trainers' metrics (:class:`hf_ecpe.trainers.metrics.EcpeComputeMetrics`) turn
a document's scores into pairs and head selections, so training, evaluation and prediction decode alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import AutoTokenizer
from transformers.utils import logging

from hf_ecpe.modeling_utils import PAIR_LOGIT_FILL, pair_margins, plan_unit_windows

logger = logging.get_logger(__name__)

#: A document of more units is encoded in overlapping pieces of this many units unless ``max_units`` says otherwise:
#: the models score (N, N) pair matrices, whose memory and time grow with the square of the length (5,000 clauses
#: needed 25.6 GB), while pieces keep both linear. 256 units is 40 times the median training document, so no
#: ordinary input is split.
AUTO_MAX_UNITS = 256


# ---------------------------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class PredictedPair:
    """One predicted emotion–cause pair: 0-based unit indices, P(pair), and — for a model with a category head — the
    emotion unit's best non-neutral category and its probability."""

    emotion_index: int
    cause_index: int
    score: float
    category: str | None = None
    category_score: float | None = None

    def to_dict(self, units: Sequence[str]) -> dict[str, Any]:
        """The pair in :meth:`PairPrediction.to_dict`'s schema (``units``: the document's units, for the texts)."""
        pair: dict[str, Any] = {
            "emotion_index": self.emotion_index,
            "cause_index": self.cause_index,
            "emotion_text": units[self.emotion_index],
            "cause_text": units[self.cause_index],
            "score": self.score,
        }
        if self.category is not None:
            pair["category"], pair["category_score"] = self.category, self.category_score
        return pair


@dataclass
class PredictedUnit:
    """One emotion or cause unit: its index, the head's probability (σ of the emotion / cause logit), the related
    units in pair order (``causes`` of an emotion unit, ``emotions`` of a cause unit; ``None`` for the other role)
    and, for an emotion unit of a model with a category head, its category and the category's probability."""

    index: int
    score: float
    causes: list[int] | None = None
    emotions: list[int] | None = None
    category: str | None = None
    category_score: float | None = None

    def to_dict(self, units: Sequence[str]) -> dict[str, Any]:
        """The unit in :meth:`PairPrediction.to_dict`'s schema."""
        entry: dict[str, Any] = {"index": self.index, "text": units[self.index], "score": self.score}
        if self.causes is not None:
            entry["causes"] = self.causes
        if self.emotions is not None:
            entry["emotions"] = self.emotions
        if self.category is not None:
            entry["category"], entry["category_score"] = self.category, self.category_score
        return entry


@dataclass
class PairPrediction:
    """What a pair model predicts for one document (``predict``), and the one schema of the pair pipeline's output.

    Attributes:
        units: the document's units (clauses or utterances), as given.
        pairs: the decoded pairs, best first (the model's ``decode_pairs``: its configured strategy unless
            ``decoding`` / ``threshold`` / ``top_k`` say otherwise).
        emotions: in unit order, every unit the emotion head selects (σ > ``unit_threshold``) and every emotion unit of
            a pair, with ``causes``: its pairs' causes in pair order (``[]`` for a unit the head selects without a
            pair). So an emotion of a pair is always listed, and a listed emotion's causes are its pairs'.
        causes: in unit order, every cause unit of a pair, with ``emotions``: its pairs' emotions in pair order.
        pair_scores: with ``return_pair_scores``: the n × n matrix of P(pair) (row = emotion, column = cause; ``None``
            outside the candidates); else ``None``.

    :meth:`to_dict` gives the JSON-serialisable form (the ``emotion-cause`` pipeline's output, which adds
    ``offsets`` and ``id`` for the inputs that have them)::

        {"units": [...],
         "pairs": [{"emotion_index", "cause_index", "emotion_text", "cause_text", "score"
                    [, "category", "category_score"]}, ...],
         "emotions": [{"index", "text", "score", "causes" [, "category", "category_score"]}, ...],
         "causes": [{"index", "text", "score", "emotions"}, ...]
         [, "pair_scores": [[float | None, ...], ...]]}

    ``category`` / ``category_score`` are present only for a model with a category head, ``pair_scores`` only when
    requested.
    """

    units: list[str]
    pairs: list[PredictedPair]
    emotions: list[PredictedUnit]
    causes: list[PredictedUnit]
    pair_scores: list[list[float | None]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The prediction as plain lists and dicts (see the class docstring for the schema)."""
        result: dict[str, Any] = {
            "units": list(self.units),
            "pairs": [pair.to_dict(self.units) for pair in self.pairs],
            "emotions": [unit.to_dict(self.units) for unit in self.emotions],
            "causes": [unit.to_dict(self.units) for unit in self.causes],
        }
        if self.pair_scores is not None:
            result["pair_scores"] = self.pair_scores
        return result


@dataclass
class DecodedDocument:
    """One document's decoded scores (:func:`decode_document`): ``pairs`` ``[(emotion, cause, P(pair))]`` best
    first; ``emotion_units`` / ``cause_units`` ``[(unit, σ)]`` the emotion / cause heads select, in unit order;
    ``categories`` per unit ``(category, probability)`` for a model with a category head, else ``None``."""

    pairs: list[tuple[int, int, float]]
    emotion_units: list[tuple[int, float]]
    cause_units: list[tuple[int, float]]
    categories: list[tuple[str, float]] | None = None


# ---------------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------------


def as_batch(
    documents: Sequence[Any], speakers: Sequence[Any] | None, lexicon_flags: Sequence[Any] | None
) -> tuple[bool, list[list[str]], list[list[str] | None], list[list[bool] | None]]:
    """``predict``'s arguments as ``(single, documents, speakers, lexicon_flags)`` of a batch: a sequence of strings is
    one document (its ``speakers`` / ``lexicon_flags`` one list each), a sequence of sequences a batch (theirs one list
    or ``None`` per document); an empty sequence is an empty batch. ``TypeError`` / ``ValueError`` name a unit that
    is not a string and per-unit lists of another length than their document."""
    if isinstance(documents, str) or not isinstance(documents, Sequence):
        raise TypeError(f"documents must be a list of unit strings or a list of such lists, got {type(documents)}")
    single = len(documents) > 0 and isinstance(documents[0], str)
    batch = [documents] if single else list(documents)
    per_document = []
    for name, values in (("speakers", speakers), ("lexicon_flags", lexicon_flags)):
        values = [None] * len(batch) if values is None else [values] if single else list(values)
        if len(values) != len(batch):
            raise ValueError(f"{name} has {len(values)} entries for {len(batch)} documents")
        per_document.append(values)
    for number, units in enumerate(batch):
        if isinstance(units, str) or not isinstance(units, Sequence):
            raise TypeError(f"document {number} must be a list of unit strings, got {type(units).__name__}")
        for position, unit in enumerate(units):
            if not isinstance(unit, str):
                raise TypeError(f"document {number}: unit {position} is {type(unit).__name__}, not a string")
        for name, values in (("speakers", per_document[0][number]), ("lexicon_flags", per_document[1][number])):
            if values is not None and len(values) != len(units):
                raise ValueError(f"document {number}: {len(values)} {name} for {len(units)} units")
    documents_out = [list(units) for units in batch]
    speakers_out = [list(values) if values is not None else None for values in per_document[0]]
    flags_out = [[bool(flag) for flag in values] if values is not None else None for values in per_document[1]]
    return single, documents_out, speakers_out, flags_out


def model_text(config: Any, units: Sequence[str], speakers: Sequence[str] | None) -> list[str]:
    """The units as the model reads them: ``"<speaker>: <unit>"`` when it was trained with speaker prefixes
    (``config.prepend_speaker``) and the document has speakers, else the units as they are."""
    if speakers and getattr(config, "prepend_speaker", False):
        return [f"{speaker}: {unit}" for speaker, unit in zip(speakers, units)]
    return list(units)


def speaker_numbers(speakers: Sequence[str] | None, count: int) -> list[int]:
    """Per unit, its speaker numbered by first appearance in the document (0, 1, ...); -1 for an empty name, and for
    every unit when there are no speakers (``hf_ecpe.data.multimodal.speaker_ids_for``'s numbering)."""
    if not speakers:
        return [-1] * count
    numbers: dict[str, int] = {}
    return [numbers.setdefault(name.strip(), len(numbers)) if name.strip() else -1 for name in speakers]


def check_unit_tokenizer(tokenizer: Any, max_unit_tokens: int | None, user: str = "a pair model") -> None:
    """Raise ValueError unless ``tokenizer`` has the CLS and SEP tokens of :func:`unit_token_tensors`' layout and
    ``max_unit_tokens`` is None or an integer >= 3 (a unit's CLS and SEP plus one word piece); ``user`` names who
    needs them in the message. Shared by :func:`unit_inputs` and ``hf_ecpe.data.collators.ClauseCollator``."""
    if tokenizer.cls_token_id is None or tokenizer.sep_token_id is None:
        raise ValueError(
            f"{user} needs a tokenizer with CLS and SEP tokens; {type(tokenizer).__name__} has "
            f"cls_token={tokenizer.cls_token!r}, sep_token={tokenizer.sep_token!r}"
        )
    if max_unit_tokens is not None and (
        isinstance(max_unit_tokens, bool) or not isinstance(max_unit_tokens, int) or max_unit_tokens < 3
    ):
        raise ValueError(
            f"max_unit_tokens counts the unit's [CLS] and [SEP] and must be an integer >= 3 or None, "
            f"got {max_unit_tokens!r}"
        )


def unit_inputs(
    tokenizer: Any,
    config: Any,
    texts: Sequence[Sequence[str]],
    speakers: Sequence[Sequence[str] | None],
    max_unit_tokens: int | None = None,
) -> dict[str, torch.Tensor]:
    """Model inputs of a batch of documents, ``texts`` as the model reads them (:func:`model_text`): what
    ``hf_ecpe.data.collators.ClauseCollator`` builds without labels, one tokenizer call for all units.

    Each document is ONE token sequence ``[CLS] u1 [SEP] [CLS] u2 [SEP] ...`` (the tokenizer's own CLS / SEP tokens,
    units tokenised without special tokens); a unit longer than ``max_unit_tokens`` tokens (its CLS and SEP included)
    keeps its first ``max_unit_tokens - 2`` word pieces. Returns (B documents, T tokens, N = most units):
    ``input_ids`` / ``attention_mask`` `(B, T)` long, right-padded, ``token_type_ids`` (alternating 0 / 1 per unit;
    only when the tokenizer lists them among its ``model_input_names``), ``unit_token_index`` `(B, N)` long (each
    unit's CLS position, 0 at padding), ``unit_mask`` `(B, N)` bool and, for a model that declares
    ``config.supports_speaker_ids``, ``speaker_ids`` `(B, N)` long (:func:`speaker_numbers`, -1 at padding).
    """
    check_unit_tokenizer(tokenizer, max_unit_tokens)
    inputs, truncated = unit_token_tensors(tokenizer, texts, max_unit_tokens)
    if truncated:
        logger.warning("cut %d unit(s) to max_unit_tokens=%d tokens", truncated, max_unit_tokens)
    batch, units_max = inputs["unit_mask"].shape
    if "token_type_ids" not in getattr(tokenizer, "model_input_names", ()):
        del inputs["token_type_ids"]
    if getattr(config, "supports_speaker_ids", False):  # declared by conversational pair scorers
        inputs["speaker_ids"] = torch.full((batch, units_max), -1, dtype=torch.long)
        for row, (units, names) in enumerate(zip(texts, speakers)):
            if names:
                inputs["speaker_ids"][row, : len(units)] = torch.tensor(speaker_numbers(names, len(units)))
    return inputs


def unit_token_tensors(
    tokenizer: Any, texts: Sequence[Sequence[str]], max_unit_tokens: int | None = None
) -> tuple[dict[str, torch.Tensor], int]:
    """The token layout of a batch of documents (one tokenizer call for all units), shared by :func:`unit_inputs`
    and ``hf_ecpe.data.collators.ClauseCollator``: each document is ONE sequence ``[CLS] u1 [SEP] [CLS] u2 [SEP] ...``
    (units tokenised without special tokens; a unit longer than ``max_unit_tokens`` tokens, its CLS and SEP included,
    keeps its first ``max_unit_tokens - 2`` word pieces).

    Returns ``input_ids`` / ``attention_mask`` / ``token_type_ids`` (alternating 0 / 1 per unit) `(B, T)` long,
    right-padded with the tokenizer's pad id, ``unit_token_index`` `(B, N)` long (each unit's CLS position, 0 at
    padding) and ``unit_mask`` `(B, N)` bool — B documents, T tokens, N = most units — and how many units were cut.
    """
    flat_tokens = tokenizer([unit for units in texts for unit in units], add_special_tokens=False)["input_ids"]
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    keep = None if max_unit_tokens is None else max_unit_tokens - 2
    truncated = cursor = 0
    sequences, segments, unit_starts = [], [], []
    for units in texts:
        ids: list[int] = []
        types: list[int] = []
        starts: list[int] = []
        for number in range(len(units)):
            tokens = flat_tokens[cursor]
            cursor += 1
            if keep is not None and len(tokens) > keep:
                tokens = tokens[:keep]
                truncated += 1
            starts.append(len(ids))
            ids.extend([cls_id, *tokens, sep_id])
            types.extend([number % 2] * (len(tokens) + 2))
        sequences.append(ids)
        segments.append(types)
        unit_starts.append(starts)
    batch, tokens_max, units_max = len(texts), max(len(ids) for ids in sequences), max(len(units) for units in texts)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    tensors = {
        "input_ids": torch.full((batch, tokens_max), pad_id, dtype=torch.long),
        "attention_mask": torch.zeros((batch, tokens_max), dtype=torch.long),
        "token_type_ids": torch.zeros((batch, tokens_max), dtype=torch.long),
        "unit_token_index": torch.zeros((batch, units_max), dtype=torch.long),
        "unit_mask": torch.zeros((batch, units_max), dtype=torch.bool),
    }
    for row, (ids, types, starts) in enumerate(zip(sequences, segments, unit_starts)):
        tensors["input_ids"][row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        tensors["attention_mask"][row, : len(ids)] = 1
        tensors["token_type_ids"][row, : len(types)] = torch.tensor(types, dtype=torch.long)
        tensors["unit_token_index"][row, : len(starts)] = torch.tensor(starts, dtype=torch.long)
        tensors["unit_mask"][row, : len(starts)] = True
    return tensors, truncated


def unit_pieces(num_units: int, max_units: int | None) -> list[tuple[int, int]]:
    """The ``(first, end)`` unit ranges encoded separately: the whole document when ``max_units`` is ``None`` or
    the document is no longer, else pieces of ``max_units`` units, each starting ``max_units // 2`` units before
    the previous one ends (so every pair at most ``max_units // 2`` units apart lies inside one piece)."""
    if max_units is None or num_units <= max_units:
        return [(0, num_units)]
    windows, _ = plan_unit_windows(list(range(num_units)), num_units, max_units, max_units // 2)
    return windows


# ---------------------------------------------------------------------------------------------------------------
# Forward pass and pieces
# ---------------------------------------------------------------------------------------------------------------


def forward_pairs(model: Any, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """One forward pass (eval and inference mode, on the model's device) over :func:`unit_inputs`; the outputs
    decoding needs, on the CPU: ``pair_logits`` `(B, N, N)` binary logits (the margin of 2-way logits),
    ``candidate_mask``, ``emotion_logits`` / ``cause_logits`` `(B, N)`, ``unit_mask`` and, with a category head,
    ``category_logits``. A model in training mode is put back in it afterwards."""
    training = bool(getattr(model, "training", False))
    if training:
        model.eval()
    try:
        with torch.inference_mode():
            outputs = model(**{key: value.to(model.device) for key, value in inputs.items()})
    finally:
        if training:
            model.train()
    result = {
        "pair_logits": pair_margins(outputs["pair_logits"]).float().cpu(),
        "candidate_mask": outputs["candidate_mask"].cpu(),
        "emotion_logits": outputs["emotion_logits"].float().cpu(),
        "cause_logits": outputs["cause_logits"].float().cpu(),
        "unit_mask": inputs["unit_mask"],
    }
    if outputs.get("category_logits") is not None:  # models with a category head
        result["category_logits"] = outputs["category_logits"].float().cpu()
    return result


def rows_of(outputs: Mapping[str, Any], row: int, n: int) -> dict[str, Any]:
    """Batch row ``row`` of :func:`forward_pairs`' outputs, cut to its ``n`` units, as a batch of one."""
    sliced = {}
    for key, value in outputs.items():
        if key in ("pair_logits", "candidate_mask"):
            sliced[key] = value[row : row + 1, :n, :n]
        else:  # per-unit tensors: (B, N) or (B, N, C)
            sliced[key] = value[row : row + 1, :n]
    return sliced


def stitch_pieces(piece_outputs: Mapping[tuple[int, int], Mapping[str, Any]], n: int) -> dict[str, Any]:
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
        return dict(next(iter(piece_outputs.values())))
    ranges = sorted(piece_outputs)
    template = piece_outputs[ranges[0]]
    lowest, highest = 0, 0
    for piece in piece_outputs.values():
        emotion, cause = piece["candidate_mask"][0].nonzero(as_tuple=True)
        if len(emotion):
            lowest, highest = min(lowest, int((cause - emotion).min())), max(highest, int((cause - emotion).max()))
    width = highest - lowest + 1
    stitched: dict[str, Any] = {
        "pair_logits": torch.full((1, n, width), PAIR_LOGIT_FILL),
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


# ---------------------------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------------------------


def decode_document(
    model: Any,
    outputs: Mapping[str, Any],
    *,
    decoding: str | None = None,
    threshold: float | None = None,
    top_k: int | None = None,
    unit_threshold: float = 0.5,
    lexicon_flags: Any = None,
) -> DecodedDocument:
    """Decode one document's scores with the model's own ``decode_pairs`` / ``decode_units`` /
    ``decode_categories``.

    ``outputs``: the document as a batch of one (:func:`rows_of` / :func:`stitch_pieces`, or the trainers' unpacked
    predictions): ``pair_logits`` / ``candidate_mask`` `(1, n, n)` — or a band `(1, n, W)` with ``cause_offset`` —,
    ``emotion_logits`` / ``cause_logits`` `(1, n)`, optional ``unit_mask`` `(1, n)` and ``category_logits``
    `(1, n, C)`. ``decoding`` / ``threshold`` / ``top_k`` override the model's configured decoding (``None``: the
    config's); ``lexicon_flags`` `(n,)` marks the units with a lexicon word (the ``"reference"`` strategy keeps its
    2nd and 3rd pair only for them); ``unit_threshold`` is the heads' σ threshold.
    """
    n = outputs["emotion_logits"].shape[1]
    cause_offset = outputs.get("cause_offset")  # None: (1, n, n) pair tensors; else a band (stitch_pieces)
    columns = n if cause_offset is None else outputs["pair_logits"].shape[2]
    unit_mask = outputs.get("unit_mask")
    unit_mask = torch.ones((1, n), dtype=torch.bool) if unit_mask is None else unit_mask[:, :n].bool()
    lexicon_mask = None if lexicon_flags is None else torch.as_tensor(lexicon_flags, dtype=torch.bool)[None]
    pairs = model.decode_pairs(
        outputs["pair_logits"][:, :n, :columns],
        outputs["candidate_mask"][:, :n, :columns].bool(),
        strategy=decoding,
        threshold=threshold,
        top_k=top_k,
        lexicon_mask=lexicon_mask,
    )[0]
    if cause_offset is not None:  # band column -> cause index
        pairs = [(emotion, emotion + column + cause_offset, p) for emotion, column, p in pairs]
    categories = None
    if outputs.get("category_logits") is not None and hasattr(model, "decode_categories"):
        categories = model.decode_categories(outputs["category_logits"][:, :n], unit_mask)[0]
    return DecodedDocument(
        pairs=[(int(emotion), int(cause), float(p)) for emotion, cause, p in pairs],
        emotion_units=model.decode_units(outputs["emotion_logits"][:, :n], unit_mask, unit_threshold)[0],
        cause_units=model.decode_units(outputs["cause_logits"][:, :n], unit_mask, unit_threshold)[0],
        categories=categories,
    )


def prediction_of(
    model: Any,
    outputs: Mapping[str, Any],
    units: Sequence[str],
    *,
    decoding: str | None = None,
    threshold: float | None = None,
    top_k: int | None = None,
    unit_threshold: float = 0.5,
    lexicon_flags: Any = None,
    return_pair_scores: bool = False,
) -> PairPrediction:
    """The :class:`PairPrediction` of one document from its outputs (see :func:`decode_document` for the
    arguments); ``units``: its units as given (the texts of the result)."""
    n = len(units)
    decoded = decode_document(
        model,
        outputs,
        decoding=decoding,
        threshold=threshold,
        top_k=top_k,
        unit_threshold=unit_threshold,
        lexicon_flags=lexicon_flags,
    )
    categories = decoded.categories
    emotion_probabilities = torch.sigmoid(outputs["emotion_logits"][0, :n]).tolist()
    cause_probabilities = torch.sigmoid(outputs["cause_logits"][0, :n]).tolist()
    pairs = [
        PredictedPair(emotion, cause, probability, *(categories[emotion] if categories is not None else ()))
        for emotion, cause, probability in decoded.pairs
    ]
    causes_of: dict[int, list[int]] = {}
    emotions_of: dict[int, list[int]] = {}
    for pair in pairs:  # grouped once (a long document has thousands of units and pairs), in pair order
        causes_of.setdefault(pair.emotion_index, []).append(pair.cause_index)
        emotions_of.setdefault(pair.cause_index, []).append(pair.emotion_index)
    # Consistent by construction: an emotion unit of a returned pair is listed (with its causes); a unit the emotion
    # head selects without a returned pair is listed with causes [] (no cause passed the threshold).
    emotion_units = sorted({index for index, _ in decoded.emotion_units} | set(causes_of))
    emotions = [
        PredictedUnit(
            index,
            float(emotion_probabilities[index]),
            causes=causes_of.get(index, []),
            category=categories[index][0] if categories is not None else None,
            category_score=categories[index][1] if categories is not None else None,
        )
        for index in emotion_units
    ]
    causes = [
        PredictedUnit(index, float(cause_probabilities[index]), emotions=emotions_of[index])
        for index in sorted(emotions_of)
    ]
    pair_scores = None
    if return_pair_scores:
        cause_offset = outputs.get("cause_offset")
        columns = n if cause_offset is None else outputs["pair_logits"].shape[2]
        probabilities = torch.sigmoid(outputs["pair_logits"][0, :n, :columns])
        candidate_mask = outputs["candidate_mask"][0, :n, :columns].bool()
        if cause_offset is None:
            pair_scores = [
                [float(probabilities[i, j]) if bool(candidate_mask[i, j]) else None for j in range(n)]
                for i in range(n)
            ]
        else:
            pair_scores = [[None] * n for _ in range(n)]
            for i, column in candidate_mask.nonzero().tolist():
                pair_scores[i][i + column + cause_offset] = float(probabilities[i, column])
    return PairPrediction(units=list(units), pairs=pairs, emotions=emotions, causes=causes, pair_scores=pair_scores)


# ---------------------------------------------------------------------------------------------------------------
# Prediction
# ---------------------------------------------------------------------------------------------------------------


def default_tokenizer(model: Any) -> Any:
    """The tokenizer saved with ``model`` (``AutoTokenizer`` on ``model.name_or_path``), loaded once and kept on the
    model; ``ValueError`` when the model was not loaded from a folder or Hub id. A model that runs as remote code
    (loaded with ``trust_remote_code``) reads its folder's config, whose class is that code, with the same trust."""
    tokenizer = getattr(model, "_prediction_tokenizer", None)
    if tokenizer is None:
        name = getattr(model, "name_or_path", None) or getattr(getattr(model, "config", None), "_name_or_path", None)
        if not name:
            raise ValueError(
                f"this {type(model).__name__} was not loaded from a folder, so it has no saved tokenizer: pass "
                "tokenizer=... (the encoder's tokenizer) to predict"
            )
        remote = type(model).__module__.startswith("transformers_modules.")
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=remote)
        model._prediction_tokenizer = tokenizer
    return tokenizer


def predict_pairs(
    model: Any,
    tokenizer: Any,
    documents: Sequence[Sequence[str]],
    speakers: Sequence[Sequence[str] | None] | None = None,
    *,
    batch_size: int = 8,
    max_units: int | None = AUTO_MAX_UNITS,
    max_unit_tokens: int | None = None,
    decoding: str | None = None,
    threshold: float | None = None,
    top_k: int | None = None,
    unit_threshold: float = 0.5,
    lexicon_flags: Sequence[Sequence[bool] | None] | None = None,
    return_pair_scores: bool = False,
) -> list[PairPrediction]:
    """The :class:`PairPrediction` of every document (a list of unit strings; an empty one has an empty result), in
    the input order.

    Args:
        model: a pair model (``forward`` returning pair / candidate / emotion / cause logits, ``decode_pairs``,
            ``decode_units``, optionally ``decode_categories``).
        tokenizer: its encoder's tokenizer.
        speakers: per document its speakers (one name per unit) or ``None``: speaker ids for a model that declares
            ``config.supports_speaker_ids``, ``"<speaker>: "`` prefixes for one trained with ``prepend_speaker``.
        batch_size: documents (or pieces) per forward pass; they are sorted by length first.
        max_units: a document of more units is encoded in overlapping pieces of ``max_units`` units, each starting
            ``max_units // 2`` units before the previous one ends, and each unit's and pair's scores come from the
            piece where they have the most context (:func:`stitch_pieces`); pairs further apart than
            ``max_units // 2`` may share no piece and are then no candidates. ``None``: every document in one pass.
        max_unit_tokens: cut units longer than this many tokens (:func:`unit_inputs`).
        decoding, threshold, top_k, unit_threshold, lexicon_flags: see :func:`decode_document` (``lexicon_flags``:
            one list or ``None`` per document).
        return_pair_scores: also return the n × n P(pair) matrix of each document.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    speakers = [None] * len(documents) if speakers is None else speakers
    lexicon_flags = [None] * len(documents) if lexicon_flags is None else lexicon_flags
    texts = [model_text(model.config, units, names) for units, names in zip(documents, speakers)]
    pieces = [
        (i, first, end)
        for i, units in enumerate(documents)
        if units
        for first, end in unit_pieces(len(units), max_units)
    ]
    pieces.sort(key=lambda piece: sum(len(unit) for unit in texts[piece[0]][piece[1] : piece[2]]))
    piece_outputs: dict[int, dict[tuple[int, int], dict[str, Any]]] = {}  # document -> {(first, end): outputs}
    for start in range(0, len(pieces), batch_size):
        chunk = pieces[start : start + batch_size]
        inputs = unit_inputs(
            tokenizer,
            model.config,
            [texts[i][first:end] for i, first, end in chunk],
            [speakers[i][first:end] if speakers[i] else None for i, first, end in chunk],
            max_unit_tokens,
        )
        outputs = forward_pairs(model, inputs)
        for row, (i, first, end) in enumerate(chunk):
            piece_outputs.setdefault(i, {})[(first, end)] = rows_of(outputs, row, end - first)
    results = []
    for i, units in enumerate(documents):
        if not units:
            results.append(PairPrediction([], [], [], [], [] if return_pair_scores else None))
            continue
        results.append(
            prediction_of(
                model,
                stitch_pieces(piece_outputs[i], len(units)),
                units,
                decoding=decoding,
                threshold=threshold,
                top_k=top_k,
                unit_threshold=unit_threshold,
                lexicon_flags=lexicon_flags[i],
                return_pair_scores=return_pair_scores,
            )
        )
    return results


__all__ = [
    "AUTO_MAX_UNITS",
    "DecodedDocument",
    "PairPrediction",
    "PredictedPair",
    "PredictedUnit",
    "as_batch",
    "decode_document",
    "default_tokenizer",
    "forward_pairs",
    "model_text",
    "predict_pairs",
    "prediction_of",
    "rows_of",
    "speaker_numbers",
    "stitch_pieces",
    "unit_inputs",
    "unit_pieces",
]
