"""Annotate a corpus with a trained model: every document's pairs, emotions and causes, as JSON lines.

Usage::

    python -m hf_ecpe.scripts.annotate --model default --input texts.jsonl --output annotated.jsonl
    python -m hf_ecpe.scripts.annotate --model outputs/pair_scorer_ecf --input built/ecf --split validation \\
        --output ecf_dev.jsonl --batch_size 16
    python -m hf_ecpe.scripts.annotate --model default --input big.jsonl --output out.jsonl --resume  # after a crash
    accelerate launch --num_processes 2 -m hf_ecpe.scripts.annotate --model default --input big.jsonl --output out.jsonl

``--input``: a UTF-8 JSON-lines file (one document per line: a string, or a dict as the pipeline takes it —
``text``, ``clauses``, ``utterances`` + ``speakers``, or a canonical row with ``units``; blank lines are skipped) or a
folder saved with ``DatasetDict.save_to_disk`` / ``Dataset.save_to_disk`` (``--split`` picks the split).

Each output line is the pipeline's result for one document, in input order, with ``index`` (the document's 0-based
position in the input, blank lines not counted), ``line`` (its 1-based line number in a ``.jsonl`` input, as editors
and error messages count) and ``id`` (only when the input document has one; never invented).

Nothing is lost, nothing half-written (docs/reliability.md):

- the whole input is validated first (every bad line is counted, the first named with its line number) and the
  destination is checked (not a folder, not the input, writable) before the model is loaded;
- results are appended to ``<output>.partial-<rank>`` chunk by chunk (``--chunk_size`` documents, flushed to disk),
  and the output appears only when every document is done, by an atomic rename (a reader never sees half a file);
- after a crash or ``kill``, ``--resume`` keeps the documents already annotated and does the others (the input,
  model and decoding settings must be the same: ``<output>.partial.json`` records them); without ``--resume`` an
  interrupted run's partial files are refused, not overwritten;
- a second run writing the same ``--output`` at the same time is refused (``<output>.lock``).

Documents are batched by length (``--batch_size`` per forward pass). Under ``accelerate launch`` every process
annotates an interleaved share of the documents and the main process merges the shares in input order.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

#: Bad input lines named in the one-line error (the count covers them all).
MAX_LISTED_ERRORS = 5


def build_parser() -> argparse.ArgumentParser:
    from hf_ecpe.cli import one_line_errors

    parser = argparse.ArgumentParser(prog="python -m hf_ecpe.scripts.annotate", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model", required=True, help="Checkpoint or adapter folder, or 'default' (the embedded model)."
    )
    parser.add_argument("--input", required=True, help="A UTF-8 .jsonl file or a saved (Dataset|DatasetDict) folder.")
    parser.add_argument("--output", required=True, help="The .jsonl file to write (replaced atomically when done).")
    parser.add_argument("--split", default=None, help="The split of a saved DatasetDict (default: its only split).")
    parser.add_argument("--batch_size", type=int, default=16, help="Documents per forward pass.")
    parser.add_argument(
        "--chunk_size",
        type=int,
        default=512,
        help="Documents per progress step; each chunk's results are appended to <output>.partial-<rank> as it ends.",
    )
    parser.add_argument("--decoding", default=None, help="Override the model's decoding ('threshold'/'reference').")
    parser.add_argument("--threshold", type=float, default=None, help="Override the model's decision threshold.")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="Continue an interrupted run: keep the documents in <output>.partial-* and annotate the others.",
    )
    return one_line_errors(parser)


# ---------------------------------------------------------------------------------------------------------------
# The input, validated whole before any work
# ---------------------------------------------------------------------------------------------------------------


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a JSON list"
    if isinstance(value, bool) or value is None:
        return f"JSON {json.dumps(value)}"
    if isinstance(value, (int, float)):
        return "a number"
    return f"a {type(value).__name__}"


def document_problem(document: Any) -> str | None:
    """Why the pipeline would refuse ``document`` (:func:`hf_ecpe.data.inputs.normalise_input`), or ``None``."""
    from hf_ecpe.data.inputs import normalise_input

    if not isinstance(document, (str, Mapping)):
        return (
            f"{_json_kind(document)} is not a document; write a JSON string (the text) or an object "
            '({"text": ...}, {"clauses": [...]}, {"utterances": [...], "speakers": [...]}); a list of clauses is '
            'written {"clauses": [...]}'
        )
    try:
        normalise_input(document)
    except (TypeError, ValueError) as err:
        return str(err)
    return None


def _raise_for(problems: list[tuple[str, str]], source: str, unit: str) -> None:
    """One ``ValueError`` for every bad line/row: the first with its message, then the count and the places."""
    if not problems:
        return
    where, message = problems[0]
    text = f"{source}: {where}: {message}"
    if len(problems) > 1:
        places = ", ".join(place.split(" ", 1)[1] for place, _ in problems[:MAX_LISTED_ERRORS])
        more = ", ..." if len(problems) > MAX_LISTED_ERRORS else ""
        text += f"; {len(problems)} bad {unit}s in all ({unit}s {places}{more})"
    raise ValueError(text + "; fix them and rerun (nothing was annotated)")


def _jsonl_lines(source: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of every non-blank line of a UTF-8 file; a line that is not UTF-8 raises."""
    with source.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(
                    f"{source}: line {number} is not UTF-8 (byte 0x{raw[err.start]:02x} at byte {err.start + 1} of "
                    f"the line); annotate reads UTF-8 JSON lines: convert the file, e.g. from latin-1 with "
                    f"`iconv -f latin1 -t utf-8 {source.name} > {source.stem}.utf8{source.suffix}`"
                ) from None
            if line.strip():
                yield number, line


