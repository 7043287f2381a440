"""Score a trained model on a corpus split with its method's metrics: how a checkpoint meets an official test file.

Usage::

    python -m hf_ecpe.scripts.evaluate --model default --corpus ecpe_en --config fold1 \\
        --split test
    python -m hf_ecpe.scripts.evaluate --model outputs/pair_scorer_ecf --corpus ecf --split test \\
        --data_dir /path/to/folder/with/ecf --output scores.json
    python -m hf_ecpe.scripts.evaluate --model default --corpus reccon --split validation
    python -m hf_ecpe.scripts.evaluate --model outputs/sft_smollm2_semeval --corpus semeval2024_ecac --split test

The split is built with the corpus builder from ``--data_dir`` (default ``$HF_ECPE_DATA``, else ``../shared/data``),
or read from ``--dataset_path`` (a ``DatasetDict`` saved with ``save_to_disk``). The model decodes with the settings
saved in its config (``decoding``, ``decode_threshold`` — the threshold training chose on validation — and
``decode_top_k``) unless ``--decoding`` / ``--threshold`` / ``--top_k`` are given, and with the sentiment lexicon of
the reference decoding that training used (``decode_lexicon`` in the config, e.g. the RankCP / A2Net clause lexicon
of ``ecpe_zh``) unless ``--lexicon PATH`` gives another (a clause-lexicon JSON or a word list,
:mod:`hf_ecpe.evaluation.lexicon`; relative paths are also looked up under the data root) or ``--lexicon none``
switches it off. What is computed depends on the method (its evaluator, ``MethodSpec.evaluator``:
:mod:`hf_ecpe.evaluation.evaluators`), and so do the flags that apply: each evaluator declares the settings it uses
(``Evaluator.settings``), and a flag given for another is refused (one line naming the accepted ones, exit 2):

- pair models (A2Net, the pair scorer): the ``ecpe`` scorer (pair / emotion / cause P, R, F1 — the RankCP / A2Net
  protocol — head F1, consistency; category-aware pair F1 and weighted F1 for a model with a category head) through
  the same ``Trainer`` evaluation as training, plus ``pair_auprc`` (AUPRC and best-threshold F1 over all candidates);
- the triplet LLM (a LoRA adapter): the ``triplet`` scorer (strict / proportional span F1) and unit-level scores.

Writes the metrics as JSON and prints a short table. ``--output`` names the file (replaced atomically if it exists);
without it the file goes to the current directory as ``eval_<model>_<corpus>_<config>_<split>[_first<N>].json``
(never into the model folder or the installed package), and an existing file of that name — an earlier run's result —
is refused unless ``--overwrite``. The destination is checked before any work; a file that cannot be written is an
error, never written elsewhere. A decoding flag given on the command line is recorded as an override
(``overrides`` in the JSON; ``threshold_selected_on`` is then ``null``). Errors in the arguments print one line
(``--debug`` for the traceback). docs/reliability.md says what is promised.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hf_ecpe.evaluation.evaluators import evaluate_pair_model, evaluate_triplet_llm  # noqa: F401 (re-exported runners)

logger = logging.getLogger("hf_ecpe.scripts.evaluate")

#: Metrics printed in the table (those present), in this order.
TABLE_KEYS = (
    "pair_precision",
    "pair_recall",
    "pair_f1",
    "emotion_f1",
    "cause_f1",
    "category_pair_f1",
    "weighted_f1",
    "pair_auprc",
    "best_threshold_pair_f1",
    "strict_f1",
    "proportional_f1",
    "unit_pair_f1",
)


def build_parser() -> argparse.ArgumentParser:
    from hf_ecpe.cli import one_line_errors

    parser = argparse.ArgumentParser(
        prog="python -m hf_ecpe.scripts.evaluate",
        description="Score a trained hf_ecpe model on a corpus split with its method's metrics.",
    )
    parser.add_argument(
        "--model", required=True, help="Checkpoint folder, SFT adapter folder, or 'default' (the embedded model)."
    )
    parser.add_argument("--corpus", help="Corpus name (hf_ecpe.data.corpora: ecpe_en, reccon, ecf, ...).")
    parser.add_argument("--config", default=None, help="Corpus config (default: the corpus's first).")
    parser.add_argument("--split", default="test", help="Split to score (default: test).")
    parser.add_argument("--data_dir", default=None, help="Folder of the corpora (default: $HF_ECPE_DATA).")
    parser.add_argument("--dataset_path", default=None, help="A saved DatasetDict instead of --corpus.")
    parser.add_argument(
        "--strict", action="store_true", help="Refuse the known corpus noise instead of repairing it (the default)."
    )
    parser.add_argument(
        "--output",
        default=None,
        help="JSON file to write (default: ./eval_<model>_<corpus>_<config>_<split>[_first<N>].json).",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="Replace an existing file of the default name (an earlier run's)."
    )
    parser.add_argument("--batch_size", type=int, default=8, help="Documents per forward pass.")
    parser.add_argument("--max_samples", type=int, default=None, help="Score only the first N documents.")
    parser.add_argument("--decoding", default=None, help="Override the config's decoding ('reference'/'threshold').")
    parser.add_argument("--threshold", type=float, default=None, help="Override the config's decode_threshold.")
    parser.add_argument("--top_k", type=int, default=None, help="Override the config's decode_top_k.")
    parser.add_argument(
        "--lexicon",
        default=None,
        help="Sentiment lexicon of the 'reference' decoding (clause-lexicon JSON or word list; default: the config's "
        "decode_lexicon; 'none' for no lexicon), e.g. ecpe-zh/derived/sentimental_clauses.json.",
    )
    parser.add_argument("--labels", nargs="+", default=None, help="Triplet LLM: categories (default: the adapter's).")
    parser.add_argument("--max_new_tokens", type=int, default=None, help="Triplet LLM: generation budget.")
    parser.add_argument(
        "--free_generation",
        action="store_true",
        help="Triplet LLM: decode without the grammar constraint (default: constrained, as EmotionCauseLLM).",
    )
    return one_line_errors(parser)


def check_arguments(args: argparse.Namespace) -> None:
    """The ranges of the numeric flags, alike in ``evaluate`` and ``annotate`` (one line each)."""
    from hf_ecpe.cli import positive_int, probability

    positive_int(args.batch_size, "--batch_size")
    positive_int(args.max_samples, "--max_samples")
    positive_int(args.top_k, "--top_k")
    positive_int(args.max_new_tokens, "--max_new_tokens")
    probability(args.threshold, "--threshold")
    if args.decoding is not None and args.decoding not in ("reference", "threshold"):
        raise ValueError(f"--decoding must be 'reference' or 'threshold', got {args.decoding!r}")
    if not args.corpus and not args.dataset_path:
        raise ValueError("give --corpus NAME (with --data_dir) or --dataset_path")


# ---------------------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------------------


def resolve_model_path(model: str) -> Path:
    """``default`` → the embedded default model's folder; a shipped model's name → its folder; else the folder,
    which must exist (:func:`hf_ecpe.defaults.resolve_model_name`)."""
    from hf_ecpe.defaults import resolve_model_name, shipped_models

    path = Path(resolve_model_name(model))
    if not path.is_dir():
        raise FileNotFoundError(
            f"--model {model}: no such folder (a checkpoint folder, an adapter folder, 'default' or a shipped model: "
            f"{sorted(shipped_models())})"
        )
    return path


def method_of_folder(path: Path) -> Any:
    """The :class:`~hf_ecpe.methods.MethodSpec` of a saved model folder (``config.json``'s ``model_type``; a PEFT
    ``adapter_config.json`` is the triplet LLM)."""
    from hf_ecpe.methods import get_method, method_for, methods

    config_file = path / "config.json"
    if (path / "adapter_config.json").is_file() and not config_file.is_file():
        return get_method("triplet_llm")
    if not config_file.is_file():
        raise FileNotFoundError(f"{path} has neither config.json nor adapter_config.json: not a saved model folder")
    model_type = json.loads(config_file.read_text(encoding="utf-8")).get("model_type")
    spec = method_for(model_type)
    if spec is None:
        from hf_ecpe.pipelines.emotion_cause import recorded_labels

        if recorded_labels(path):
            return get_method("triplet_llm")
        known = sorted(spec.model_type for spec in methods().values() if spec.model_type)
        raise ValueError(f"{path} holds a {model_type!r} model, which is not an hf_ecpe method (model types {known})")
    return spec


def check_weight_files(path: Path, model: str | None = None) -> None:
    """``ValueError`` naming a ``*.safetensors`` file of ``path`` that is cut short or damaged (its header does not
    cover the file: an interrupted copy or download), before anything is loaded."""
    from safetensors import SafetensorError, safe_open

    for weights in sorted(path.glob("*.safetensors")):
        try:
            with safe_open(str(weights), framework="pt"):
                pass
        except (SafetensorError, OSError) as err:
            raise ValueError(
                f"--model {model or path}: {weights.name} is damaged or truncated ({err}); copy or download the "
                "checkpoint again"
            ) from None


def default_output_name(path: Path, info: dict[str, Any]) -> str:
    """``eval_<model>_<corpus>_<config>_<split>[_first<N>].json``: every setting that changes the data scored."""
    subset = f"_first{info['max_samples']}" if info.get("max_samples") else ""
    config = f"_{info['config']}" if info.get("config") else ""
    return f"eval_{path.name}_{info['corpus']}{config}_{info['split']}{subset}.json"


def load_split(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The split to score and a description (corpus, config, split, size)."""
    from datasets import DatasetDict, load_from_disk

    if args.dataset_path:
        data = load_from_disk(args.dataset_path)
        if not isinstance(data, DatasetDict):
            raise ValueError(f"--dataset_path {args.dataset_path} holds a single Dataset; save a DatasetDict")
        info = {"corpus": Path(args.dataset_path).resolve().name, "config": None}
    elif args.corpus:
        from hf_ecpe.data.corpora import get_corpus

        spec = get_corpus(args.corpus)
        config = spec.check_config(args.config)
        root = Path(args.data_dir) if args.data_dir else Path(os.environ.get("HF_ECPE_DATA", "../shared/data"))
        folder = spec.locate(root)
        if not folder.is_dir():
            raise FileNotFoundError(
                f"corpus {spec.name!r} not found at {folder}; set --data_dir or HF_ECPE_DATA to the folder that "
                f"contains '{spec.folder}/'"
            )
        data = spec.build(folder, config, lenient=not args.strict)
        info = {"corpus": spec.name, "config": config}
    else:
        raise ValueError("give --corpus NAME (with --data_dir) or --dataset_path")
    if args.split not in data:
        raise ValueError(
            f"the {info['corpus']} data has no {args.split!r} split (splits: {list(data)}); official test files are "
            "not shipped — put them beside the train/dev files of the corpus folder (same format) and pass --data_dir"
        )
    dataset = data[args.split]
    if args.max_samples is not None and args.max_samples < len(dataset):
        dataset = dataset.select(range(args.max_samples))
        info["subset_of"] = len(data[args.split])
    info.update(split=args.split, examples=len(dataset))
    return dataset, info


