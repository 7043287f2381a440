"""A ``pipeline("emotion-cause")`` result as HTML (plain Python, no Gradio): the units with emotions and causes
highlighted and linked, the pairs with categories and scores, and the pair-score heatmap.

Every fragment is self-contained (its own ``<style>``, scoped under ``.ecpe``), so it renders the same in the web
demo, a notebook (``IPython.display.HTML``) or a saved page. All user text is escaped. Unit numbers are the
pipeline's 0-based indices (``#0`` is ``units[0]``, as in ``pairs[k]["emotion_index"]``). Each unit carries
``id="ecpe-unit-<i>"`` and ``data-role`` (``emotion``, ``cause``, ``emotion cause`` or ``none``), and each cause
link is ``<a href="#ecpe-unit-<i>">``, so the markup is also what the browser test asserts on.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hf_ecpe.app.parsing import ParsedInput

NO_PAIR_MESSAGE = "No emotion–cause pair found."
#: Units beyond which the heatmap is not drawn (an n × n table stops being readable).
MAX_HEATMAP_UNITS = 40

#: ``category: (background, accent)``: light background of the unit, strong colour of its label. Categories not
#: listed (other label sets) take :data:`FALLBACK_COLOURS` in turn; an emotion without a category is ``"emotion"``.
CATEGORY_COLOURS: dict[str, tuple[str, str]] = {
    "anger": ("#fde0dd", "#c62828"),
    "disgust": ("#e5f2d3", "#558b2f"),
    "fear": ("#ece2f6", "#6a3d9a"),
    "joy": ("#fff2b8", "#a87800"),
    "happiness": ("#fff2b8", "#a87800"),
    "sadness": ("#dceafc", "#1f5fbf"),
    "surprise": ("#ffe3c7", "#d35400"),
    "emotion": ("#fce1ef", "#ad1457"),
}
FALLBACK_COLOURS = (("#e0f2f1", "#00796b"), ("#f3e5f5", "#8e24aa"), ("#fff8e1", "#ff8f00"), ("#e8eaf6", "#3949ab"))
CAUSE_ACCENT = "#00897b"

STYLE = """
<style>
.ecpe { font-size: 15px; line-height: 1.6; color: var(--body-text-color, #1f2328); overflow-x: auto; }
.ecpe a.ecpe-link, .ecpe a.ecpe-link:visited { color: #0b5cad !important; text-decoration: none !important;
  font-weight: 600; font-size: inherit !important; padding: 0 !important; margin: 0 !important; }
.ecpe .ecpe-chip a.ecpe-link, .ecpe .ecpe-chip a.ecpe-link:visited { color: #fff !important;
  text-decoration: underline !important; }
.ecpe .ecpe-doc { line-height: 2.5; }
.ecpe .ecpe-unit[style], .ecpe .ecpe-turn .ecpe-unit { color: #1f2328; }
.ecpe .ecpe-unit { border-radius: 6px; padding: 3px 5px; scroll-margin-top: 80px; -webkit-box-decoration-break: clone;
  box-decoration-break: clone; }
.ecpe .ecpe-doc .ecpe-unit.ecpe-cause { border-bottom: 3px solid #00897b; }
.ecpe .ecpe-unit:target { outline: 3px solid #f9a825; }
.ecpe .ecpe-num { font-size: 11px; font-weight: 700; opacity: 0.65; margin-right: 4px; vertical-align: 1px; }
.ecpe .ecpe-chip { display: inline-block; font-size: 11.5px; line-height: 1.6; font-weight: 600; color: #fff;
  border-radius: 10px; padding: 0 8px; margin-left: 5px; vertical-align: 1px; white-space: nowrap; }
.ecpe .ecpe-cause-chip { background: #00897b; }
.ecpe .ecpe-turns { display: flex; flex-direction: column; gap: 6px; }
.ecpe .ecpe-turn { display: flex; gap: 10px; align-items: flex-start; }
.ecpe .ecpe-speaker { flex: 0 0 64px; font-weight: 700; color: #57606a; text-align: right; padding-top: 5px;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.ecpe .ecpe-turn .ecpe-unit { flex: 1 1 auto; display: block; padding: 5px 10px; border-left: 5px solid #e4e7eb;
  background: #f6f8fa; }
.ecpe .ecpe-turn .ecpe-unit.ecpe-cause { border-left-color: #00897b !important; }
.ecpe .ecpe-summary { padding: 8px 12px; border-radius: 8px; background: #f6f8fa; border: 1px solid #d0d7de; }
.ecpe .ecpe-summary.ecpe-error { background: #fff1f0; border-color: #ffa39e; color: #a8071a; }
.ecpe table { border: none !important; border-collapse: collapse !important; font-size: 13.5px; margin: 0 !important; }
.ecpe table tr { border: none !important; }
.ecpe .ecpe-snippet { display: inline-block; max-width: 125px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; vertical-align: bottom; }
.ecpe table.ecpe-pairs td, .ecpe table.ecpe-pairs th { border: none !important; border-bottom: 1px solid #d8dee4
  !important; padding: 6px 8px !important; text-align: left; vertical-align: top; background: none !important;
  white-space: nowrap; }
.ecpe table.ecpe-pairs th { font-weight: 600; color: #57606a; font-size: 12.5px; }
.ecpe .ecpe-bar { display: inline-block; height: 8px; border-radius: 4px; background: #00897b; margin-right: 6px; }
.ecpe table.ecpe-heatmap td, .ecpe table.ecpe-heatmap th { min-width: 44px; height: 34px; text-align: center;
  font-size: 12px; padding: 0 4px !important; border: 2px solid #fff !important; }
.ecpe table.ecpe-heatmap th { font-weight: 600; color: #57606a; background: none !important; }
.ecpe table.ecpe-heatmap th.ecpe-rowhead { text-align: right; max-width: 160px; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; padding-right: 10px !important; font-weight: 400; }
.ecpe table.ecpe-heatmap td.ecpe-pair { outline: 3px solid #e53935; outline-offset: -3px; font-weight: 700; }
.ecpe table.ecpe-heatmap td.ecpe-off { background: #f3f4f6; color: #b0b7c0; }
.ecpe .ecpe-caption { font-size: 12.5px; color: #57606a; margin-top: 8px; }
.ecpe .ecpe-legend { display: inline-block; width: 18px; height: 10px; vertical-align: middle; }
</style>
"""


@dataclass(frozen=True)
class RenderedResult:
    """The demo's four HTML fragments for one result."""

    summary: str
    units: str
    pairs: str
    heatmap: str


def _wrap(body: str) -> str:
    return f'{STYLE}<div class="ecpe">{body}</div>'


def _escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _short(text: str, width: int = 48) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _snippet(text: str) -> str:
    """A unit's text cut to one line by CSS (the whole text in its tooltip)."""
    return f'<span class="ecpe-snippet" title="{_escape(text)}">{_escape(text)}</span>'


def category_colours(category: str | None) -> tuple[str, str]:
    """``(background, accent)`` of an emotion category (``None``: an emotion unit without a category head); a
    category outside :data:`CATEGORY_COLOURS` always gets the same one of :data:`FALLBACK_COLOURS`."""
    if category is None:
        return CATEGORY_COLOURS["emotion"]
    if category.lower() in CATEGORY_COLOURS:
        return CATEGORY_COLOURS[category.lower()]
    return FALLBACK_COLOURS[sum(map(ord, category)) % len(FALLBACK_COLOURS)]


def _link(index: int) -> str:
    return f'<a class="ecpe-link" href="#ecpe-unit-{index}">#{index}</a>'


def _unit_span(
    index: int,
    text: str,
    emotion: Mapping[str, Any] | None,
    cause: Mapping[str, Any] | None,
    pair_scores: Mapping[tuple[int, int], float],
) -> str:
    """One unit: its number, its text (highlighted when it is an emotion unit, marked in teal when it is a cause) and
    its labels: the emotion's category and score with links to its causes, ``cause of #i`` for each emotion."""
    roles, chips, style, title = [], [], "", []
    if emotion is not None:
        roles.append("emotion")
        category = emotion.get("category")
        background, accent = category_colours(category)
        style = f' style="background:{background};border-left-color:{accent}"'
        label = category if category is not None else "emotion"
        score = emotion.get("category_score", emotion["score"])
        causes = emotion.get("causes", [])
        caused_by = f" ← {' '.join(_link(c) for c in causes)}" if causes else ""
        chips.append(
            f'<span class="ecpe-chip ecpe-emotion-chip" style="background:{accent}" data-category="{_escape(label)}">'
            f"{_escape(label)} {score:.2f}{caused_by}</span>"
        )
        title.append(f"emotion unit (emotion score {emotion['score']:.2f})")
        if category is not None:
            title.append(f"category {category} ({emotion['category_score']:.2f})")
    if cause is not None:
        roles.append("cause")
        for emotion_index in cause.get("emotions", []):
            score = pair_scores.get((emotion_index, index))
            itself = " (itself)" if emotion_index == index else ""
            chips.append(
                f'<span class="ecpe-chip ecpe-cause-chip" data-cause-of="{emotion_index}">cause of '
                f"{_link(emotion_index)}{itself}{f' · {score:.2f}' if score is not None else ''}</span>"
            )
        title.append(f"cause unit (cause score {cause['score']:.2f})")
    classes = " ".join(["ecpe-unit", *(f"ecpe-{role}" for role in roles)])
    tooltip = f' title="{_escape("; ".join(title))}"' if title else ""
    return (
        f'<span class="{classes}" id="ecpe-unit-{index}" data-index="{index}" data-role="{" ".join(roles) or "none"}"'
        f'{style}{tooltip}><span class="ecpe-num">#{index}</span>{_escape(text)}{"".join(chips)}</span>'
    )


def _pair_score_lookup(result: Mapping[str, Any]) -> dict[tuple[int, int], float]:
    return {(p["emotion_index"], p["cause_index"]): float(p["score"]) for p in result.get("pairs", [])}


def render_units(result: Mapping[str, Any], parsed: ParsedInput | None = None) -> str:
    """The units in reading order, emotion units highlighted in their category's colour, cause units marked in teal,
    each label linking to the units of its pairs. A document (with ``offsets`` into ``parsed.text``) is shown as its
    text with the text between units kept; a conversation as one line per utterance with its speaker."""
    units: list[str] = list(result.get("units", []))
    if not units:
        return _wrap('<div class="ecpe-summary ecpe-none">No units: the text is empty.</div>')
    emotions = {e["index"]: e for e in result.get("emotions", [])}
    causes = {c["index"]: c for c in result.get("causes", [])}
    scores = _pair_score_lookup(result)
    spans = [_unit_span(i, unit, emotions.get(i), causes.get(i), scores) for i, unit in enumerate(units)]
    offsets = result.get("offsets")
    text = parsed.text if parsed is not None else None
    if text is not None and offsets and len(offsets) == len(units) and all(offsets):
        pieces, position = [], 0
        for span, (start, end) in zip(spans, offsets):
            pieces.append(_escape(text[position:start]))
            pieces.append(span)
            position = end
        pieces.append(_escape(text[position:]))
        return _wrap(f'<div class="ecpe-doc">{"".join(pieces)}</div>')
    speakers = parsed.speakers if parsed is not None and parsed.speakers else None
    if speakers is not None and len(speakers) != len(units):
        speakers = None
    if speakers is None and (parsed is None or parsed.kind == "document"):
        return _wrap(f'<div class="ecpe-doc">{" ".join(spans)}</div>')
    rows = []
    for i, span in enumerate(spans):
        speaker = f'<span class="ecpe-speaker">{_escape(speakers[i])}</span>' if speakers else ""
        rows.append(f'<div class="ecpe-turn">{speaker}{span}</div>')
    return _wrap(f'<div class="ecpe-turns">{"".join(rows)}</div>')


def render_pairs(result: Mapping[str, Any]) -> str:
    """The pairs, best first: emotion unit, category and its probability, cause unit, pair probability; then the
    emotion units with no cause above the threshold. :data:`NO_PAIR_MESSAGE` when there is no pair."""
    pairs = list(result.get("pairs", []))
    lonely = [e for e in result.get("emotions", []) if not e.get("causes")]
    parts = []
    if pairs:
        has_category = any("category" in p for p in pairs)
        header = "<th>emotion unit</th>" + ("<th>category</th>" if has_category else "")
        header += "<th>cause unit</th><th>probability</th>"
        rows = []
        for pair in pairs:
            e, c = pair["emotion_index"], pair["cause_index"]
            category = ""
            if has_category:
                _, accent = category_colours(pair.get("category"))
                category = (
                    f'<td><span class="ecpe-chip" style="background:{accent};margin-left:0">'
                    f"{_escape(pair.get('category', '–'))}</span> {pair.get('category_score', float('nan')):.2f}</td>"
                )
            score = float(pair["score"])
            rows.append(
                f'<tr data-emotion="{e}" data-cause="{c}"><td>{_link(e)} {_snippet(pair["emotion_text"])}</td>'
                f"{category}<td>{_link(c)} {_snippet(pair['cause_text'])}</td>"
                f'<td><span class="ecpe-bar" style="width:{round(40 * score)}px"></span>{score:.3f}</td></tr>'
            )
        parts.append(f'<table class="ecpe-pairs"><tr>{header}</tr>{"".join(rows)}</table>')
    else:
        parts.append(f'<div class="ecpe-summary ecpe-none">{NO_PAIR_MESSAGE}</div>')
    if lonely:
        listed = ", ".join(
            f"{_link(e['index'])} ({_escape(e.get('category', 'emotion'))} {e.get('category_score', e['score']):.2f})"
            for e in lonely
        )
        parts.append(f'<div class="ecpe-caption">Emotion units without a cause above the threshold: {listed}</div>')
    return _wrap("".join(parts))


#: Viridis at 0, .25, .5, .75, 1 (matplotlib's default map, as in :func:`hf_ecpe.plot_pair_scores`).
_VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def heat_colour(probability: float) -> tuple[str, str]:
    """``(background, text colour)`` of a probability in [0, 1] on the viridis scale."""
    p = min(max(float(probability), 0.0), 1.0) * (len(_VIRIDIS) - 1)
    low = min(int(math.floor(p)), len(_VIRIDIS) - 2)
    t = p - low
    r, g, b = (round(a + (c - a) * t) for a, c in zip(_VIRIDIS[low], _VIRIDIS[low + 1]))
    text = "#111" if (0.299 * r + 0.587 * g + 0.114 * b) > 150 else "#fff"
    return f"rgb({r},{g},{b})", text


def render_heatmap(result: Mapping[str, Any], threshold: float | None = None) -> str:
    """The n × n pair-probability matrix (row = emotion unit, column = cause unit; ``return_pair_scores=True``) as
    a coloured table, extracted pairs outlined, non-candidates grey. ``threshold``: the decision threshold to state."""
    matrix = result.get("pair_scores")
    units = list(result.get("units", []))
    if matrix is None:
        return _wrap('<div class="ecpe-caption">This model returns no pair scores.</div>')
    n = len(matrix)
    if n == 0:
        return _wrap('<div class="ecpe-caption">No units, no pair scores.</div>')
    if n > MAX_HEATMAP_UNITS:
        return _wrap(f'<div class="ecpe-caption">{n} units: too many to draw (at most {MAX_HEATMAP_UNITS}).</div>')
    pairs = set(_pair_score_lookup(result))
    header = "".join(f'<th title="{_escape(units[j]) if j < len(units) else ""}">#{j}</th>' for j in range(n))
    rows = []
    for i, row in enumerate(matrix):
        label = f"#{i} {_escape(_short(units[i], 36))}" if i < len(units) else f"#{i}"
        cells = []
        for j, value in enumerate(row):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append('<td class="ecpe-off" title="not a candidate">·</td>')
                continue
            background, colour = heat_colour(value)
            marked = " ecpe-pair" if (i, j) in pairs else ""
            cells.append(
                f'<td class="ecpe-cell{marked}" data-emotion="{i}" data-cause="{j}" '
                f'style="background:{background};color:{colour}" title="emotion #{i}, cause #{j}: {value:.3f}">'
                f"{value:.2f}</td>"
            )
        rows.append(
            f'<tr><th class="ecpe-rowhead" title="{_escape(units[i]) if i < len(units) else ""}">{label}</th>'
            f"{''.join(cells)}</tr>"
        )
    caption = "Rows: emotion unit · columns: cause unit · cell: pair probability · outlined: extracted pairs"
    if threshold is not None:
        caption += f" · decision threshold {threshold:.2f}"
    legend = "".join(
        f'<span class="ecpe-legend" style="background:{heat_colour(k / 10)[0]}"></span>' for k in range(11)
    )
    return _wrap(
        f'<table class="ecpe-heatmap"><tr><th class="ecpe-rowhead">emotion ↓ · cause →</th>{header}</tr>'
        f'{"".join(rows)}</table><div class="ecpe-caption">0 {legend} 1 &nbsp; {caption}</div>'
    )


def render_summary(result: Mapping[str, Any], parsed: ParsedInput | None = None, model_name: str | None = None) -> str:
    """One line: how the input was read, the model, the number of pairs, or :data:`NO_PAIR_MESSAGE`."""
    pairs = result.get("pairs", [])
    read_as = f"Read as {parsed.describe()}" if parsed is not None else "Result"
    details = [f"{len(result.get('units', []))} units"]
    if model_name:
        details.append(f"model <b>{_escape(model_name)}</b>")
    head = f"{_escape(read_as)} · {' · '.join(details)}. "
    if not pairs:
        return _wrap(f'<div class="ecpe-summary ecpe-none" data-pairs="0">{head}<b>{NO_PAIR_MESSAGE}</b></div>')
    links = ", ".join(f"{_link(p['emotion_index'])} ← {_link(p['cause_index'])}" for p in pairs)
    count = f"{len(pairs)} emotion–cause pair{'s' if len(pairs) != 1 else ''}"
    return _wrap(
        f'<div class="ecpe-summary" data-pairs="{len(pairs)}">{head}<b>{count}</b> (emotion ← cause): {links}</div>'
    )


def render_error(message: str) -> str:
    """An error box (bad input, a model that cannot read it)."""
    return _wrap(f'<div class="ecpe-summary ecpe-error">{_escape(message)}</div>')


def render_result(
    result: Mapping[str, Any],
    parsed: ParsedInput | None = None,
    model_name: str | None = None,
    threshold: float | None = None,
) -> RenderedResult:
    """All four fragments of one pipeline result (made with ``return_pair_scores=True`` for the heatmap)."""
    return RenderedResult(
        summary=render_summary(result, parsed, model_name),
        units=render_units(result, parsed),
        pairs=render_pairs(result),
        heatmap=render_heatmap(result, threshold),
    )


__all__ = [
    "CATEGORY_COLOURS",
    "NO_PAIR_MESSAGE",
    "RenderedResult",
    "category_colours",
    "heat_colour",
    "render_error",
    "render_heatmap",
    "render_pairs",
    "render_result",
    "render_summary",
    "render_units",
]
