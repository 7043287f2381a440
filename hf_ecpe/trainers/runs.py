"""What a training run checks and records around the ``Trainer``: the output folder, the checkpoint a resume starts
from, the arguments a resume takes from that checkpoint, and the argument ranges no ``Trainer`` checks.

Used by ``hf_ecpe.scripts.train``, ``hf_ecpe.scripts.sft`` and the hf_ecpe trainers. Every check raises a
``ValueError`` (or ``FileNotFoundError``) whose message says what to change, before any data is loaded or any step is
trained. Light at import (no torch, no transformers): the scripts' ``--help`` stays fast.

Resumes: a checkpoint's optimiser, scheduler and random-number states fix some hyper-parameters for the rest of the
run (:data:`RESUME_FIXED_ARGUMENTS`: the learning rates and optimiser settings live in the optimiser state, the seed
in the saved RNG states). :func:`arguments_for_resume` therefore replaces them by the checkpoint's values (recorded
in :data:`CHECKPOINT_ARGUMENTS_FILE` by :func:`record_arguments_callback`) and warns once naming the flags it ignored,
so the model card and ``metrics.json`` record what the run really used.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: JSON copy of the training arguments that every checkpoint of an hf_ecpe run carries (``TrainingArguments.to_dict``:
#: tokens masked). ``training_args.bin`` holds the same, but as a pickle that is unsafe to load.
CHECKPOINT_ARGUMENTS_FILE = "hf_ecpe_training_args.json"

#: Arguments whose value a resume takes from the checkpoint, whatever the command line says: the optimiser state holds
#: the learning rates, weight decay and Adam settings (``optim`` must match it), the saved RNG states replace the seed.
#: Name prefix of the file :func:`check_writable_folder` creates (and removes at once) to test a folder.
PROBE_PREFIX = ".hf_ecpe_write_probe_"

RESUME_FIXED_ARGUMENTS = (
    "learning_rate",
    "encoder_learning_rate",
    "weight_decay",
    "adam_beta1",
    "adam_beta2",
    "adam_epsilon",
    "optim",
    "seed",
)


# ---------------------------------------------------------------------------------------------------------------
# Output folder
# ---------------------------------------------------------------------------------------------------------------


def check_writable_folder(path: str | os.PathLike, what: str = "output_dir") -> None:
    """Raise a ``ValueError`` when ``path`` is a file or cannot be created / written into (read-only folder or file
    system); checked by writing a probe file into ``path`` or its nearest existing parent, which is left as it was."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{what} {path} is a file, not a folder: choose a folder path for the run's outputs")
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise ValueError(f"{what} {path}: {existing} is a file, so the folder cannot be created")
    try:
        handle, probe = tempfile.mkstemp(prefix=PROBE_PREFIX, dir=existing)
    except OSError as err:
        where = "" if existing == folder else f" (its parent {existing} is not writable)"
        raise ValueError(
            f"{what} {path} is not writable{where}: {err.strerror or err}; choose a folder you can write to"
        ) from None
    os.close(handle)
    os.unlink(probe)


def check_output_dir(output_dir: str, resume: str | None, overwrite: bool) -> None:
    """Refuse an ``output_dir`` that is a file or not writable, and a non-empty one (it would replace the run there)
    unless resuming or ``--overwrite_output_dir true``."""
    check_writable_folder(output_dir)
    folder = Path(output_dir)
    # another process of the same launch may be probing the folder right now: its probe file is not a previous run
    if (
        resume
        or overwrite
        or not folder.is_dir()
        or not any(not path.name.startswith(PROBE_PREFIX) for path in folder.iterdir())
    ):
        return
    raise ValueError(
        f"output_dir {output_dir} is not empty (a previous run is there: its checkpoints and model would be "
        "replaced). Choose another --output_dir, resume it with --resume_from_checkpoint true, or replace it with "
        "--overwrite_output_dir true"
    )


