"""Shared input checks for the metric functions in :mod:`hf_ecpe.evaluation`.

Every check raises :class:`MetricInputError` (a ``ValueError``) whose message starts with where the problem is —
``"predictions[3]: ..."`` names the input and the 0-based example index — then says what is wrong and how to fix it.
The helpers only depend on the standard library and numpy, so metric functions stay importable without ``evaluate``.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

_INT_STRING = re.compile(r"^\s*[+-]?\d+\s*$")


class MetricInputError(ValueError):
    """Metric inputs are malformed. The message names the input, the example index and the fix."""


def input_error(what: str, example: int | None, problem: str) -> MetricInputError:
    """Build the error for ``what`` (an input name) at ``example`` (0-based, or ``None`` for the whole input)."""
    where = what if example is None else f"{what}[{example}]"
    return MetricInputError(f"{where}: {problem}")


def check_same_length(columns: Mapping[str, Sequence[Any] | None]) -> int:
    """Check that every non-``None`` column has the same number of examples; return that number.

    ``columns`` maps input names to per-example sequences, e.g. ``{"predictions": preds, "references": refs}``.
    """
    lengths = {}
    for name, column in columns.items():
        if column is None:
            continue
        check_column(column, what=name)
        lengths[name] = len(column)
    if not lengths:
        raise MetricInputError("no inputs given: pass at least `predictions` and `references`")
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise MetricInputError(
            f"inputs have different numbers of examples ({detail}); pass one entry per example to each"
        )
    return next(iter(lengths.values()))


def check_column(column: Any, *, what: str) -> None:
    """``column`` holds one entry per example in order: a list, tuple or array — not a string, a dict or a set."""
    if isinstance(column, Mapping):
        raise input_error(
            what,
            None,
            "got a dict; pass one entry per example in a list, in the same order for every input "
            "(e.g. [column[key] for key in keys])",
        )
    if isinstance(column, (set, frozenset)):
        raise input_error(what, None, "got a set, which has no order; pass one entry per example in a list")
    if isinstance(column, (str, bytes)) or not hasattr(column, "__len__"):
        raise input_error(what, None, f"expected one entry per example (a list), got {type(column).__name__}")


def check_epsilon(epsilon: Any) -> float:
    """The smoothing term of :func:`~hf_ecpe.evaluation.prf`: a finite number ``>= 0``."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not math.isfinite(epsilon) or epsilon < 0:
        raise MetricInputError(
            f"epsilon must be a finite number >= 0 (the reference scorers use 1e-8, 0 gives exact ratios), "
            f"got {epsilon!r}"
        )
    return float(epsilon)


def check_num_units(num_units: int | Sequence[int] | None, num_examples: int) -> list[int] | None:
    """Normalise ``num_units`` (units per example: one int for all, one int per example, or ``None``)."""
    if num_units is None:
        return None
    if isinstance(num_units, numbers.Integral) and not isinstance(num_units, bool):
        per_example = [int(num_units)] * num_examples
    else:
        if len(num_units) != num_examples:
            raise input_error(
                "num_units", None, f"has {len(num_units)} entries for {num_examples} examples; give one per example"
            )
        per_example = [_as_int(n, "num_units", i) for i, n in enumerate(num_units)]
    for i, n in enumerate(per_example):
        if n < 0:
            raise input_error("num_units", i, f"must be >= 0, got {n}")
    return per_example


#: Indices and offsets must fit in int64: the ``evaluate`` modules store them in int64 Arrow columns.
_INT64_LIMIT = 2**63


def _as_int(value: Any, what: str, example: int | None) -> int:
    if isinstance(value, bool) or value is None:
        raise input_error(what, example, f"expected an integer index, got {value!r}")
    if isinstance(value, numbers.Integral):
        index = int(value)
    elif isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        index = int(value)
    elif isinstance(value, str) and _INT_STRING.match(value):
        index = int(value)
    else:
        raise input_error(what, example, f"expected an integer index, got {value!r}")
    if not -_INT64_LIMIT <= index < _INT64_LIMIT:
        raise input_error(what, example, f"integer {index} is too large to be a unit index or offset")
    return index


