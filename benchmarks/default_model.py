"""Benchmark of an embedded-default candidate: documents, conversations, neutral text, throughput, size — beside the
model-free floors on the same splits with the same scorer.

    python benchmarks/default_model.py --model /path/to/partial_checkpoint --name new \\
        --output benchmarks/results/default_model_new.json
    python benchmarks/default_model.py --model hf_ecpe/assets/a2net-minilm-en --name a2net-minilm-en \\
        --output benchmarks/results/default_model_a2net.json

What it measures (every model number through ``hf_ecpe.scripts.evaluate.evaluate_pair_model``, the code path of
``python -m hf_ecpe.scripts.evaluate``, with the decoding saved in the model's config):

- pair / emotion / cause P, R, F1 (the ``ecpe`` scorer) and, for a model with a category head, the category-aware
  pair F1, on ECPE-en fold-1 test, RECCON-DD validation and ECF validation (conversations with speakers);
- the floors on the same splits and scorer: every unit paired with itself, and with itself and the one before it;
- the false-positive rate on neutral text: the share of GoEmotions test comments labelled only ``neutral`` that get
  any pair (and any emotion) from ``pipeline("emotion-cause")``;
- throughput: pipeline documents/s against the bare encoder forward over the same length-sorted batches, on the
  ECPE-en fold-1 test clause lists and on the ECF validation conversations;
- the model folder's size on disk.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path
from typing import Any

import torch

SPLITS = (("ecpe_en", "fold1", "test"), ("reccon", "dailydialog", "validation"), ("ecf", "default", "validation"))
GOEMOTIONS_NEUTRAL = "27"


def build_split(data_root: Path, corpus: str, config: str, split: str) -> Any:
    from hf_ecpe.data.corpora import get_corpus

    spec = get_corpus(corpus)
    return spec.build(spec.locate(data_root), config, lenient=True, splits=[split])[split]


def floors(dataset: Any) -> dict[str, dict[str, float]]:
    """Model-free heuristics scored by the same ``ecpe`` scorer."""
    from hf_ecpe.evaluation import ecpe_scores

    gold = [[(p["emotion"], p["cause"]) for p in row["pairs"]] for row in dataset]
    n_units = [len(row["units"]) for row in dataset]
    heuristics = {
        "self": [[(i, i) for i in range(n)] for n in n_units],
        "self_and_previous": [[(i, i) for i in range(n)] + [(i, i - 1) for i in range(1, n)] for n in n_units],
    }
    keep = ("pair_precision", "pair_recall", "pair_f1")
    return {
        name: {k: v for k, v in ecpe_scores(pred, gold, num_units=n_units).items() if k in keep}
        for name, pred in heuristics.items()
    }


def neutral_comments(data_root: Path) -> list[str]:
    path = data_root / "goemotions" / "data" / "original" / "test.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            text
            for text, labels, _ in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            if labels == GOEMOTIONS_NEUTRAL
        ]


def throughput(extractor: Any, documents: list[Any], batch_size: int) -> dict[str, float]:
    """Documents/s of the pipeline and of the bare encoder over the same length-sorted batches."""
    model = extractor.model
    prepared = [extractor.prepare(document) for document in documents]
    order = sorted(range(len(prepared)), key=lambda i: prepared[i].size)
    batches = [
        extractor.collate([prepared[i] for i in order[start : start + batch_size]])
        for start in range(0, len(order), batch_size)
    ]
    extractor(documents[:batch_size], batch_size=batch_size)  # warm-up
    start = time.perf_counter()
    extractor(documents, batch_size=batch_size)
    pipeline_seconds = time.perf_counter() - start
    encoder = model.encoder
    with torch.inference_mode():
        encoder(input_ids=batches[0]["input_ids"], attention_mask=batches[0]["attention_mask"])
        start = time.perf_counter()
        for batch in batches:
            encoder(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                token_type_ids=batch["token_type_ids"],
            )
        encoder_seconds = time.perf_counter() - start
    n = len(documents)
    return {
        "documents": n,
        "batch_size": batch_size,
        "pipeline_docs_per_s": round(n / pipeline_seconds, 2),
        "encoder_forward_docs_per_s": round(n / encoder_seconds, 2),
        "pipeline_vs_encoder": round(encoder_seconds / pipeline_seconds, 3),
    }


def folder_size_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--data_root", default=os.environ.get("HF_ECPE_DATA", "../shared/data"))
    parser.add_argument("--output", required=True)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    import hf_ecpe
    from hf_ecpe.scripts.evaluate import evaluate_pair_model, load_pair_model

    data_root = Path(args.data_root)
    model, tokenizer = load_pair_model(Path(args.model))
    report: dict[str, Any] = {
        "model": args.name,
        "path": args.model,
        "size_mb": folder_size_mb(Path(args.model)),
        "threads": torch.get_num_threads(),
        "decoding": {"strategy": model.config.decoding, "threshold": model.config.decode_threshold},
        "splits": {},
    }
    for corpus, config, split in SPLITS:
        dataset = build_split(data_root, corpus, config, split)
        metrics = evaluate_pair_model(model, tokenizer, dataset, batch_size=args.batch_size)
        report["splits"][f"{corpus}/{split}"] = {"examples": len(dataset), "model": metrics, "floors": floors(dataset)}
        print(corpus, split, {k: round(metrics[k], 4) for k in ("pair_precision", "pair_recall", "pair_f1")})

    extractor = hf_ecpe.pipeline("emotion-cause", model=args.model)
    comments = neutral_comments(data_root)
    results = extractor(comments, batch_size=args.batch_size)
    report["neutral_text"] = {
        "comments": len(comments),
        "with_any_pair": sum(bool(r["pairs"]) for r in results) / len(comments),
        "with_any_emotion": sum(bool(r["emotions"]) for r in results) / len(comments),
        "examples_with_pairs": [
            {"text": text, "pairs": [(p["emotion_text"], p["cause_text"], round(p["score"], 3)) for p in r["pairs"]]}
            for text, r in zip(comments, results)
            if r["pairs"]
        ][:10],
    }
    print("neutral text:", report["neutral_text"]["with_any_pair"])
    ecpe_test = build_split(data_root, "ecpe_en", "fold1", "test")
    ecf_dev = build_split(data_root, "ecf", "default", "validation")
    report["throughput"] = {
        "ecpe_en_fold1_test_clauses": throughput(
            extractor, [{"clauses": list(r["units"])} for r in ecpe_test], args.batch_size
        ),
        "ecf_validation_conversations": throughput(
            extractor,
            [{"utterances": list(r["units"]), "speakers": list(r["speakers"])} for r in ecf_dev],
            args.batch_size,
        ),
    }
    print("throughput:", report["throughput"])
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