def looks_like_path(name: str) -> bool:
    """Whether ``name`` is meant as a local path rather than a Hub id (``org/name``): it starts with ``/``, ``.`` or
    ``~``, has a backslash or more than one ``/``."""
    return name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1


def check_model_path(name: str | None, what: str = "model_name_or_path") -> None:
    """A ``FileNotFoundError`` when ``name`` is meant as a local folder (:func:`looks_like_path`) but does not exist
    (instead of the Hub client's "Repo id must be in the form ..." about a path)."""
    if name and looks_like_path(name) and not Path(name).expanduser().exists():
        raise FileNotFoundError(f"{what} {name}: no such folder (give a model folder or a Hub id such as org/name)")


# ---------------------------------------------------------------------------------------------------------------
# Argument ranges
# ---------------------------------------------------------------------------------------------------------------


def training_argument_problems(args: Any) -> list[str]:
    """What is out of range in a ``TrainingArguments`` for a training run (``Trainer`` checks none of these and fails
    mid-run, or saves an untrained model): batch sizes and accumulation >= 1, something to train (``num_train_epochs``
    > 0 or ``max_steps`` > 0), learning rates >= 0."""
    problems = []
    for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            problems.append(f"{name} must be >= 1, got {value}")
    epochs, max_steps = getattr(args, "num_train_epochs", 1), getattr(args, "max_steps", -1)
    if epochs < 0:
        problems.append(f"num_train_epochs must be > 0, got {epochs}")
    elif max_steps <= 0 and epochs == 0:
        problems.append(
            f"num_train_epochs is 0 and max_steps {max_steps}: nothing would be trained (the run would save the "
            "untrained model); set num_train_epochs > 0 or max_steps > 0"
        )
    if max_steps == 0 and epochs > 0:
        problems.append("max_steps must be > 0 (or -1: train num_train_epochs), got 0")
    for name in ("learning_rate", "encoder_learning_rate"):
        value = getattr(args, name, None)
        if value is not None and value < 0:
            problems.append(f"{name} must be >= 0, got {value}")
    return problems


def check_training_arguments(args: Any) -> None:
    """Raise one ``ValueError`` listing every problem of :func:`training_argument_problems`."""
    problems = training_argument_problems(args)
    if problems:
        raise ValueError("; ".join(problems))


def check_sample_limits(**limits: int | None) -> None:
    """``max_train_samples=...`` and the like must be ``None`` (all rows) or >= 1."""
    for name, value in limits.items():
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ValueError(f"--{name} must be a number of rows >= 1 (or none: every row), got {value!r}")


def check_metric_name(metric: str | None, available: Any, method_name: str) -> None:
    """``metric_for_best_model`` must name a metric the method's evaluation reports (``available``: names without
    prefix; ``None``: unknown, not checked). ``loss`` and ``loss_*`` (the loss components) are always accepted, with or
    without the ``eval_`` prefix."""
    if metric is None or available is None:
        return
    name = metric[len("eval_") :] if metric.startswith("eval_") else metric
    if name == "loss" or name.startswith("loss_") or name in available:
        return
    raise ValueError(
        f"metric_for_best_model={metric!r} is not a metric of the {method_name} method's evaluation; choose one of "
        f"{sorted({'loss', *available})} (with or without the 'eval_' prefix)"
    )


# ---------------------------------------------------------------------------------------------------------------
# Checkpoints and resumes
# ---------------------------------------------------------------------------------------------------------------


def is_complete_checkpoint(folder: str | os.PathLike) -> bool:
    """A ``checkpoint-*`` folder a resume can use: a ``trainer_state.json`` that parses and model weights whose
    safetensors header reads (a run killed while saving leaves neither)."""
    folder = Path(folder)
    state = folder / "trainer_state.json"
    try:
        json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    weights = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("pytorch_model*.bin"))
    if not weights:
        return False
    for file in weights:
        if file.suffix != ".safetensors":
            continue
        try:
            from safetensors import safe_open

            with safe_open(str(file), framework="pt") as handle:
                handle.keys()
        except Exception:  # noqa: BLE001 - any unreadable header means an incomplete checkpoint
            return False
    return True