def check_index(value: Any, *, what: str, example: int, num_units: int | None = None, name: str = "index") -> int:
    """A unit index as ``int``: integral (int, numpy int, integral float or digit string), ``>= 0`` and, when
    ``num_units`` is given, ``< num_units``. ``name`` labels the index in the message (``"emotion index"``)."""
    index = _as_int(value, what, example)
    if index < 0:
        raise input_error(what, example, f"{name} {index} is negative; indices are 0-based unit positions")
    if num_units is not None and index >= num_units:
        raise input_error(
            what, example, f"{name} {index} is out of range for an example with {num_units} units (0..{num_units - 1})"
        )
    return index


def check_category(value: Any, *, what: str, example: int, categories: Collection[str] | None = None) -> str:
    """A category label: a non-empty string, one of ``categories`` when that is given."""
    if not isinstance(value, str) or not value.strip():
        raise input_error(what, example, f"category must be a non-empty string, got {value!r}")
    label = value.strip()
    if categories is not None and label not in categories:
        raise input_error(
            what, example, f"unknown category {label!r}; known categories: {sorted(categories)} (pass `categories=`)"
        )
    return label


def check_pairs(
    pairs: Any,
    *,
    what: str,
    example: int,
    num_units: int | None = None,
    categories: Collection[str] | None = None,
) -> list[tuple]:
    """One example's pairs ``[[emotion, cause], ...]`` or ``[[emotion, cause, category], ...]`` as tuples.

    Returns ``(emotion, cause)`` or ``(emotion, cause, category)`` tuples in input order (duplicates kept). All pairs
    of one example must have the same form.
    """
    if pairs is None:
        raise input_error(what, example, "got None; use [] for an example without pairs")
    if isinstance(pairs, Mapping) and "pairs" in pairs:  # a pipeline result or a canonical row: its pairs
        pairs = pairs["pairs"]
    if isinstance(pairs, (str, bytes, Mapping)) or not hasattr(pairs, "__len__"):
        raise input_error(what, example, f"expected a list (or set) of pairs, got {type(pairs).__name__}")
    out: list[tuple] = []
    width = None
    for k, pair in enumerate(pairs):
        if isinstance(pair, (set, frozenset)):
            raise input_error(
                what, example, f"pair {k} is the set {pair!r}, which has no order; give [emotion_index, cause_index]"
            )
        if isinstance(pair, Mapping):
            pair = _pair_from_dict(pair, k, what=what, example=example)
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) not in (2, 3):
            raise input_error(
                what,
                example,
                f"pair {k} is {pair!r}; expected [emotion_index, cause_index] or [emotion, cause, category]",
            )
        if width is not None and len(pair) != width:
            raise input_error(what, example, f"pair {k} has {len(pair)} elements but pair 0 has {width}; use one form")
        width = len(pair)
        emotion = check_index(pair[0], what=what, example=example, num_units=num_units, name=f"pair {k} emotion index")
        cause = check_index(pair[1], what=what, example=example, num_units=num_units, name=f"pair {k} cause index")
        if width == 3:
            out.append((emotion, cause, check_category(pair[2], what=what, example=example, categories=categories)))
        else:
            out.append((emotion, cause))
    return out


def _pair_from_dict(pair: Mapping[str, Any], k: int, *, what: str, example: int) -> tuple:
    """A pipeline pair (``emotion_index`` / ``cause_index``) or a canonical-row pair (``emotion`` / ``cause``) as an
    ``(emotion, cause)`` tuple. Categories are not read from dicts: a model's and a corpus's label vocabularies may
    differ (``joy`` / ``happiness``); give ``[emotion, cause, category]`` triples for category-aware scores."""
    for emotion_key, cause_key in (("emotion_index", "cause_index"), ("emotion", "cause")):
        if emotion_key in pair and cause_key in pair:
            return (pair[emotion_key], pair[cause_key])
    raise input_error(
        what,
        example,
        f"pair {k} is a dict with keys {sorted(map(str, pair))}; a pair dict needs 'emotion_index' and 'cause_index' "
        "(pipeline output) or 'emotion' and 'cause' (canonical rows), else give [emotion_index, cause_index]",
    )


def check_indices(
    indices: Any, *, what: str, example: int, num_units: int | None = None, name: str = "index"
) -> list[int]:
    """One example's list of unit indices (e.g. predicted emotion units), each checked by :func:`check_index`."""
    if indices is None:
        raise input_error(what, example, "got None; use [] for an example without indices")
    if isinstance(indices, (str, bytes, Mapping)) or not hasattr(indices, "__len__"):
        raise input_error(what, example, f"expected a list of unit indices, got {type(indices).__name__}")
    return [check_index(v, what=what, example=example, num_units=num_units, name=name) for v in indices]


