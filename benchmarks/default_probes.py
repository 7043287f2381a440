"""What the embedded default gets right and wrong, beyond its F1: pair scores by the cause's position, and
hand-written probes read by a person.

    python benchmarks/default_probes.py --output benchmarks/results/default_probes.json
    python benchmarks/default_probes.py --model hf_ecpe/assets/a2net-minilm-en --output /tmp/probes_a2net.json

1. **By position** — pair P/R/F1 per relative position of the cause (``cause - emotion``;
   :func:`hf_ecpe.evaluation.pair_scores_by_offset`) on ECPE-en fold-1 test, RECCON-DD validation and ECF
   validation, from ``hf_ecpe.pipeline("emotion-cause", model=...)`` on the canonical rows (the user's path).
2. **Probes** — short hand-written texts none of the corpora contain, each with the pairs a reader expects
   (``[]`` for text without emotion): neutral statements, causes before and after their emotion, explicit
   connectives ("because", "so"), conversations, and one story repeated until it is long. A probe passes when the
   predicted pairs are exactly the expected ones; the report lists every answer so it can be read, not just
   counted.
3. **Long inputs** — the documents (with pairs) of the ``emotion_cause_mix`` validation split, joined ``k`` at a time
   into one input (``--join 1 3 6``; the pairs keep their units), scored as one document and, with
   ``--max_units N ...``, in pieces of N units (the pipeline's ``max_units``): how recall holds up as inputs grow
   beyond the training documents (median 6 clauses).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # default_model.py, beside this script
from default_model import SPLITS, build_split, join_groups, pipeline_scores  # noqa: E402

STORY = [
    "The mayor announced that the library would close.",
    "Anna was furious.",
    "The weather was cold that week.",
    "Later, the council voted again.",
    "To everyone's surprise, the decision was reversed.",
    "Anna was overjoyed.",
]

#: (name, kind, input, expected pairs as [emotion, cause]).
PROBES: list[tuple[str, str, Any, list[list[int]]]] = [
    ("water", "neutral", "Water boils at 100 degrees Celsius at sea level.", []),
    ("invoice", "neutral", "The invoice is attached. Payment is due within 30 days.", []),
    ("meeting", "neutral", {"clauses": ["The meeting starts at nine", "Room 4 is on the second floor"]}, []),
    ("train times", "neutral", {"utterances": ["When does the train leave?", "At 6:15 from platform 2."]}, []),
    ("self cause", "cause = emotion", {"clauses": ["She was furious that the airline lost her luggage"]}, [[0, 0]]),
    ("cause before", "cause before", {"clauses": ["I lost my job yesterday", "so I am very sad"]}, [[1, 0]]),
    ("mayor", "cause before", {"clauses": ["The mayor closed the library", "Anna was furious"]}, [[1, 0]]),
    ("because", "cause after", {"clauses": ["I was so happy", "because I passed the exam"]}, [[0, 1]]),
    ("afraid", "cause after", {"clauses": ["Tom was terrified", "when the dog started barking at him"]}, [[0, 1]]),
    (
        "train cancelled",
        "conversation",
        {"utterances": ["The train was cancelled again.", "Now I will miss the wedding. I am so upset."]},
        [[1, 0], [1, 1]],
    ),
    (
        "promotion",
        "conversation",
        {"utterances": ["I got the promotion!", "Congratulations, that is wonderful!", "Thanks, I am thrilled."]},
        [[0, 0], [1, 0], [2, 0]],
    ),
    ("story", "document", {"clauses": STORY}, [[1, 0], [5, 4]]),
    (
        "story x6",
        "long document",
        {"clauses": STORY * 6},
        [[6 * k + e, 6 * k + c] for k in range(6) for e, c in ((1, 0), (5, 4))],
    ),
]


def by_position(extractor: Any, data_root: Path) -> dict[str, Any]:
    """Pair scores per cause offset on each split, through the pipeline (:func:`default_model.pipeline_scores`)."""
    results = {}
    for corpus, config, split in SPLITS:
        try:
            rows = build_split(data_root, corpus, config, split)
        except FileNotFoundError as error:
            print(f"{corpus}: skipped ({error})")
            continue
        results[f"{corpus}/{split}"] = pipeline_scores(extractor, rows, batch_size=16)
    return results


def long_inputs(extractor: Any, data_root: Path, joins: list[int], max_units: list[int]) -> dict[str, Any]:
    """Pair scores on validation documents joined ``k`` at a time, whole and in pieces of each ``max_units``."""
    from hf_ecpe.data.corpora import get_corpus
    from hf_ecpe.evaluation import ecpe_scores

    spec = get_corpus("emotion_cause_mix")
    split = spec.build(spec.locate(data_root), "default", lenient=True, splits=["validation"])["validation"]
    documents = [row for row in split if row["pairs"] and not row["speakers"]]
    results: dict[str, Any] = {"documents": len(documents)}
    for pieces in [None, *max_units]:
        name = "whole" if pieces is None else f"max_units_{pieces}"
        results[name] = {}
        for k in joins:
            joined = join_groups(documents, k)
            outputs = extractor([{"clauses": row["units"]} for row in joined], batch_size=8, max_units=pieces)
            scores = ecpe_scores(outputs, joined)
            results[name][f"join_{k}"] = {
                "inputs": len(joined),
                **{key: scores[key] for key in ("pair_precision", "pair_recall", "pair_f1")},
            }
    return results


def run_probes(extractor: Any) -> list[dict[str, Any]]:
    """Each probe's answer beside what a reader expects."""
    answers = []
    for name, kind, text, expected in PROBES:
        output = extractor(text)
        predicted = sorted([p["emotion_index"], p["cause_index"]] for p in output["pairs"])
        answers.append(
            {
                "name": name,
                "kind": kind,
                "units": output["units"],
                "expected": sorted(expected),
                "predicted": predicted,
                "passed": predicted == sorted(expected),
                "pairs": [
                    {k: p[k] for k in ("emotion_index", "cause_index", "score", "category") if k in p}
                    for p in output["pairs"]
                ],
                "emotions": [e["index"] for e in output["emotions"]],
            }
        )
    return answers


