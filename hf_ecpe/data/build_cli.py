"""The command line shared by every ``dataset_scripts/build_<name>.py``.

``python dataset_scripts/build_<name>.py --data_dir DIR --output_dir OUT [--config C] [--push_to_hub REPO] [--lenient]``

Builds the canonical ``DatasetDict`` of one corpus config, validates every row, writes it with ``save_to_disk`` to
``OUT/<config>`` and, with ``--push_to_hub``, uploads Parquet shards (``datasets`` writes the README ``configs`` YAML, one
config per corpus config) and a dataset card. These scripts build data; they are not ``datasets`` loading scripts,
which ``datasets`` >= 4 no longer runs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from datasets import DatasetDict
from transformers import HfArgumentParser

from .corpora import get_corpus
from .corpora.base import CorpusSpec, RepairReport
from .schema import validate_rows
from .stats import corpus_statistics, format_statistics


@dataclass
class BuildArguments:
    data_dir: str = field(metadata={"help": "The corpus folder, e.g. ../shared/data/ecpe-en."})
    output_dir: str = field(metadata={"help": "Where the DatasetDict is saved (one sub-folder per config)."})
    config: str | None = field(default=None, metadata={"help": "Corpus config (default: the corpus' first config)."})
    all_configs: bool = field(default=False, metadata={"help": "Build every config of the corpus."})
    push_to_hub: str | None = field(default=None, metadata={"help": "Hub dataset repo id to push Parquet shards to."})
    private: bool = field(default=False, metadata={"help": "Create the Hub repo as private."})
    lenient: bool = field(
        default=False, metadata={"help": "Repair known corpus noise and report it instead of failing."}
    )


def dataset_card(spec: CorpusSpec, statistics: str, repairs: str) -> str:
    """Markdown dataset card (the YAML ``configs`` block is maintained by ``push_to_hub`` itself)."""
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

## Citation

```bibtex
{spec.citation}
```
"""


def build(spec: CorpusSpec, args: BuildArguments, config: str) -> None:
    report = RepairReport()
    dataset = spec.build(Path(args.data_dir), config, lenient=args.lenient, report=report)
    for ds in dataset.values():
        validate_rows(ds)
    out = Path(args.output_dir) / config
    dataset.save_to_disk(str(out))
    stats = format_statistics(
        {f"{spec.name}/{config}/{split}": corpus_statistics(ds) for split, ds in dataset.items()}
    )
    print(stats)
    print(f"repairs/normalisations: {report.summary()}")
    print(f"saved to {out}")
    if args.push_to_hub:
        push(
            dataset, spec, args.push_to_hub, config, dataset_card(spec, stats, report.summary()), private=args.private
        )


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


def main(corpus_name: str, argv: list[str] | None = None) -> None:
    spec = get_corpus(corpus_name)
    parser = HfArgumentParser(
        BuildArguments, description=f"Build the {corpus_name} corpus ({', '.join(spec.configs)})."
    )
    (args,) = parser.parse_args_into_dataclasses(args=argv if argv is not None else sys.argv[1:])
    if not Path(args.data_dir).is_dir():
        parser.error(f"--data_dir {args.data_dir} is not a directory (expected the {spec.folder!r} corpus folder)")
    configs = spec.configs if args.all_configs else (spec.check_config(args.config),)
    for config in configs:
        build(spec, args, config)