# ---------------------------------------------------------------------------------------------------------------
# Evaluators (MethodSpec.evaluator: hf_ecpe.evaluation.evaluators)
# ---------------------------------------------------------------------------------------------------------------

#: The flags that are settings of a method's evaluator (``Evaluator.settings``); one the model's evaluator does not
#: declare is refused when given on the command line.
EVALUATOR_SETTINGS = (
    "batch_size",
    "decoding",
    "threshold",
    "top_k",
    "lexicon",
    "labels",
    "max_new_tokens",
    "free_generation",
)


def parse_arguments(argv: list[str] | None) -> tuple[argparse.Namespace, set[str]]:
    """The command line ``argv`` parsed once, and the destinations of the flags given on it, not those left at their
    default: ``argv`` is parsed into a namespace whose every attribute is a marker (argparse fills in a default only
    where the namespace has no value, so a marker left means the flag was not given), then each marker left is
    replaced by its flag's default — the namespace ``build_parser().parse_args(argv)`` gives."""
    parser = build_parser()
    unset = object()
    dests = {action.dest for action in parser._actions if action.default is not argparse.SUPPRESS}
    args = parser.parse_args(argv, namespace=argparse.Namespace(**dict.fromkeys(dests, unset)))
    given = {dest for dest, value in vars(args).items() if value is not unset}
    for dest in dests - given:
        setattr(args, dest, parser.get_default(dest))
    return args, given


