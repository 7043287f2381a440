"""Memory and time of one very long document through ``pipeline("emotion-cause")``, by length.

    python benchmarks/long_inputs.py --output benchmarks/results/long_inputs.json
    python benchmarks/long_inputs.py --units 1000 2000 --whole --output /tmp/long_whole.json   # one pass, N x N

Each length runs in a fresh process (so that its peak resident memory is its own): load the model, warm it up on a
short document, then annotate one document of N clauses (``{"clauses": [...]}``, varied English sentences cycled).
Reported per length: wall and CPU seconds of that call, the growth of the process's peak resident memory during it
(MB), the number of pieces and of pairs found. By default the pipeline splits a document longer than
``AUTO_MAX_UNITS`` units into pieces; ``--whole`` passes ``max_units=N`` so that the model scores the document in one
pass (the behaviour before pieces were automatic: an (N, N) pair matrix).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

CLAUSES = [
    "I was so happy",
    "because I passed the exam",
    "the weather was cold that week",
    "she was furious",
    "that the airline lost her luggage again",
    "so she wrote a long complaint",
    "the meeting starts at nine in room 204",
    "Tom was terrified",
    "when the dog started barking at him",
    "later the council voted again",
    "to everyone's surprise the decision was reversed",
    "Anna was overjoyed",
    "my dog died yesterday",
    "I am very sad",
    "trains leave every twenty minutes",
    "we were surprised to see snow in July",
    "he lost his job",
    "and he felt ashamed",
    "the invoice is attached",
]


def document(units: int) -> dict[str, list[str]]:
    """A document of ``units`` clauses, the sentences above cycled."""
    return {"clauses": [CLAUSES[k % len(CLAUSES)] for k in range(units)]}


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (MB; Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(model: str, units: int, whole: bool, threads: int) -> dict[str, float]:
    """Annotate one document of ``units`` clauses in this process; what it cost."""
    import torch

    import hf_ecpe
    from hf_ecpe.pipelines.emotion_cause import AUTO_MAX_UNITS, unit_pieces

    torch.set_num_threads(threads)
    extractor = hf_ecpe.pipeline("emotion-cause", model=None if model == "default" else model)
    extractor(document(40))  # warm-up: lazy imports, first allocations
    settings = {"max_units": max(units, 2)} if whole else {}
    before = peak_rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    result = extractor(document(units), **settings)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "units": units,
        "pieces": len(unit_pieces(units, units if whole else AUTO_MAX_UNITS)),
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "peak_rss_growth_mb": round(peak_rss_mb() - before, 1),
        "pairs": len(result["pairs"]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help="'default' or a model folder")
    parser.add_argument("--units", type=int, nargs="+", default=[500, 1000, 2000, 4000, 10000])
    parser.add_argument("--whole", action="store_true", help="one pass over the whole document (max_units=N)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: comparable on a busy machine)")
    parser.add_argument("--output", type=Path, help="JSON file to write")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(run_one(args.model, args.child, args.whole, args.threads)))
        return
    rows = []
    for units in args.units:
        command = [
            sys.executable,
            __file__,
            "--model",
            args.model,
            "--child",
            str(units),
            "--threads",
            str(args.threads),
        ]
        command += ["--whole"] if args.whole else []
        done = subprocess.run(command, capture_output=True, text=True, env=os.environ)
        if done.returncode != 0:
            row = {"units": units, "failed": done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]}
        else:
            row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps(row), flush=True)
    report = {
        "command": "python benchmarks/long_inputs.py " + " ".join(sys.argv[1:]),
        "model": args.model,
        "mode": "whole document in one pass (max_units=N)" if args.whole else "default (automatic pieces)",
        "torch_threads": args.threads,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "results": rows,
    }
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
