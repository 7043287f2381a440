"""RECCON subtask-1 (causal span extraction) scores, as ``declare-lab/RECCON`` ``eval_qa.py::evaluate_results`` computes them.

Each question asks for the cause span of one target utterance in one candidate cause utterance; a *cause question*
has a gold span, a *no-cause question* (RECCON's "impossible" questions) has none. Here a gold or predicted span is
its text, ``""`` meaning "no cause". The reference first buckets every question (the vendored ``simpletransformers``
``calculate_results``): **exact** when ``prediction.strip() == truth.strip()``, else **partial** when one stripped
text contains the other, else **wrong**. Then, over the cause questions (P) and no-cause questions (N):

- ``exact_match_pos``: exact / |P| — raw string equality after ``strip()``, no SQuAD normalisation;
- ``f1_pos``: mean over P of 1 (exact), SQuAD-v2 token F1 (:func:`squad_f1`; partial, non-empty prediction) or 0
  (empty prediction, or a wrong one — token overlap outside a containment relation earns nothing);
- ``lcs_f1_pos``: the same with the script's "LCS F1" for partial answers: the longest common *character* substring,
  measured in whitespace tokens, as precision (over the prediction's tokens) and recall (over the gold's tokens);
- ``f1_neg`` (the script's "Inv F1"): F1 of the no-cause class — TP = no-cause questions answered ``""``,
  FN = no-cause questions answered with a span, FP = cause questions answered ``""``;
- ``f1_all`` / ``lcs_f1_all``: mean over P ∪ N, where a no-cause question scores 1 when answered ``""``, else 0.

All scores are in [0, 1] like the other ``hf_ecpe`` span scores (the script prints percentages: multiply by 100).
A ratio with a zero denominator (no cause question, no no-cause question, no predicted empty answer) is 0.0; the
script raises ``ZeroDivisionError`` or returns nan there.

``reccon_compat=True`` reproduces two quirks of the published script (the default counts correctly):

1. **Stale variable** — in the loop over wrong answers, the script tests ``z['predicted'] == ''`` with ``z`` left over
   from the loop over partial answers, i.e. the *last cause question, in input order, whose answer was partial or
   empty*. If that answer was empty, *every* wrong answer to a cause question is also counted as a false "no cause"
   prediction (FP of ``f1_neg``); if no cause question had a partial or empty answer while some had a wrong one, the
   script raises ``NameError`` — we raise :class:`~hf_ecpe.evaluation.MetricInputError` (a ``ValueError``) instead.
   The result therefore depends on question order.
2. **Sentinel gold text** — no-cause questions carry the gold text :data:`RECCON_IMPOSSIBLE_ANSWER`, so any
   prediction contained in it (``"I"``, ``"answer"``) is a "partial" answer and counts as a correct "no cause". A
   prediction equal to the sentinel makes the script crash (``TypeError``); a whitespace-only prediction to a cause
   question makes it divide by zero — both raise ``MetricInputError``.

By default whitespace-only predictions are treated as ``""`` and a no-cause question is answered correctly exactly
when the prediction is empty.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ._validation import MetricInputError, check_same_length, input_error

#: The answer text RECCON's QA files give to no-cause ("impossible") questions.
RECCON_IMPOSSIBLE_ANSWER = "Impossible \u2260\u00e6\u2260\u00e6\u2260 answer"

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def squad_normalize(text: str) -> str:
    """SQuAD answer normalisation: lower-case, drop ASCII punctuation, drop the articles a/an/the, squeeze spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def squad_f1(truth: str, prediction: str) -> float:
    """SQuAD-v2 ``compute_f1``: bag-of-tokens F1 of the normalised texts; 1.0 or 0.0 when either side is empty."""
    gold_tokens = squad_normalize(truth).split()
    pred_tokens = squad_normalize(prediction).split()
    if not gold_tokens or not pred_tokens:
        return float(gold_tokens == pred_tokens)
    num_same = sum((Counter(gold_tokens) & Counter(pred_tokens)).values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def longest_common_substring(first: str, second: str) -> str:
    """The longest common character substring (the first one found, scanning ``first`` then ``second``)."""
    best_len, best_end = 0, 0
    previous = [0] * (len(second) + 1)
    for i, char in enumerate(first):
        current = [0] * (len(second) + 1)
        for j, other in enumerate(second):
            if char == other:
                current[j + 1] = previous[j] + 1
                if current[j + 1] > best_len:
                    best_len, best_end = current[j + 1], i + 1
        previous = current
    return first[best_end - best_len : best_end]


def lcs_f1(truth: str, prediction: str) -> float:
    """The RECCON script's "LCS F1": the longest common character substring counted in whitespace tokens,
    precision over the prediction's tokens, recall over the gold's tokens. Defined for non-empty texts."""
    matched = len(longest_common_substring(truth, prediction).split())
    if matched == 0:
        return 0.0
    precision = matched / len(prediction.split())
    recall = matched / len(truth.split())
    return 2 * precision * recall / (precision + recall)


def span_texts(column: Any, *, what: str) -> Any:
    """Check that ``column`` is a list of span texts (``str``; ``""`` = no cause); ``None`` is returned unchanged."""
    if column is None:
        return None
    if isinstance(column, (str, bytes)) or not hasattr(column, "__len__"):
        raise input_error(what, None, f"expected one span text per question (a list of str), got {column!r:.80}")
    for i, text in enumerate(column):
        if not isinstance(text, str):
            raise input_error(what, i, f"expected a span text (str, '' for no cause), got {text!r}")
    return list(column)


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def reccon_span_scores(
    predictions: Sequence[str], references: Sequence[str], *, reccon_compat: bool = False
) -> dict[str, float]:
    """RECCON span-extraction scores over questions (see the module docstring for the definitions).

    Args:
        predictions: per question the predicted cause span text, ``""`` for "no cause".
        references: per question the gold cause span text, ``""`` for a no-cause question. Order matters only
            with ``reccon_compat=True``.
        reccon_compat: reproduce the published script's stale-variable miscount and sentinel quirks.

    Returns:
        ``exact_match_pos``, ``f1_pos``, ``lcs_f1_pos``, ``f1_neg``, ``f1_all``, ``lcs_f1_all`` in [0, 1].
    """
    check_same_length({"predictions": predictions, "references": references})
    preds = span_texts(predictions, what="predictions")
    golds = span_texts(references, what="references")

    exact_pos = 0
    squad_pos: list[float] = []
    lcs_pos: list[float] = []
    squad_all: list[float] = []
    lcs_all: list[float] = []
    true_empty = false_span = false_empty = 0  # no-cause class: TP, FN, FP
    stale_empty: bool | None = None  # compat: was the last partial/empty cause answer empty? None: none seen yet
    wrong_pos: list[int] = []

    for i, (pred, gold) in enumerate(zip(preds, golds)):
        if not gold.strip():  # no-cause question
            if reccon_compat:
                if pred.strip() == RECCON_IMPOSSIBLE_ANSWER:
                    raise input_error(
                        "predictions",
                        i,
                        "reccon_compat=True: a prediction equal to the no-cause sentinel text makes the reference "
                        "script crash (TypeError); there is no published number to reproduce",
                    )
                answered_empty = pred.strip() in RECCON_IMPOSSIBLE_ANSWER or RECCON_IMPOSSIBLE_ANSWER in pred.strip()
            else:
                answered_empty = not pred.strip()
            true_empty += answered_empty
            false_span += not answered_empty
            squad_all.append(float(answered_empty))
            lcs_all.append(float(answered_empty))
            continue

        if pred.strip() == gold.strip():  # exact
            exact_pos += 1
            squad_score = lcs_score = 1.0
        elif pred.strip() in gold.strip() or gold.strip() in pred.strip():  # partial (includes empty predictions)
            if reccon_compat:
                stale_empty = pred == ""
                if pred != "" and not pred.strip():
                    raise input_error(
                        "predictions",
                        i,
                        "reccon_compat=True: a whitespace-only answer to a cause question makes the reference script "
                        "divide by zero; pass '' for 'no cause'",
                    )
            if pred.strip():
                squad_score, lcs_score = squad_f1(gold, pred), lcs_f1(gold, pred)
            else:
                false_empty += 1
                squad_score = lcs_score = 0.0
        else:  # wrong
            wrong_pos.append(i)
            squad_score = lcs_score = 0.0
        squad_pos.append(squad_score)
        lcs_pos.append(lcs_score)
        squad_all.append(squad_score)
        lcs_all.append(lcs_score)

    if reccon_compat and wrong_pos:
        if stale_empty is None:
            raise MetricInputError(
                f"reccon_compat=True: cause questions {wrong_pos[:5]} have wrong answers but no cause question has a "
                "partial or empty answer, so the reference script reads an unset variable and raises NameError; "
                "there is no published number to reproduce (use reccon_compat=False)"
            )
        if stale_empty:
            false_empty += len(wrong_pos)

    precision = _ratio(true_empty, true_empty + false_empty)
    recall = _ratio(true_empty, true_empty + false_span)
    return {
        "exact_match_pos": _ratio(exact_pos, len(squad_pos)),
        "f1_pos": _ratio(math.fsum(squad_pos), len(squad_pos)),
        "lcs_f1_pos": _ratio(math.fsum(lcs_pos), len(lcs_pos)),
        "f1_neg": _ratio(2 * precision * recall, precision + recall),
        "f1_all": _ratio(math.fsum(squad_all), len(squad_all)),
        "lcs_f1_all": _ratio(math.fsum(lcs_all), len(lcs_all)),
    }


__all__ = [
    "RECCON_IMPOSSIBLE_ANSWER",
    "lcs_f1",
    "longest_common_substring",
    "reccon_span_scores",
    "span_texts",
    "squad_f1",
    "squad_normalize",
]
