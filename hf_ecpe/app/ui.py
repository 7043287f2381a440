"""The Gradio web demo: paste a text or a conversation, see its emotions, their causes, categories and pair scores.

``python app.py`` (the Hugging Face Spaces entry point at the repository root) or ``python -m hf_ecpe.app
[--port 7860] [--host 127.0.0.1] [--model NAME=FOLDER ...]``. Needs the ``demo`` extra (``pip install
'hf-ecpe[demo]'``). Offline: the models are local folders (:func:`hf_ecpe.app.models.available_models`), Gradio's
telemetry and version check are off (``GRADIO_ANALYTICS_ENABLED=False``), and the theme uses the fonts Gradio
ships (no font CDN).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hf_ecpe.app.models import DEFAULT_CHOICE, available_models, describe_model, load_pipeline
from hf_ecpe.app.parsing import INPUT_MODES, InputError, parse_input
from hf_ecpe.app.render import render_error, render_result

TITLE = "hf_ecpe · emotion–cause analysis"
INTRO = (
    "Paste a text, or a conversation with one utterance per line (optional `Speaker:` prefixes). The model marks "
    "the units that express an **emotion** (coloured by its category) and the units that **cause** it (marked in "
    "teal, labelled *cause of #i*); `#i` is the unit's index in the pipeline output. Everything runs locally."
)
#: ``[text, input mode]`` rows of the example table.
EXAMPLES: list[list[str]] = [
    [
        "Ann: The train was cancelled again.\nBen: Now I will miss my sister's wedding. I am so upset.\n"
        "Ann: Oh no, I am so sorry.",
        "auto",
    ],
    ["I was so happy because I passed the exam, but my brother was sad that he failed his.", "text"],
    ["Water boils at 100 degrees Celsius at sea level.", "text"],
]
MODE_LABELS = {
    "auto": "Auto",
    "text": "Text (split into clauses)",
    "conversation": "Conversation (one utterance per line)",
}


def decision_threshold(extractor: Any) -> float | None:
    """The pair decision threshold of a threshold-decoding model (``config.decode_threshold``), else ``None``."""
    config = getattr(getattr(extractor, "model", None), "config", None)
    if config is None or getattr(config, "decoding", None) != "threshold":
        return None
    threshold = getattr(config, "decode_threshold", None)
    return float(threshold) if threshold is not None else None


def analyse(
    text: str, mode: str, model_name: str, models: Mapping[str, Path] | None = None
) -> tuple[str, str, str, str, dict[str, Any] | None]:
    """One submission: ``(summary, units, pairs, heatmap)`` HTML and the pipeline's JSON result.

    A user error (nothing pasted, an input the pipeline refuses) becomes an error box in ``summary`` and empty
    panels, not an exception: the page stays usable.
    """
    try:
        parsed = parse_input(text, mode)
    except InputError as err:
        return render_error(str(err)), "", "", "", None
    extractor = load_pipeline(model_name, dict(models) if models is not None else None)
    try:
        result = extractor(parsed.pipeline_input, return_pair_scores=True)
    except (TypeError, ValueError) as err:
        return render_error(f"The model could not read this input: {err}"), "", "", "", None
    rendered = render_result(result, parsed, model_name, decision_threshold(extractor))
    return rendered.summary, rendered.units, rendered.pairs, rendered.heatmap, result


def _theme() -> Any:
    import gradio as gr

    # The default theme's fonts ship with Gradio (LocalFont): nothing is fetched from a font CDN.
    return gr.themes.Default(primary_hue="teal", radius_size="md")


def build_demo(models: Mapping[str, Path] | None = None) -> Any:
    """The ``gradio.Blocks`` app over ``models`` (``{name: folder}``; default :func:`available_models`).

    Raises ``ValueError`` when there is no model to serve.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    models = dict(available_models() if models is None else models)
    if not models:
        raise ValueError("no model to serve: this build ships none; pass --model NAME=FOLDER")
    first = DEFAULT_CHOICE if DEFAULT_CHOICE in models else next(iter(models))

    def submit(text: str, mode: str, model_name: str) -> tuple[str, str, str, str, dict[str, Any] | None]:
        return analyse(text, mode, model_name, models)

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"## {TITLE}\n{INTRO}")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                text = gr.Textbox(
                    label="Text or conversation",
                    lines=6,
                    max_lines=20,
                    placeholder="Ann: The train was cancelled again.\nBen: Now I will miss the wedding. I am so upset.",
                    elem_id="ecpe-input",
                )
            with gr.Column(scale=2):
                mode = gr.Radio(
                    choices=[(MODE_LABELS[m], m) for m in INPUT_MODES],
                    value="auto",
                    label="Read the input as",
                    elem_id="ecpe-mode",
                )
                model = gr.Dropdown(
                    choices=[(f"{name} — {describe_model(path)}", name) for name, path in models.items()],
                    value=first,
                    label="Model",
                    elem_id="ecpe-model",
                )
                button = gr.Button("Find emotions and causes", variant="primary", elem_id="ecpe-submit")
        summary = gr.HTML(elem_id="ecpe-summary")
        gr.Markdown("#### Units")
        units = gr.HTML(elem_id="ecpe-units")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=480):  # side by side on a wide screen, stacked on a narrow one
                gr.Markdown("#### Pairs, categories and scores")
                pairs = gr.HTML(elem_id="ecpe-pairs")
            with gr.Column(scale=1, min_width=480):
                gr.Markdown("#### Pair scores (emotion unit × cause unit)")
                heatmap = gr.HTML(elem_id="ecpe-heatmap")
        with gr.Accordion("Pipeline output (JSON)", open=False):
            raw = gr.JSON(show_label=False, elem_id="ecpe-json")
        gr.Examples(examples=EXAMPLES, inputs=[text, mode], label="Examples")
        button.click(submit, inputs=[text, mode, model], outputs=[summary, units, pairs, heatmap, raw])
    return demo


def parse_model_option(option: str) -> tuple[str, Path]:
    """``NAME=FOLDER`` (``--model``) → ``(name, folder)``; ``ValueError`` for another form or a missing folder."""
    name, sep, folder = option.partition("=")
    if not sep or not name.strip() or not folder.strip():
        raise ValueError(f"--model {option!r}: expected NAME=FOLDER, e.g. --model mine=outputs/pair_scorer_ecf")
    path = Path(folder.strip()).expanduser()
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"--model {option!r}: {path} is not a model folder (no config.json)")
    return name.strip(), path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hf_ecpe.app", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=None, help="address to listen on (default: GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: GRADIO_SERVER_PORT or 7860)")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=FOLDER",
        help="add a model folder to the model switch (repeatable); the shipped models are always offered",
    )
    parser.add_argument(
        "--no_preload",
        action="store_true",
        help="load the first model on the first submission instead of before the server starts",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Start the demo server (blocks until interrupted)."""
    args = build_parser().parse_args(argv)
    models = available_models()
    for option in args.model:
        name, path = parse_model_option(option)
        models[name] = path
    demo = build_demo(models)
    if not args.no_preload:
        load_pipeline(DEFAULT_CHOICE if DEFAULT_CHOICE in models else next(iter(models)), models)
    try:
        demo.launch(server_name=args.host, server_port=args.port, share=False, theme=_theme(), show_error=True)
    except OSError as err:  # the port is taken or the address is not this machine's: the user's to fix
        raise ValueError(f"cannot serve the demo: {err}") from err


__all__ = ["EXAMPLES", "analyse", "build_demo", "build_parser", "decision_threshold", "main", "parse_model_option"]