def read_documents(path: str, split: str | None = None) -> tuple[list[Any], list[int] | None]:
    """The documents of a ``.jsonl`` file or a saved dataset folder, and their line numbers (``None`` for a dataset).

    Every document is checked as the pipeline will check it; the bad ones raise one ``ValueError`` that names the
    first (file and line, or row) and counts them all, before any model is loaded.
    """
    source = Path(path)
    problems: list[tuple[str, str]] = []
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
        elif split is not None:
            raise ValueError(f"--input {path} is a single Dataset (no splits); drop --split {split}")
        documents = [dict(row) for row in data]
        for index, document in enumerate(documents):
            problem = document_problem(document)
            if problem:
                problems.append((f"row {index}", problem))
        _raise_for(problems, str(path), "row")
        return documents, None
    if not source.exists():
        raise FileNotFoundError(f"--input {path}: no such file or folder")
    if not source.is_file():
        raise ValueError(f"--input {path} is neither a file nor a folder")
    if split is not None:
        raise ValueError(f"--split {split} applies to a saved dataset folder; --input {path} is a JSON-lines file")
    documents, numbers = [], []
    for number, line in _jsonl_lines(source):
        try:
            document = json.loads(line)
        except json.JSONDecodeError as err:
            problems.append((f"line {number}", f"not JSON ({err.msg}); write one document per line"))
            continue
        problem = document_problem(document)
        if problem:
            problems.append((f"line {number}", problem))
            continue
        documents.append(document)
        numbers.append(number)
    _raise_for(problems, str(path), "line")
    return documents, numbers


