"""Per-utterance audio / visual feature tables and the collator of the multimodal pair scorer.

A :class:`FeatureTable` maps an utterance key to one feature vector. It reads

- a 2-D ``.npy`` array plus a key -> row mapping: the form ECF/MECPE publish (``audio_embedding_6373.npy``,
  ``video_embedding_4096.npy``, rows indexed through ``video_id_mapping.json``: ``dia{conv}utt{k}`` -> row, row 0 =
  padding; see :func:`hf_ecpe.data.corpora.ecf.load_video_id_mapping`). The array is memory-mapped by default;
- a ``.npz`` archive of ``{key: vector}``;
- a ``{key: vector}`` dict.

Files are read with ``numpy.load(..., allow_pickle=False)`` only: pickled object arrays are refused, never executed.

:class:`MultimodalCollator` wraps :class:`~hf_ecpe.data.collators.ClauseCollator` and adds ``speaker_ids`` and the
feature tensors. Utterance ``k`` (0-based) of a row is looked up under ``utterance_key(row, k)``, by default ECF's
``dia{id}utt{k+1}`` (:func:`ecf_utterance_key`). A missing key, a row index outside the array, a vector of the wrong
size or a non-finite value is a :class:`FeatureLookupError` naming the conversation id, the utterance index, the key
and the table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from .collators import ClauseCollator
from .corpora.ecf import utterance_feature_keys

UtteranceKey = Callable[[Mapping[str, Any], int], str]


class FeatureLookupError(ValueError):
    """A feature vector is missing or unusable; the message names the utterance, the key and the table."""


def ecf_utterance_key(row: Mapping[str, Any], utterance_index: int) -> str:
    """ECF/MECPE key of 0-based utterance ``utterance_index`` of ``row``: ``dia{row["id"]}utt{utterance_index + 1}``."""
    conversation_id = row.get("id")
    try:
        number = int(str(conversation_id))
    except ValueError:
        raise FeatureLookupError(
            f"conversation id {conversation_id!r} is not an ECF conversation number, so the ECF feature key "
            "dia{id}utt{k} cannot be formed; pass MultimodalCollator(utterance_key=...) for other corpora"
        ) from None
    return utterance_feature_keys(number, utterance_index + 1)[utterance_index]


class FeatureTable:
    """Feature vectors of utterances, looked up by key.

    Args:
        vectors: a 2-D array `(rows, dim)` (then ``index`` is required) or a mapping ``{key: 1-D vector}``.
        index: ``{key: row}`` into the array (e.g. ECF's ``video_id_mapping.json``).
        dim: the expected vector size; inferred from the array's width or the first vector when ``None``.
        name: how errors name the table (e.g. ``"audio"`` or the file path).

    Vectors are checked when looked up (size and finiteness), so that an error can name the utterance;
    :meth:`validate` checks every entry at once.
    """

    def __init__(
        self,
        vectors: np.ndarray | Mapping[str, Any],
        index: Mapping[str, int] | None = None,
        *,
        dim: int | None = None,
        name: str = "features",
    ) -> None:
        self.name = name
        if isinstance(vectors, Mapping):
            if index is not None:
                raise ValueError(
                    f"feature table {name}: 'index' goes with a 2-D array, not with a {{key: vector}} map"
                )
            if not vectors:
                raise ValueError(f"feature table {name} is empty")
            self._matrix, self._index, self._vectors = None, None, dict(vectors)
            if dim is None:
                first_key = next(iter(self._vectors))
                first = np.asarray(self._vectors[first_key])
                if first.ndim != 1:
                    raise ValueError(
                        f"feature table {name}: entry {first_key!r} has shape {first.shape}, expected a 1-D vector"
                    )
                dim = int(first.shape[0])
        else:
            matrix = vectors if isinstance(vectors, np.ndarray) else np.asarray(vectors)
            if matrix.ndim != 2:
                raise ValueError(f"feature table {name}: expected a 2-D array (rows, dim), got shape {matrix.shape}")
            if index is None:
                raise ValueError(
                    f"feature table {name}: a 2-D array needs an index {{utterance key: row}} (ECF: "
                    "video_id_mapping.json)"
                )
            _check_numeric(matrix.dtype, name)
            if dim is not None and dim != matrix.shape[1]:
                raise ValueError(
                    f"feature table {name}: expected vectors of size {dim}, the array has {matrix.shape[1]}"
                )
            dim = int(matrix.shape[1])
            self._matrix, self._index, self._vectors = matrix, _check_index(index, name), None
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"feature table {name}: dim must be a positive integer, got {dim!r}")
        self.dim = dim

    # ----- construction -------------------------------------------------------------------------------------

    @classmethod
    def from_npy(
        cls,
        array_path: str | Path,
        index: Mapping[str, int] | str | Path,
        *,
        mmap: bool = True,
        dim: int | None = None,
        name: str | None = None,
    ) -> FeatureTable:
        """A 2-D ``.npy`` array (memory-mapped unless ``mmap=False``) with ``index``: a ``{key: row}`` dict or the path
        of a JSON object such as ECF's ``derived/video_id_mapping.json``."""
        array_path = Path(array_path)
        matrix = _load_numpy(array_path, mmap_mode="r" if mmap else None)
        if not isinstance(index, Mapping):
            index = _load_json_index(Path(index))
        return cls(matrix, index, dim=dim, name=name or str(array_path))

    @classmethod
    def from_npz(cls, path: str | Path, *, dim: int | None = None, name: str | None = None) -> FeatureTable:
        """A ``.npz`` archive whose entries are ``{key: 1-D vector}`` (read into memory)."""
        path = Path(path)
        with _load_numpy(path) as archive:
            try:
                vectors = {key: archive[key] for key in archive.files}
            except ValueError as err:
                raise _pickle_refused(path, err) from None
        return cls(vectors, dim=dim, name=name or str(path))

    @classmethod
    def load(
        cls, path: str | Path, index: Mapping[str, int] | str | Path | None = None, **kwargs: Any
    ) -> FeatureTable:
        """``.npy`` (needs ``index``) or ``.npz``, chosen by the file suffix."""
        path = Path(path)
        if path.suffix == ".npy":
            if index is None:
                raise ValueError(f"{path}: a .npy feature array needs an index (e.g. ECF's video_id_mapping.json)")
            return cls.from_npy(path, index, **kwargs)
        if path.suffix == ".npz":
            if index is not None:
                raise ValueError(f"{path}: a .npz archive is keyed by its entry names; it takes no index")
            return cls.from_npz(path, **kwargs)
        raise ValueError(f"{path}: unsupported feature file type {path.suffix!r}; expected .npy (+ index) or .npz")

    # ----- lookup -------------------------------------------------------------------------------------------

    def __contains__(self, key: object) -> bool:
        return key in (self._vectors if self._vectors is not None else self._index)

    def __len__(self) -> int:
        return len(self._vectors if self._vectors is not None else self._index)

    def keys(self) -> list[str]:
        return list(self._vectors if self._vectors is not None else self._index)

    def vector(self, key: str, where: str | None = None) -> np.ndarray:
        """The float32 vector of ``key``, `(dim,)`; ``where`` (e.g. "conversation 3, utterance 0") prefixes errors."""
        subject = f"{where} (key {key!r})" if where else f"key {key!r}"
        if key not in self:
            raise FeatureLookupError(f"{subject}: no vector in the {self.name} feature table ({len(self)} keys)")
        if self._vectors is not None:
            try:
                vector = np.asarray(self._vectors[key])
            except (TypeError, ValueError) as err:
                raise FeatureLookupError(f"{subject}: the {self.name} entry is not an array ({err})") from None
            if vector.ndim != 1 or vector.shape[0] != self.dim:
                raise FeatureLookupError(
                    f"{subject}: the {self.name} vector has shape {vector.shape}, expected ({self.dim},)"
                )
            _check_numeric(vector.dtype, self.name, subject)
        else:
            row = self._index[key]
            if not 0 <= row < self._matrix.shape[0]:
                raise FeatureLookupError(
                    f"{subject}: row {row} is outside the {self.name} array ({self._matrix.shape[0]} rows); does the "
                    "index belong to this array?"
                )
            vector = self._matrix[row]
        vector = np.asarray(vector, dtype=np.float32)
        if not np.isfinite(vector).all():
            raise FeatureLookupError(f"{subject}: the {self.name} vector contains NaN or infinite values")
        return vector

    def lookup(self, keys: Sequence[str], wheres: Sequence[str] | None = None) -> np.ndarray:
        """`(len(keys), dim)` float32, the vectors of ``keys`` in order."""
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        wheres = wheres if wheres is not None else [None] * len(keys)
        return np.stack([self.vector(key, where) for key, where in zip(keys, wheres)])

    def validate(self) -> None:
        """Check every entry (size, numbers, finiteness, row range) now; raises :class:`FeatureLookupError`."""
        for key in self.keys():
            self.vector(key)

    def __repr__(self) -> str:
        kind = "array" if self._matrix is not None else "map"
        return f"FeatureTable(name={self.name!r}, {kind}, keys={len(self)}, dim={self.dim})"


def _load_numpy(path: Path, mmap_mode: str | None = None) -> Any:
    """``numpy.load`` that never unpickles; pickled content is a clear error."""
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except ValueError as err:
        raise _pickle_refused(path, err) from None


def _pickle_refused(path: Path, err: ValueError) -> ValueError:
    if "pickle" in str(err) or "Python objects" in str(err):
        return ValueError(
            f"{path} holds pickled Python objects, which hf_ecpe never loads (numpy allow_pickle=False); save the "
            "features as a numeric array (.npy) or a {key: vector} .npz, and a mapping as JSON"
        )
    return ValueError(f"{path}: cannot read it as a numpy file ({err})")


def _check_numeric(dtype: np.dtype, name: str, subject: str | None = None) -> None:
    if not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)) or dtype == np.bool_:
        prefix = f"{subject}: " if subject else ""
        raise FeatureLookupError(f"{prefix}the {name} feature table holds {dtype} values, expected real numbers")


