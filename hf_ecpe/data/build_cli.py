"""The command line shared by every ``dataset_scripts/build_<name>.py``.

``python dataset_scripts/build_<name>.py [--data_dir ROOT | --corpus_dir FOLDER] --output_dir OUT
[--config C | --all_configs] [--splits S ...] [--strict] [--push_to_hub REPO] [--debug]``

``--data_dir`` means what it means for ``scripts.train`` and ``scripts.evaluate``: the data root, the folder that
holds one folder per corpus (``ecpe-en/``, ``ecf/``, ...; default ``$HF_ECPE_DATA``, else ``../shared/data``).
``--corpus_dir`` names one corpus folder itself instead (e.g. a copy under another name).

Builds the canonical ``DatasetDict`` of one corpus config, validates every row, writes it with ``save_to_disk`` to
``OUT/<config>`` and, with ``--push_to_hub``, uploads Parquet shards (``datasets`` writes the README ``configs`` YAML, one
config per corpus config) and a dataset card. These scripts build data; they are not ``datasets`` loading scripts,
which ``datasets`` >= 4 no longer runs.

Known corpus noise (a misspelt emotion keyword, a label in the wrong case, ...) is repaired by default and every
repair is counted in the printed report, so that the official releases build with the default command;
``--strict`` makes any repair an error. Unknown corruption always raises. ``--all_configs`` builds the configs
whose files exist and reports the others. A user error (bad argument, missing or malformed file) prints one line
``build_<name>: error: ...`` and exits with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from datasets import DatasetDict
from transformers import HfArgumentParser

from .corpora import get_corpus
from .corpora.base import CorpusSpec, RepairReport
from .errors import CorpusFormatError, NoSplitFilesError
from .schema import SchemaError, validate_rows
from .stats import corpus_statistics, format_statistics

#: Exit status of a user error (bad arguments, missing or malformed corpus files), as argparse uses.
_USER_ERRORS = (CorpusFormatError, SchemaError, FileNotFoundError, NotADirectoryError, PermissionError, ValueError)


class BuildUsageError(ValueError):
    """A command-line error: printed as one line, exit status 2."""


@dataclass
class BuildArguments:
    output_dir: str = field(metadata={"help": "Where the DatasetDict is saved (one sub-folder per config)."})
    data_dir: str | None = field(
        default=None,
        metadata={
            "help": "The data root: the folder that holds the corpus folder (e.g. ecf/), as for scripts.train and "
            "scripts.evaluate. Default: $HF_ECPE_DATA, else ../shared/data."
        },
    )
    corpus_dir: str | None = field(
        default=None,
        metadata={"help": "The corpus folder itself (e.g. ../shared/data/ecf), instead of --data_dir."},
    )
    config: str | None = field(default=None, metadata={"help": "Corpus config (default: the corpus' first config)."})
    all_configs: bool = field(default=False, metadata={"help": "Build every config of the corpus."})
    push_to_hub: str | None = field(default=None, metadata={"help": "Hub dataset repo id to push Parquet shards to."})
    private: bool = field(default=False, metadata={"help": "Create the Hub repo as private."})
    splits: list[str] | None = field(
        default=None,
        metadata={
            "help": "Build only these splits (train validation test). Default: every split whose file the corpus "
            "release has; a missing expected file is an error."
        },
    )
    strict: bool = field(
        default=False,
        metadata={"help": "Refuse known corpus noise instead of repairing it: any repair is an error."},
    )
    lenient: bool = field(
        default=False,
        metadata={"help": "Repair known corpus noise and report it (the default; kept for old command lines)."},
    )
    debug: bool = field(default=False, metadata={"help": "Show the full traceback of an error."})


def dataset_card(spec: CorpusSpec, statistics: str, repairs: str, notes: list[str] | None = None) -> str:
    """Markdown dataset card (the YAML ``configs`` block is maintained by ``push_to_hub`` itself)."""
    notes = "".join(f"\n- {note}" for note in notes or ())
    notes = f"\nSplits not built:\n{notes}\n" if notes else ""
    return f"""# {spec.name}