def fingerprint(documents: Iterable[Any]) -> str:
    """SHA-256 of the documents (canonical JSON): tells whether a partial output belongs to this input."""
    digest = hashlib.sha256()
    for document in documents:
        digest.update(json.dumps(document, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# The model, checked before loading
# ---------------------------------------------------------------------------------------------------------------


def check_model(model: str) -> Path:
    """The model folder (``default``: the embedded one), after checking that the emotion-cause pipeline serves its
    method and that its weight files are whole."""
    from hf_ecpe.scripts.evaluate import check_weight_files, method_of_folder, resolve_model_path

    path = resolve_model_path(model)
    spec = method_of_folder(path)
    if spec.kind not in ("pairs", "triplets"):
        raise ValueError(
            f"--model {model} is a {spec.display_name} ({spec.name!r}, output {spec.kind!r}): annotate extracts "
            "emotion-cause pairs; give a pair model (A2Net, the pair scorer, KD-ECS) or a triplet LLM adapter"
        )
    check_weight_files(path, model)
    return path


def load_extractor(path: Path, model: str) -> Any:
    """The emotion-cause pipeline of ``path``; a folder it cannot serve is a one-line error.

    A pair model is loaded here (``AutoModel.from_pretrained``), so that its own error — e.g. an incomplete
    checkpoint — is the message, not ``transformers.pipeline``'s list of every class it tried."""
    import hf_ecpe
    from hf_ecpe.pipelines.onnx_backend import is_onnx_folder
    from hf_ecpe.scripts.evaluate import load_pair_model, method_of_folder

    try:
        if method_of_folder(path).kind == "pairs" and not is_onnx_folder(path):
            loaded, tokenizer = load_pair_model(path)
            return hf_ecpe.pipeline("emotion-cause", model=loaded, tokenizer=tokenizer)
        return hf_ecpe.pipeline("emotion-cause", model=str(path))
    except (TypeError, OSError) as err:  # e.g. a KD-ECS teacher (training only), a missing tokenizer file
        raise ValueError(f"--model {model}: the emotion-cause pipeline cannot serve it: {err}") from err


# ---------------------------------------------------------------------------------------------------------------
# Partial results and resuming
# ---------------------------------------------------------------------------------------------------------------


def partial_path(output: Path, rank: int) -> Path:
    return output.with_name(f"{output.name}.partial-{rank}")


def meta_path(output: Path) -> Path:
    return output.with_name(f"{output.name}.partial.json")


def partial_files(output: Path) -> list[Path]:
    """Every process's partial results of ``output`` (``<output>.partial-<rank>``)."""
    prefix = f"{output.name}.partial-"
    return sorted(p for p in output.parent.glob(f"{output.name}.partial-*") if p.name[len(prefix) :].isdigit())


def read_partial(path: Path) -> tuple[list[dict], int]:
    """The complete records of a partial file and the byte length they fill (a last line cut short by a kill is
    not a record)."""
    records, good = [], 0
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                break
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                break
            if not isinstance(record, dict) or not isinstance(record.get("index"), int):
                raise ValueError(f"{path}: not a partial output of annotate (a line without 'index'); delete it")
            records.append(record)
            good += len(raw)
    return records, good


def done_records(output: Path) -> dict[int, dict]:
    """``index`` → record of every document already annotated in the partial files of ``output``."""
    done: dict[int, dict] = {}
    for path in partial_files(output):
        for record in read_partial(path)[0]:
            done.setdefault(record["index"], record)
    return done


def check_resume(output: Path, meta: dict[str, Any], resume: bool) -> None:
    """Refuse partial files without ``--resume``, and a resume of another input, model or decoding."""
    files = partial_files(output)
    recorded = meta_path(output)
    if not resume:
        count = len(done_records(output))
        if count:
            raise ValueError(
                f"{output}: an interrupted run left {count} annotated documents in {output.name}.partial-*; pass "
                "--resume to keep them and annotate the rest, or delete those files to start over"
            )
        return  # partial files without a complete record hold nothing to keep: a fresh run empties them
    if not files:
        return  # nothing to resume: a fresh run
    if not recorded.exists():
        raise ValueError(f"--resume: {recorded} is missing, so the partial files cannot be matched to this input")
    saved = json.loads(recorded.read_text(encoding="utf-8"))
    differs = [key for key in meta if saved.get(key) != meta[key]]
    if differs:
        detail = "; ".join(f"{key}: was {saved.get(key)!r}, now {meta[key]!r}" for key in differs)
        raise ValueError(
            f"--resume: the partial output of {output} was made with another {', '.join(differs)} ({detail}); rerun "
            "with the same arguments, or delete its .partial-* files to start over"
        )
    done = done_records(output)
    if any(index >= meta["documents"] for index in done):
        raise ValueError(f"--resume: {output}'s partial files hold indices beyond the input; delete them")


def finish(output: Path, total: int) -> None:
    """Merge every process's partial file into ``output`` (input order), then remove the partial files."""
    done = done_records(output)
    missing = [index for index in range(total) if index not in done]
    if missing:
        raise RuntimeError(f"{len(missing)} documents have no result (first index {missing[0]}); rerun with --resume")
    from hf_ecpe.outputs import atomic_write_text

    atomic_write_text(output, (json.dumps(done[index], ensure_ascii=False) + "\n" for index in range(total)))
    for path in partial_files(output):
        path.unlink()
    meta_path(output).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------------------
# Annotating
# ---------------------------------------------------------------------------------------------------------------


def annotate(
    extractor: Any,
    documents: list[Any],
    positions: list[int],
    lines: list[int] | None,
    sink: Any,
    *,
    batch_size: int,
    chunk_size: int,
    done: int = 0,
    total: int | None = None,
    progress: bool = True,
    **params: Any,
) -> int:
    """Annotate ``documents[i]`` for every ``i`` in ``positions``, ``chunk_size`` at a time; each chunk's records
    (``index``, ``line``, then the pipeline's result) are appended to ``sink`` and flushed to disk as it ends.
    ``done``/``total`` place the progress bar (documents already annotated, all documents); ``progress=False`` hides
    it. Returns the number of documents written."""
    from tqdm.auto import tqdm

    params = {key: value for key, value in params.items() if value is not None}
    total = len(positions) + done if total is None else total
    written = 0
    with tqdm(
        total=total, initial=done, desc="annotating", unit="doc", disable=not progress or total < chunk_size
    ) as bar:
        for start in range(0, len(positions), chunk_size):
            chunk = positions[start : start + chunk_size]
            results = extractor([documents[i] for i in chunk], batch_size=batch_size, **params)
            for index, result in zip(chunk, results):
                document = documents[index]
                if isinstance(document, str):
                    result.setdefault("text", document)
                head = {"index": index} if lines is None else {"index": index, "line": lines[index]}
                sink.write(json.dumps({**head, **result}, ensure_ascii=False) + "\n")
            sink.flush()
            os.fsync(sink.fileno())
            written += len(chunk)
            bar.update(len(chunk))
    return written


def main(argv: list[str] | None = None) -> int:
    from contextlib import nullcontext

    from hf_ecpe.cli import positive_int, probability
    from hf_ecpe.outputs import OutputLock, atomic_write_text, check_output_file

    args = build_parser().parse_args(argv)
    positive_int(args.batch_size, "--batch_size")
    positive_int(args.chunk_size, "--chunk_size")
    probability(args.threshold, "--threshold")
    if args.decoding is not None and args.decoding not in ("reference", "threshold"):
        raise ValueError(f"--decoding must be 'reference' or 'threshold', got {args.decoding!r}")
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    # Every check before any work: the destination, the model folder, the whole input.
    output = check_output_file(args.output, inputs=[args.input])
    model_path = check_model(args.model)
    documents, lines = read_documents(args.input, args.split)
    meta = {
        "input": str(Path(args.input).resolve()),
        "split": args.split,
        "documents": len(documents),
        "fingerprint": fingerprint(documents),
        "model": str(model_path.resolve()),
        "decoding": args.decoding,
        "threshold": args.threshold,
    }
    state = None
    if world > 1:
        from accelerate import PartialState

        state = PartialState()
    with OutputLock(output) if rank == 0 else nullcontext():
        check_resume(output, meta, args.resume)
        extractor = load_extractor(model_path, args.model)
        if state is not None:
            state.wait_for_everyone()  # every process has checked before any process writes
        if rank == 0:
            atomic_write_text(meta_path(output), json.dumps(meta, indent=2) + "\n")
        done = done_records(output) if args.resume else {}
        remaining = [index for index in range(len(documents)) if index not in done]
        share = remaining[rank::world]  # interleaved: every process gets short and long documents
        if done and rank == 0:
            print(
                f"resuming: {len(done)} of {len(documents)} documents already annotated; annotating {len(remaining)}",
                file=sys.stderr,
            )
        own = partial_path(output, rank)
        if own.exists():  # a fresh run starts it empty; a resume drops a last line cut short by a kill
            with own.open("r+b") as handle:
                handle.truncate(read_partial(own)[1] if args.resume else 0)
        try:
            with own.open("a", encoding="utf-8") as sink:
                annotate(
                    extractor,
                    documents,
                    share,
                    lines,
                    sink,
                    batch_size=args.batch_size,
                    chunk_size=args.chunk_size,
                    done=len(done) if world == 1 else 0,
                    total=len(documents) if world == 1 else len(share),
                    progress=rank == 0,  # one bar: the main process's share
                    decoding=args.decoding,
                    threshold=args.threshold,
                )
        except KeyboardInterrupt:
            kept = len(done_records(output))
            print(f"interrupted: {kept} documents kept in {own}; rerun with --resume to finish", file=sys.stderr)
            raise SystemExit(130) from None
        if state is not None:
            state.wait_for_everyone()
        if rank == 0:
            finish(output, len(documents))
            print(f"annotated {len(documents)} documents into {output}", file=sys.stderr)
    return 0


def cli(argv: list[str] | None = None) -> None:
    from hf_ecpe.cli import run_cli

    run_cli(main, argv, program="hf_ecpe.scripts.annotate")


if __name__ == "__main__":
    cli()