def _check_index(index: Mapping[str, int], name: str) -> dict[str, int]:
    checked = {}
    for key, row in index.items():
        if isinstance(row, bool) or not isinstance(row, (int, np.integer)):
            raise ValueError(f"feature table {name}: index entry {key!r} -> {row!r} is not an integer row")
        checked[str(key)] = int(row)
    return checked


def _load_json_index(path: Path) -> dict[str, int]:
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"feature index {path} not found (ECF: derived/video_id_mapping.json)") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"feature index {path}: invalid JSON at line {err.lineno} ({err.msg})") from None
    if not isinstance(index, dict):
        raise ValueError(f"feature index {path}: expected a JSON object {{key: row}}, got {type(index).__name__}")
    return index


def speaker_ids_for(row: Mapping[str, Any], row_index: int = 0) -> list[int]:
    """Per utterance, the speaker numbered per conversation by first appearance (0, 1, ...); -1 = unknown (no
    ``speakers`` list, an empty list as documents have, or an empty name)."""
    units = row.get("units") or []
    speakers = row.get("speakers")
    if not speakers:
        return [-1] * len(units)
    if isinstance(speakers, str) or not isinstance(speakers, Sequence) or len(speakers) != len(units):
        count = len(speakers) if isinstance(speakers, Sequence) and not isinstance(speakers, str) else speakers
        raise ValueError(
            f"row {_row_name(row, row_index)}: 'speakers' must be a list with one name per utterance "
            f"({len(units)}), got {count!r}"
        )
    numbers: dict[str, int] = {}
    ids = []
    for position, speaker in enumerate(speakers):
        if not isinstance(speaker, str):
            raise ValueError(
                f"row {_row_name(row, row_index)}: speaker of utterance {position} is {type(speaker).__name__}, "
                "not a string"
            )
        name = speaker.strip()
        ids.append(numbers.setdefault(name, len(numbers)) if name else -1)
    return ids