def check_settings(evaluator: Any, spec: Any, given: set[str]) -> None:
    """One-line :class:`~hf_ecpe.cli.UsageError` naming the evaluator settings given on the command line that the
    model's evaluator does not declare, and the ones it accepts."""
    from hf_ecpe.cli import UsageError

    refused = [name for name in EVALUATOR_SETTINGS if name in given and name not in evaluator.settings]
    if refused:
        flags = ", ".join(f"--{name}" for name in refused)
        verb = "does" if len(refused) == 1 else "do"
        accepted = ", ".join(f"--{name}" for name in evaluator.settings) or "none of them"
        raise UsageError(
            f"{flags} {verb} not apply to {evaluator.model_name} ({spec.model_type or spec.name}); it accepts "
            f"{accepted}"
        )


@contextmanager
def load_warnings_held() -> Iterator[None]:
    """Hold what ``transformers`` logs while a checkpoint loads (e.g. its load report of missing and unexpected
    weights): shown when loading succeeds, dropped when it fails — the error then says what is wrong, and a table of
    fifty weights before it would bury that one line."""
    from transformers.utils import logging as hf_logging

    library = hf_logging.get_logger()  # the "transformers" logger every module's logger propagates to
    held: list[logging.LogRecord] = []

    class Hold(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            held.append(record)

    handlers, propagate = library.handlers[:], library.propagate
    library.handlers, library.propagate = [Hold()], False
    try:
        yield
    finally:
        library.handlers, library.propagate = handlers, propagate
    for record in held:  # reached only when loading succeeded
        library.handle(record)


def load_pair_model(path: Path) -> tuple[Any, Any]:
    """The model and tokenizer of a pair-model folder; a checkpoint that cannot be loaded (weights of another shape
    or method, a gap) is a one-line ``ValueError``."""
    from transformers import AutoModel, AutoTokenizer

    from hf_ecpe._registration import register_all

    register_all()
    with load_warnings_held():
        try:
            model = AutoModel.from_pretrained(str(path)).eval()
        except RuntimeError as err:  # e.g. "Error(s) in loading state_dict": weights of another shape
            raise ValueError(f"{path}: the checkpoint cannot be loaded: {err}") from err
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    return model, tokenizer


def format_table(metrics: dict[str, Any]) -> str:
    """The headline metrics (``TABLE_KEYS`` present), or every scalar metric for a method with other names."""
    rows = [(key, metrics[key]) for key in TABLE_KEYS if isinstance(metrics.get(key), (int, float))]
    if not rows:
        rows = [
            (key, value)
            for key, value in sorted(metrics.items())
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        ]
    width = max((len(key) for key, _ in rows), default=10)
    return "\n".join(f"{key:<{width}}  {value:.4f}" for key, value in rows)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the evaluation; returns the record written to the JSON file."""
    from hf_ecpe.evaluation.evaluators import evaluator_for
    from hf_ecpe.outputs import OutputError, OutputLock, atomic_write_text, check_output_file

    args, given = parse_arguments(argv)
    check_arguments(args)
    path = resolve_model_path(args.model)
    spec = method_of_folder(path)
    evaluator = evaluator_for(spec)
    check_settings(evaluator, spec, given)  # a flag the method does not use is refused, not ignored
    check_weight_files(path, args.model)
    if args.output:
        output = check_output_file(args.output)
    else:  # the current directory, a name that says what was scored; an earlier run's file is not replaced silently
        planned = {"corpus": args.corpus, "config": None, "split": args.split, "max_samples": args.max_samples}
        if args.corpus:
            from hf_ecpe.data.corpora import get_corpus

            planned["config"] = get_corpus(args.corpus).check_config(args.config)
        elif args.dataset_path:
            planned["corpus"] = Path(args.dataset_path).resolve().name
        output = check_output_file(default_output_name(path, planned))
        if output.exists() and not args.overwrite:
            raise OutputError(
                f"{output} exists (an earlier evaluation's result); pass --overwrite to replace it, or --output FILE"
            )
    with OutputLock(output):
        if spec.kind != "triplets":  # the model before the data: a checkpoint that cannot load fails fast
            model, tokenizer = load_pair_model(path)
        else:  # the triplet LLM's evaluator loads the adapter folder itself
            model, tokenizer = path, None
        dataset, info = load_split(args)
        metrics = evaluator(model, tokenizer, dataset, **{name: getattr(args, name) for name in evaluator.settings})
        overrides = {
            flag: value
            for flag, value in (("decoding", args.decoding), ("threshold", args.threshold), ("top_k", args.top_k))
            if value is not None
        }  # decoding settings given on the command line instead of the ones saved with the model
        record = {"model": str(path), "method": spec.name, "data": info, "overrides": overrides, "metrics": metrics}
        atomic_write_text(output, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    subset = f" (first {info['examples']} of {info['subset_of']})" if "subset_of" in info else ""
    print(
        f"{spec.display_name} · {info['corpus']} {info['config'] or ''} {info['split']}: {info['examples']} examples{subset}"
    )
    print(format_table(metrics))
    print(f"written to {output}")
    return record


def cli(argv: list[str] | None = None) -> None:
    from hf_ecpe.cli import run_cli

    run_cli(main, argv, program="hf_ecpe.scripts.evaluate")


if __name__ == "__main__":
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.WARNING)
    cli(sys.argv[1:])