{spec.description}

Built with `hf_ecpe` (`dataset_scripts/build_{spec.name}.py`) into the canonical emotion–cause schema: one row per
document or conversation with `id`, `kind`, `language`, `units`, `speakers`, `emotions` and `pairs`
(0-based unit indices; character spans, `[-1, -1]` when the corpus has none).

## Licence

{spec.license or "See the original corpus."}

## Statistics

```
{statistics}
```

## Normalisations and repairs

```
{repairs}
```
{notes}
## Citation

```bibtex
{spec.citation}
```
"""


@contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    """No ``datasets`` progress bars while saving (a few hundred rows print "Saving the dataset" several times)."""
    import datasets

    enabled = not datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if enabled:
            datasets.enable_progress_bars()


def format_report(report: RepairReport, strict: bool) -> str:
    """The repairs and normalisations of a build (every kind with its count), then its notes."""
    mode = "strict: known noise is refused" if strict else "known noise repaired; --strict refuses it"
    if not report:
        lines = [f"repairs/normalisations ({mode}): none"]
    else:
        lines = [f"repairs/normalisations ({mode}), {sum(report.counts.values())} in all:"]
        lines += [f"  {line}" for line in report.summary().splitlines()]
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines)


def build(spec: CorpusSpec, args: BuildArguments, config: str) -> None:
    """Build, validate, save (and push) one config; prints its statistics and every repair."""
    report = RepairReport()
    options = {"lenient": not args.strict, "report": report}
    if args.splits is not None:
        options["splits"] = args.splits
    dataset = spec.build(corpus_folder(spec, args), config, **options)
    for ds in dataset.values():
        validate_rows(ds)
    out = Path(args.output_dir) / config
    with _quiet_progress_bars():
        dataset.save_to_disk(str(out))
    stats = format_statistics(
        {f"{spec.name}/{config}/{split}": corpus_statistics(ds) for split, ds in dataset.items()}
    )
    print(stats)
    print(format_report(report, args.strict))
    print(f"saved to {out}")
    if args.push_to_hub:
        card = dataset_card(spec, stats, report.summary(), report.notes)
        push(dataset, spec, args.push_to_hub, config, card, private=args.private)


def push(dataset: DatasetDict, spec: CorpusSpec, repo_id: str, config: str, card_text: str, private: bool) -> None:
    """Upload Parquet shards of one config, then our card text under the YAML header ``datasets`` maintains.

    ``push_to_hub`` writes the README's ``configs``/``dataset_info`` YAML (one entry per corpus config); replacing the
    README wholesale would drop it, so the card keeps that header and only its text is ours.
    """
    from huggingface_hub import DatasetCard

    dataset.push_to_hub(repo_id, config_name=config, private=private)
    card = DatasetCard.load(repo_id, repo_type="dataset")
    card.data.license = getattr(card.data, "license", None) or "other"
    card.data.tags = sorted({*(getattr(card.data, "tags", None) or []), "emotion-cause-pair-extraction", "hf-ecpe"})
    card.text = card_text
    card.push_to_hub(repo_id, repo_type="dataset")


def parse_arguments(spec: CorpusSpec, argv: list[str]) -> BuildArguments:
    """Parse the command line; a bad one raises :class:`BuildUsageError` (``--help`` prints and exits 0)."""
    parser = HfArgumentParser(BuildArguments, description=f"Build the {spec.name} corpus ({', '.join(spec.configs)}).")

    def error(message: str) -> None:
        raise BuildUsageError(f"{message} (see --help)")

    parser.error = error  # one line instead of argparse's usage block
    args, remaining = parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=True)
    if remaining:
        raise BuildUsageError(f"unrecognised arguments: {' '.join(remaining)} (see --help)")
    if args.strict and args.lenient:
        raise BuildUsageError("--strict and --lenient contradict each other; pass one (repairing is the default)")
    if args.all_configs and args.config:
        raise BuildUsageError("pass --config or --all_configs, not both")
    corpus_folder(spec, args)
    if args.push_to_hub:
        check_hub_access(args.push_to_hub)
    return args


def corpus_folder(spec: CorpusSpec, args: BuildArguments) -> Path:
    """The corpus folder to build from: ``--corpus_dir``, else ``<data root>/<spec.folder>`` (see the module
    docstring); a missing one is a :class:`BuildUsageError` that says which folder is expected."""
    import os

    if args.corpus_dir is not None:
        if args.data_dir is not None:
            raise BuildUsageError("pass --data_dir (the data root) or --corpus_dir (the corpus folder), not both")
        folder = Path(args.corpus_dir)
        if not folder.is_dir():
            raise BuildUsageError(
                f"--corpus_dir {folder} is not a directory (expected the {spec.folder!r} corpus folder)"
            )
        return folder
    if args.data_dir is not None:
        root, given = Path(args.data_dir), f"--data_dir {args.data_dir}"
    else:
        root = Path(os.environ.get("HF_ECPE_DATA") or "../shared/data")
        given = (
            f"the data root {root} ({'$HF_ECPE_DATA' if os.environ.get('HF_ECPE_DATA') else 'default'}; no --data_dir)"
        )
    folder = spec.locate(root)
    if folder.is_dir():
        return folder
    if not root.is_dir():
        problem = f"{given} is not a directory"
    else:
        problem = f"{given} has no {spec.folder}/ folder"
    hint = (
        f"; {root} looks like the corpus folder itself: pass --corpus_dir {root}"
        if root.is_dir() and root.resolve().name == spec.folder
        else "; to build from a corpus folder itself, pass --corpus_dir FOLDER"
    )
    raise BuildUsageError(
        f"{problem}: --data_dir is the data root that contains the {spec.name} corpus folder '{spec.folder}/' (as "
        f"for scripts.train and scripts.evaluate){hint}"
    )


def check_hub_access(repo_id: str) -> None:
    """Before building anything: ``--push_to_hub`` needs the Hub (not offline) and a login."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise BuildUsageError(
            f"--push_to_hub {repo_id}: the Hub is switched off (HF_HUB_OFFLINE=1, offline mode); unset it to push, "
            "or build without --push_to_hub and upload the saved folder later"
        )
    from huggingface_hub import HfApi

    try:
        HfApi().whoami()
    except Exception as err:  # no token, an invalid token, no network: all say "cannot push", before the build
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BuildUsageError(
            f"--push_to_hub {repo_id}: cannot reach the Hub as a logged-in user ({message}); run `hf auth login` "
            "(or set HF_TOKEN) and check the network, or build without --push_to_hub"
        ) from None