def last_complete_checkpoint(output_dir: str | os.PathLike) -> str | None:
    """The newest complete ``checkpoint-<step>`` folder of ``output_dir``; incomplete ones are skipped with a
    warning naming them."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return None
    checkpoints = sorted(
        (path for path in folder.glob("checkpoint-*") if path.is_dir() and path.name.split("-")[-1].isdigit()),
        key=lambda path: int(path.name.split("-")[-1]),
        reverse=True,
    )
    for checkpoint in checkpoints:
        if is_complete_checkpoint(checkpoint):
            return str(checkpoint)
        logger.warning(
            "skipping the incomplete checkpoint %s (no readable trainer_state.json and weights: the run probably "
            "stopped while saving it); resuming from an earlier one",
            checkpoint,
        )
    return None


def resolve_resume_checkpoint(value: Any, output_dir: str) -> str | None:
    """``--resume_from_checkpoint`` → the checkpoint folder to resume from: ``true`` / ``last`` → the last complete
    one of ``output_dir``; a folder → itself when complete; ``false`` / none → ``None``."""
    if value in (None, "", False) or str(value).lower() in {"false", "no", "none"}:
        return None
    if value is True or str(value).lower() in {"true", "last", "yes"}:
        last = last_complete_checkpoint(output_dir)
        if last is None:
            raise ValueError(
                f"resume_from_checkpoint={value!r} but {output_dir} has no complete checkpoint-* folder; train "
                "without --resume_from_checkpoint to start afresh"
            )
        return last
    if not is_complete_checkpoint(value):
        raise ValueError(
            f"resume_from_checkpoint={value!r} is not a complete checkpoint folder (it needs trainer_state.json and "
            "model weights); pass --resume_from_checkpoint true to take the last complete one of output_dir"
        )
    return str(value)


def check_checkpoint_model_type(checkpoint: str | os.PathLike, model_type: str | None, method_name: str) -> None:
    """Refuse to resume a checkpoint of another model type than the recipe's method (its weights would not fit)."""
    if model_type is None:
        return
    try:
        saved = json.loads((Path(checkpoint) / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError):
        return  # an adapter or a checkpoint without config: the Trainer's own loading decides
    if saved and saved != model_type:
        from hf_ecpe.methods import method_for

        other = method_for(saved)
        named = f"method {other.name!r}" if other is not None else f"model_type {saved!r}"
        raise ValueError(
            f"cannot resume {checkpoint}: it is a checkpoint of {named}, and this recipe trains method "
            f"{method_name!r} (model_type {model_type!r}); resume it with its own recipe (--method "
            f"{other.name if other is not None else '...'}) or train into another --output_dir"
        )


def prepare_output_dir(args: Any, method: Any, overwrite: bool = False) -> tuple[Any, str | None, dict[str, Any]]:
    """Every check on the run's folder and the checkpoint it resumes, before any data is loaded: the checkpoint
    ``args.resume_from_checkpoint`` names (:func:`resolve_resume_checkpoint`), of ``method``'s model type
    (:func:`check_checkpoint_model_type`), the arguments it fixes (:func:`arguments_for_resume`) and an
    ``output_dir`` that holds no other run (:func:`check_output_dir`). Returns (the arguments the run uses, the
    checkpoint or ``None``, ``{name: ignored value}``)."""
    checkpoint = resolve_resume_checkpoint(args.resume_from_checkpoint, args.output_dir)
    ignored: dict[str, Any] = {}
    if checkpoint:
        check_checkpoint_model_type(checkpoint, method.model_type, method.name)
        args, ignored = arguments_for_resume(args, checkpoint)
    check_output_dir(args.output_dir, checkpoint, overwrite)
    return args, checkpoint, ignored


def whole_run_train_loss(log_history: list[dict[str, Any]]) -> float | None:
    """The mean training loss over every logged step of the run (the log history is restored on resume, so this
    covers the steps before a resume too): each logged ``loss`` weighted by the steps it averages."""
    total, steps, previous = 0.0, 0, 0
    for entry in log_history:
        if "loss" in entry and "step" in entry:
            span = max(int(entry["step"]) - previous, 1)
            total += float(entry["loss"]) * span
            steps += span
            previous = int(entry["step"])
    return total / steps if steps else None


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def record_arguments(args: Any, folder: str | os.PathLike) -> None:
    """Write ``args.to_dict()`` (tokens masked) to ``<folder>/`` :data:`CHECKPOINT_ARGUMENTS_FILE`."""
    Path(folder, CHECKPOINT_ARGUMENTS_FILE).write_text(
        json.dumps(args.to_dict(), indent=2, sort_keys=True, default=str), encoding="utf-8"
    )


def record_arguments_callback() -> Any:
    """A ``TrainerCallback`` that records the training arguments in every checkpoint the main process saves."""
    from transformers import TrainerCallback

    class RecordArgumentsCallback(TrainerCallback):
        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if state.is_world_process_zero and folder.is_dir():
                record_arguments(args, folder)

    return RecordArgumentsCallback()


def checkpoint_arguments(checkpoint: str | os.PathLike) -> dict[str, Any] | None:
    """The training arguments recorded in ``checkpoint`` (:data:`CHECKPOINT_ARGUMENTS_FILE`), or ``None``."""
    try:
        recorded = json.loads(Path(checkpoint, CHECKPOINT_ARGUMENTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, Mapping) else None


def arguments_for_resume(args: Any, checkpoint: str | os.PathLike) -> tuple[Any, dict[str, Any]]:
    """``args`` with the checkpoint's values of :data:`RESUME_FIXED_ARGUMENTS` (what the resumed run really uses)
    and ``{name: the ignored value given}``; warns once naming the ignored flags. A checkpoint without recorded
    arguments (made before hf_ecpe recorded them) leaves ``args`` unchanged, with a warning."""
    recorded = checkpoint_arguments(checkpoint)
    if recorded is None:
        logger.warning(
            "resuming from %s, which does not record its training arguments (%s): the optimiser and RNG states it "
            "holds decide %s, whatever the command line says",
            checkpoint,
            CHECKPOINT_ARGUMENTS_FILE,
            ", ".join(RESUME_FIXED_ARGUMENTS),
        )
        return args, {}
    changes, ignored = {}, {}
    for name in RESUME_FIXED_ARGUMENTS:
        if name not in recorded or not hasattr(args, name):
            continue
        given, saved = _plain(getattr(args, name)), recorded[name]
        if given != saved:
            changes[name], ignored[name] = saved, given
    if not changes:
        return args, {}
    logger.warning(
        "resuming from %s: its optimiser and random-number states fix %s, so the value(s) given (%s) are ignored and "
        "the run records the checkpoint's; train into a new --output_dir to use them",
        checkpoint,
        ", ".join(f"{name}={value!r}" for name, value in changes.items()),
        ", ".join(f"{name}={value!r}" for name, value in ignored.items()),
    )
    return dataclasses.replace(args, **changes), ignored


__all__ = [
    "CHECKPOINT_ARGUMENTS_FILE",
    "RESUME_FIXED_ARGUMENTS",
    "arguments_for_resume",
    "check_checkpoint_model_type",
    "check_metric_name",
    "check_model_path",
    "check_output_dir",
    "check_sample_limits",
    "check_training_arguments",
    "check_writable_folder",
    "checkpoint_arguments",
    "is_complete_checkpoint",
    "last_complete_checkpoint",
    "looks_like_path",
    "prepare_output_dir",
    "record_arguments",
    "record_arguments_callback",
    "resolve_resume_checkpoint",
    "training_argument_problems",
    "whole_run_train_loss",
]
