"""Export a pair model to ONNX for onnxruntime serving (see ``docs/serving.md``).

Usage::

    python -m hf_ecpe.scripts.export --model default --output outputs/onnx/default
    python -m hf_ecpe.scripts.export --model default --output outputs/onnx/default-int8 --quantize int8
    python -m hf_ecpe.scripts.export --model outputs/pair_scorer_ecf --output outputs/onnx/ecf

``--model``: a saved pair-scorer folder, ``default`` (the embedded model) or the name of a model shipped in
``hf_ecpe/assets`` (``pair-scorer-minilm-en``). The folder written holds ``model.onnx`` (the whole model: encoder,
context layer, heads), the tokenizer, ``config.json``, ``onnx_config.json`` and a ``README.md`` card; serve it with
``hf_ecpe.pipeline("emotion-cause", model=OUTPUT)``. The float32 graph is checked against PyTorch before anything is
kept (pair probabilities within ``--tolerance``). Models that do not export (A2Net, the triplet LLM, the empathetic
generator, KD-ECS) and other argument errors print one line and exit with status 2 (``--debug`` for the traceback).
Needs the ``onnx`` extra: ``pip install 'hf-ecpe[onnx]'``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    from hf_ecpe.pipelines.onnx_backend import QUANTIZATIONS

    parser = argparse.ArgumentParser(
        prog="python -m hf_ecpe.scripts.export",
        description="Export an hf_ecpe pair model to ONNX (served by hf_ecpe.pipeline('emotion-cause', model=DIR)).",
    )
    parser.add_argument(
        "--model", required=True, help="Saved pair model folder, 'default', or a shipped model's name."
    )
    parser.add_argument("--output", required=True, help="Folder to write (new, or an earlier ONNX export).")
    parser.add_argument(
        "--quantize",
        choices=QUANTIZATIONS,
        default=None,
        help="int8: onnxruntime dynamic quantization of the MatMul / Gemm weights (default: float32).",
    )
    parser.add_argument(
        "--tolerance", type=float, default=1e-4, help="Largest pair-probability difference to PyTorch (float32)."
    )
    return parser


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Export; prints and returns the folder's ``onnx_config.json``."""
    from hf_ecpe.pipelines.onnx_backend import SERVING_FILE, export_onnx

    args = build_parser().parse_args(argv)
    output = export_onnx(args.model, args.output, quantize=args.quantize, tolerance=args.tolerance)
    serving = json.loads((Path(output) / SERVING_FILE).read_text(encoding="utf-8"))
    size = (Path(output) / serving["model_file"]).stat().st_size / 1e6
    parity = serving["parity"]
    print(f"wrote {output} ({serving['model_file']}: {size:.1f} MB, {serving['quantization'] or 'float32'})")
    print(f"float32 pair-probability difference to PyTorch: {parity['fp32_max_pair_probability_difference']:.2e}")
    if serving["quantization"]:
        print(
            f"{serving['quantization']} difference: {parity['quantized_max_pair_probability_difference']:.4f}, "
            f"flipped decisions: {parity['quantized_flipped_decisions']:.2%}"
        )
    return serving


def cli(argv: list[str] | None = None) -> None:
    from hf_ecpe.cli import run_cli

    run_cli(main, argv, program="hf_ecpe.scripts.export")


if __name__ == "__main__":
    cli()