def _row_name(row: Mapping[str, Any], index: int) -> str:
    row_id = row.get("id") if isinstance(row, Mapping) else None
    return f"{index} (id={row_id!r})" if row_id is not None else str(index)


@dataclass
class MultimodalCollator:
    """Batch conversations for :class:`~hf_ecpe.models.pair_scorer.MultimodalPairScorerModel`.

    Everything :class:`~hf_ecpe.data.collators.ClauseCollator` returns (``input_ids``, ``attention_mask``,
    ``token_type_ids``, ``unit_token_index``, ``unit_mask`` and, with ``pairs``, the labels), plus
    ``speaker_ids`` `(B, N)` long (:func:`speaker_ids_for`; -1 at padding) and, for each table given,
    ``audio_features`` `(B, N, Da)` / ``visual_features`` `(B, N, Dv)` float32 (zero at padding).

    Args:
        tokenizer: the encoder's tokenizer.
        audio / visual: :class:`FeatureTable` or ``None`` (modality absent).
        max_unit_tokens: see ``ClauseCollator``.
        utterance_key: ``(row, utterance_index) -> key``; default :func:`ecf_utterance_key`.
        emotion_categories: see ``ClauseCollator`` (for a model with a category head).
    """

    tokenizer: PreTrainedTokenizerBase
    audio: FeatureTable | None = None
    visual: FeatureTable | None = None
    max_unit_tokens: int | None = None
    utterance_key: UtteranceKey = ecf_utterance_key
    emotion_categories: Sequence[str] | None = None
    _text: ClauseCollator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("audio", "visual"):
            table = getattr(self, name)
            if table is not None and not isinstance(table, FeatureTable):
                raise TypeError(
                    f"MultimodalCollator.{name} must be a FeatureTable or None, got {type(table).__name__}"
                )
        self._text = ClauseCollator(
            self.tokenizer, max_unit_tokens=self.max_unit_tokens, emotion_categories=self.emotion_categories
        )

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        batch = self._text(rows)
        size, length = batch["unit_mask"].shape
        speaker_ids = torch.full((size, length), -1, dtype=torch.long)
        for row_index, row in enumerate(rows):
            ids = speaker_ids_for(row, row_index)
            speaker_ids[row_index, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        batch["speaker_ids"] = speaker_ids
        for name, table in (("audio", self.audio), ("visual", self.visual)):
            if table is not None:
                batch[f"{name}_features"] = self._features(rows, table, length)
        return batch

    def _features(self, rows: Sequence[Mapping[str, Any]], table: FeatureTable, length: int) -> torch.Tensor:
        features = torch.zeros((len(rows), length, table.dim), dtype=torch.float32)
        for row_index, row in enumerate(rows):
            count = len(row["units"])
            conversation = row.get("id", row_index)
            wheres = [f"conversation {conversation!r}, utterance {k}" for k in range(count)]
            keys = []
            for k in range(count):
                try:
                    keys.append(self.utterance_key(row, k))
                except FeatureLookupError as err:
                    raise FeatureLookupError(f"{wheres[k]}: {err}") from None
            features[row_index, :count] = torch.from_numpy(table.lookup(keys, wheres))
        return features


__all__ = [
    "FeatureLookupError",
    "FeatureTable",
    "MultimodalCollator",
    "ecf_utterance_key",
    "speaker_ids_for",
]
