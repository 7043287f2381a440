"""The web demo (Gradio, Hugging Face Spaces convention): ``python app.py`` or ``python -m hf_ecpe.app``.

Importing this package does not import Gradio: input parsing (:mod:`~hf_ecpe.app.parsing`), HTML rendering
(:mod:`~hf_ecpe.app.render`) and the model list (:mod:`~hf_ecpe.app.models`) are plain Python; only
:func:`build_demo` and :func:`main` need the ``demo`` extra (``pip install 'hf-ecpe[demo]'``).
"""

from hf_ecpe.app.models import available_models, load_pipeline
from hf_ecpe.app.parsing import INPUT_MODES, InputError, ParsedInput, parse_input
from hf_ecpe.app.render import RenderedResult, render_result
from hf_ecpe.app.ui import analyse, build_demo, main


def run(argv: list[str] | None = None) -> None:
    """``main`` with hf_ecpe's command-line error rule: a user error is one line and exit status 2."""
    from hf_ecpe.cli import run_cli

    run_cli(main, argv, program="python -m hf_ecpe.app")


__all__ = [
    "INPUT_MODES",
    "InputError",
    "ParsedInput",
    "RenderedResult",
    "analyse",
    "available_models",
    "build_demo",
    "load_pipeline",
    "main",
    "parse_input",
    "render_result",
    "run",
]