def run(corpus_name: str, argv: list[str]) -> None:
    """Build the corpus as the command line says; errors propagate (see :func:`main`)."""
    spec = get_corpus(corpus_name)
    args = parse_arguments(spec, argv)
    if not args.all_configs:
        build(spec, args, spec.check_config(args.config))
        return
    built, missing = [], []
    for config in spec.configs:
        try:
            build(spec, args, config)
        except NoSplitFilesError as err:  # a config whose files this copy does not have (e.g. RECCON iemocap)
            missing.append(config)
            print(f"not built: {err}")
        else:
            built.append(config)
    if not built:
        raise BuildUsageError(
            f"--all_configs: no config of {spec.name} has its files under {corpus_folder(spec, args)}"
        )
    print(
        f"{spec.name}: built {', '.join(built)}"
        + (f"; not built (files absent): {', '.join(missing)}" if missing else "")
    )


def main(corpus_name: str, argv: list[str] | None = None) -> None:
    """Entry point of ``dataset_scripts/build_<corpus_name>.py``.

    A user error (bad arguments, a missing or malformed corpus file, an invalid row) prints one line to stderr and
    exits with status 2; ``--debug`` re-raises it with its traceback.
    """
    from hf_ecpe.cli import run_cli

    run_cli(lambda args: run(corpus_name, args), argv, program=f"build_{corpus_name}", errors=_USER_ERRORS)
