"""Annotate a corpus with a trained model: every document's pairs, emotions and causes, as JSON lines.

Usage::

    python -m hf_ecpe.scripts.annotate --model default --input texts.jsonl --output annotated.jsonl
    python -m hf_ecpe.scripts.annotate --model outputs/pair_scorer_ecf --input built/ecf --split validation \\
        --output ecf_dev.jsonl --batch_size 16
    accelerate launch --num_processes 2 -m hf_ecpe.scripts.annotate --model default --input big.jsonl --output out.jsonl

``--input``: a JSON-lines file (one document per line: a string, or a dict as the pipeline takes it — ``text``,
``clauses``, ``utterances`` + ``speakers``, or a canonical row with ``units``) or a folder saved with
``DatasetDict.save_to_disk`` / ``Dataset.save_to_disk`` (``--split`` picks the split). Each output line is the
pipeline's result for that document (``id`` kept when the input has one, else the line number), in input order.
Documents are batched by length (``--batch_size`` per forward pass). Under ``accelerate launch`` every process
annotates an interleaved share of the documents and the main process merges the shares in input order.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hf_ecpe.scripts.annotate", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="Checkpoint folder, or 'default' (the embedded model).")
    parser.add_argument("--input", required=True, help="A .jsonl file or a saved (Dataset|DatasetDict) folder.")
    parser.add_argument("--output", required=True, help="The .jsonl file to write.")
    parser.add_argument("--split", default=None, help="The split of a saved DatasetDict (default: its only split).")
    parser.add_argument("--batch_size", type=int, default=16, help="Documents per forward pass.")
    parser.add_argument("--chunk_size", type=int, default=512, help="Documents per progress step and write.")
    parser.add_argument("--decoding", default=None, help="Override the model's decoding ('threshold'/'reference').")
    parser.add_argument("--threshold", type=float, default=None, help="Override the model's decision threshold.")
    return parser


def read_documents(path: str, split: str | None = None) -> list[Any]:
    """The documents of a ``.jsonl`` file or a saved dataset folder (line numbers become ids when there are none)."""
    source = Path(path)
    if source.is_dir():
        from datasets import DatasetDict, load_from_disk

        data = load_from_disk(str(source))
        if isinstance(data, DatasetDict):
            if split is None:
                if len(data) != 1:
                    raise ValueError(f"--input {path} has the splits {list(data)}; choose one with --split")
                split = next(iter(data))
            if split not in data:
                raise ValueError(f"--input {path} has no split {split!r} (splits: {list(data)})")
            data = data[split]
        return [dict(row) for row in data]
    if not source.is_file():
        raise FileNotFoundError(f"--input {path}: no such file or folder")
    documents = []
    with source.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                document = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(
                    f"{path}: line {number} is not JSON ({err.msg}); write one document per line"
                ) from None
            if isinstance(document, dict) and "id" not in document:
                document = {**document, "id": number}
            documents.append(document)
    return documents


def annotate(model: str, documents: list[Any], *, batch_size: int, chunk_size: int, **params: Any) -> list[dict]:
    """The pipeline's results for ``documents``, with a progress bar (chunks of ``chunk_size`` documents)."""
    from tqdm.auto import tqdm

    import hf_ecpe

    model_path = str(hf_ecpe.defaults.default_model_path()) if model == "default" else model
    extractor = hf_ecpe.pipeline("emotion-cause", model=model_path)
    params = {key: value for key, value in params.items() if value is not None}
    results: list[dict] = []
    with tqdm(total=len(documents), desc="annotating", unit="doc", disable=len(documents) < chunk_size) as bar:
        for start in range(0, len(documents), chunk_size):
            chunk = documents[start : start + chunk_size]
            results.extend(extractor(chunk, batch_size=batch_size, **params))
            bar.update(len(chunk))
    for document, result in zip(documents, results):
        if isinstance(document, str):
            result.setdefault("text", document)
    return results


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    documents = read_documents(args.input, args.split)
    share = list(range(rank, len(documents), world))  # interleaved: every process gets short and long documents
    results = annotate(
        args.model,
        [documents[i] for i in share],
        batch_size=args.batch_size,
        chunk_size=args.chunk_size,
        decoding=args.decoding,
        threshold=args.threshold,
    )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    part = output if world == 1 else output.with_name(f"{output.name}.part{rank}")
    with part.open("w", encoding="utf-8") as handle:
        for index, result in zip(share, results):
            handle.write(json.dumps({"index": index, **result}, ensure_ascii=False) + "\n")
    if world > 1:
        from accelerate import PartialState

        state = PartialState()
        state.wait_for_everyone()
        if state.is_main_process:
            merged = []
            for process in range(world):
                shard = output.with_name(f"{output.name}.part{process}")
                merged += [json.loads(line) for line in shard.read_text(encoding="utf-8").splitlines()]
                shard.unlink()
            merged.sort(key=lambda record: record["index"])
            output.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in merged), encoding="utf-8")
    if rank == 0:
        print(f"annotated {len(documents)} documents into {output}", file=sys.stderr)
    return 0


def cli(argv: list[str] | None = None) -> None:
    from hf_ecpe.cli import run_cli

    run_cli(main, argv, program="hf_ecpe.scripts.annotate")


if __name__ == "__main__":
    cli()