def report(result: dict[str, Any]) -> str:
    """The probe answers and the by-position recall, as text."""
    lines = []
    for split, scores in result["by_position"].items():
        cells = ", ".join(
            f"{bucket}: {v['recall']:.2f} of {v['gold']}" for bucket, v in scores["by_offset"].items() if v["gold"]
        )
        lines.append(f"{split} (pair F1 {scores['pair_f1']:.3f}) recall by cause offset — {cells}")
    long = result.get("long_inputs")
    if long:
        for name, rows in long.items():
            if name != "documents":
                cells = ", ".join(f"{k.replace('_', ' ')}: {v['pair_f1']:.3f}" for k, v in rows.items())
                lines.append(f"long inputs ({long['documents']} documents), {name}: pair F1 — {cells}")
    for answer in result["probes"]:
        mark = "ok  " if answer["passed"] else "MISS"
        got = ", ".join(
            f"({p['emotion_index']}←{p['cause_index']} {p['score']:.2f} {p.get('category', '')})"
            for p in answer["pairs"]
        )
        lines.append(f"{mark} {answer['name']:<16} [{answer['kind']}] expected {answer['expected']} got {got or '[]'}")
    lines.append(f"{sum(a['passed'] for a in result['probes'])} of {len(result['probes'])} probes passed")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model folder (default: the embedded default)")
    parser.add_argument("--data_root", default=os.environ.get("HF_ECPE_DATA", "../shared/data"))
    parser.add_argument("--output", required=True)
    parser.add_argument("--join", type=int, nargs="*", default=[1, 3, 6], help="documents per long input")
    parser.add_argument("--max_units", type=int, nargs="*", default=[8], help="piece sizes for the long inputs")
    args = parser.parse_args()

    import hf_ecpe

    extractor = hf_ecpe.pipeline("emotion-cause", model=args.model)
    result = {
        "model": args.model or "default",
        "by_position": by_position(extractor, Path(args.data_root)),
        "probes": run_probes(extractor),
        "long_inputs": long_inputs(extractor, Path(args.data_root), args.join, args.max_units) if args.join else None,
    }
    result["probes_passed"] = sum(a["passed"] for a in result["probes"])
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2))
    print(report(result))


if __name__ == "__main__":
    main()
