"""Build every corpus found under ``HF_ECPE_DATA`` (default ``../shared/data``) and print a statistics table.

python -m hf_ecpe.scripts.corpus_stats [--data_root DIR]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from hf_ecpe.data.stats import build_available, format_statistics


def default_data_root() -> Path:
    return Path(os.environ.get("HF_ECPE_DATA", Path.cwd().parent / "shared" / "data"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_root", type=Path, default=None, help="folder holding the corpus folders")
    args = parser.parse_args(argv)
    root = args.data_root or default_data_root()
    if not root.is_dir():
        raise SystemExit(f"no corpora at {root}: set HF_ECPE_DATA or pass --data_root (the folder of ../shared/data)")
    table, repairs = build_available(root)
    print(format_statistics(table))
    print("\nnormalisations and repairs (lenient mode):")
    for name, summary in repairs.items():
        print(f"  {name}: " + summary.replace("\n", "\n    "))


if __name__ == "__main__":
    main()