def check_span(
    span: Any, *, what: str, example: int, length: int | None = None, name: str = "span"
) -> tuple[int, int]:
    """A half-open ``[start, end)`` span with ``0 <= start <= end`` (``<= length`` when given)."""
    if isinstance(span, (str, bytes)) or not hasattr(span, "__len__") or len(span) != 2:
        raise input_error(what, example, f"{name} {span!r} must be [start, end)")
    start = _as_int(span[0], what, example)
    end = _as_int(span[1], what, example)
    if not 0 <= start <= end:
        raise input_error(what, example, f"{name} [{start}, {end}) needs 0 <= start <= end")
    if length is not None and end > length:
        raise input_error(what, example, f"{name} [{start}, {end}) runs past the end ({length})")
    return start, end


def check_binary_labels(values: Any, *, what: str, example: int | None = None) -> np.ndarray:
    """A 1-D array of 0/1 labels (bools, ints or integral floats) as ``int64``."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise input_error(what, example, f"expected a flat list of 0/1 labels, got shape {array.shape}")
    if array.size == 0:
        return array.astype(np.int64)
    if array.dtype.kind not in "biuf":
        raise input_error(what, example, f"labels must be 0/1 numbers, got dtype {array.dtype}")
    bad = ~np.isin(array, (0, 1))
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise input_error(what, example, f"label {array[position].item()!r} at position {position} is not 0 or 1")
    return array.astype(np.int64)


def check_scores(values: Any, *, what: str, example: int | None = None) -> np.ndarray:
    """A 1-D array of finite real scores as ``float64``."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise input_error(what, example, f"expected a flat list of scores, got shape {array.shape}")
    if array.size == 0:
        return array.astype(np.float64)
    if array.dtype.kind not in "biuf":
        raise input_error(what, example, f"scores must be real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        position = int(np.flatnonzero(~np.isfinite(array))[0])
        raise input_error(what, example, f"score {array[position].item()!r} at position {position} is not finite")
    return array


def pairs_as_strings(column: Any) -> Any:
    """Per-example pair lists with every pair element turned into ``str`` (``[2, 1, "joy"]`` → ``["2", "1", "joy"]``).

    The ``evaluate`` modules store pairs as ``List(List(Value("string")))`` so that ``[emotion, cause]`` and
    ``[emotion, cause, category]`` share one Arrow type; their ``add``/``add_batch`` pass inputs through this first.
    Anything that is not a list of lists is returned unchanged, for the validation to report.
    """

    def is_list(value: Any) -> bool:
        return hasattr(value, "__iter__") and not isinstance(value, (str, bytes, Mapping))

    def as_string(value: Any) -> str:
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)):
            if float(value).is_integer():  # 2.0 from a float array is index 2, as in the numpy functions
                return str(int(value))
        return str(value)

    if not is_list(column):
        return column
    return [
        [[as_string(x) for x in pair] if is_list(pair) else pair for pair in example] if is_list(example) else example
        for example in column
    ]


# ------------------------------------------------------------------------------------------ the evaluate modules
# An ``evaluate`` module encodes its inputs into Arrow features before ``_compute`` sees them, and Arrow casts
# (0.9 -> 0 in an int32 column, "1" -> 1). The modules therefore check every batch with the same helpers as the
# functions *before* encoding, so that module and function refuse the same inputs with the same message.


def module_binary_labels(column: Any, *, what: str) -> list[int] | None:
    """A column of 0/1 labels checked by :func:`check_binary_labels`, as plain ints (``None`` unchanged)."""
    if column is None:
        return None
    check_column(column, what=what)
    return check_binary_labels(column, what=what).tolist()


def module_pairs(column: Any, *, what: str) -> Any:
    """Per-example pairs checked by :func:`check_pairs` (indices, category type; ``num_units`` and the category
    vocabulary are checked at compute time), as :func:`pairs_as_strings` stores them. ``None`` unchanged."""
    if column is None:
        return None
    check_column(column, what=what)
    for i, pairs in enumerate(column):
        check_pairs(pairs, what=what, example=i)
    return pairs_as_strings(column)


def module_indices(column: Any, *, what: str, name: str = "index") -> list[list[int]] | None:
    """Per-example unit indices checked by :func:`check_indices`, as ints (``None`` unchanged)."""
    if column is None:
        return None
    check_column(column, what=what)
    return [check_indices(indices, what=what, example=i, name=name) for i, indices in enumerate(column)]
