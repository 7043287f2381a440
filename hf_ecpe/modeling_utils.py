"""Pair-model helpers that are not one method's: the original of each.

Used by the pipelines (:func:`plan_unit_windows` cuts long inputs into pieces), the losses (:func:`pair_margins`,
:func:`pair_probabilities`) and the model folders. A model folder is shipped as remote code by ``save_pretrained``
and may import only torch, transformers and its own files, so each folder that needs one of these carries a copy
marked ``# Copied from hf_ecpe.modeling_utils.<name>``, kept identical by ``python -m hf_ecpe.tools.check_copies``.
This module therefore imports only the standard library and torch.

Shapes: B documents, N units; pair tensors are indexed ``[b, i, j]`` with i = emotion unit, j = cause unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

#: Value of ``pair_logits`` outside ``candidate_mask`` (finite, so that sums and softmaxes never produce NaN).
PAIR_LOGIT_FILL = -1e4


def _check_shape(name: str, tensor: torch.Tensor, shape: tuple[int, ...]) -> None:
    if tuple(tensor.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(tensor.shape)}")


def plan_unit_windows(
    unit_starts: Sequence[int], length: int, max_tokens: int, overlap_units: int
) -> tuple[list[tuple[int, int]], list[int]]:
    """Split one document (a row of the batch) into encoder windows made of whole units.

    Unit k occupies tokens ``[unit_starts[k], unit_starts[k + 1])`` (the last one ends at ``length``).

    Rule: the first window starts at unit 0 and takes as many whole units as fit into ``max_tokens``. Each next
    window starts ``overlap_units`` units before the previous window's end (later if needed so that it still fits the
    first new unit; always at least one unit later than the previous start) and again takes as many whole units as
    fit. Every unit lies in one or more windows; its vector is taken from the window where it has the most context,
    i.e. where ``min(units to the window's left edge, units to its right edge)`` is largest (an edge that is the
    document's own start or end counts as unlimited context); ties go to the earlier window. So a unit is never taken
    from a window edge when a window with context on both sides exists.

    Returns:
        ``windows``: ``[(first_unit, end_unit), ...]`` (end exclusive) and ``owner``: per unit, the index in
        ``windows`` of the window its vector comes from.

    Raises:
        ValueError: a single unit is longer than ``max_tokens``.
    """
    count = len(unit_starts)
    ends = list(unit_starts[1:]) + [length]
    for index, (start, end) in enumerate(zip(unit_starts, ends)):
        if end - start > max_tokens:
            raise ValueError(
                f"unit {index} has {end - start} tokens, more than the encoder window of {max_tokens} tokens; "
                "truncate long units with the pipeline argument max_unit_tokens=... (pipeline(text, "
                "max_unit_tokens=256)), ClauseCollator(max_unit_tokens=...) / MultimodalCollator(max_unit_tokens=...) "
                "in training, or raise the model config's max_window_tokens (at most the encoder's "
                "max_position_embeddings)."
            )
    windows: list[tuple[int, int]] = []
    first = 0
    while True:
        end = first + 1
        while end < count and ends[end] - unit_starts[first] <= max_tokens:
            end += 1
        windows.append((first, end))
        if end == count:
            break
        next_first = max(end - overlap_units, first + 1)
        while ends[end] - unit_starts[next_first] > max_tokens:  # make room for the first new unit
            next_first += 1
        first = next_first
    owner = []
    lowest = 0  # the first window still reaching the unit: starts and ends both increase, so a unit's windows are
    for unit in range(count):  # consecutive and each unit looks at its own few (linear in the document's length)
        while windows[lowest][1] <= unit:
            lowest += 1
        best, best_context = -1, -1.0
        for index in range(lowest, len(windows)):
            first, end = windows[index]
            if first > unit:
                break
            left = math.inf if first == 0 else unit - first
            right = math.inf if end == count else end - 1 - unit
            context = min(left, right)
            if context > best_context:
                best, best_context = index, context
        owner.append(best)
    return windows, owner


def pair_margins(pair_logits: torch.Tensor) -> torch.Tensor:
    """`(B, N, N, 2)` 2-way logits -> `(B, N, N)` ``s[..., 1] - s[..., 0]``, the binary logit with
    ``sigmoid(margin) = softmax(s)[..., 1]`` (``(B, N, N)`` input is returned unchanged)."""
    pair_logits = torch.as_tensor(pair_logits)
    if pair_logits.dim() == 4 and pair_logits.size(-1) == 2:
        return pair_logits[..., 1] - pair_logits[..., 0]
    if pair_logits.dim() == 3:
        return pair_logits
    raise ValueError(f"pair_logits must have shape (B, N, N, 2) or (B, N, N), got {tuple(pair_logits.shape)}")


def pair_probabilities(pair_logits: torch.Tensor) -> torch.Tensor:
    """P(pair) `(B, N, N)`: ``softmax(pair_logits)[..., 1]`` for 2-way logits, ``sigmoid`` for binary logits."""
    pair_logits = torch.as_tensor(pair_logits)
    if pair_logits.dim() == 4 and pair_logits.size(-1) == 2:
        return pair_logits.softmax(dim=-1)[..., 1]
    return torch.sigmoid(pair_margins(pair_logits))


__all__ = ["PAIR_LOGIT_FILL", "pair_margins", "pair_probabilities", "plan_unit_windows"]
