"""accelerate launch configs shipped with hf_ecpe, one YAML per setup.

=================== ============================================================================
name                setup
=================== ============================================================================
``single_cpu``      one process on the CPU
``multi_cpu``       2 data-parallel CPU processes (gloo); launch with ``ACCELERATE_USE_CPU=1``
``multi_gpu``       DDP over the GPUs of one machine, bf16
``deepspeed_zero2`` DeepSpeed ZeRO-2, bf16 (needs ``deepspeed``)
``fsdp2``           PyTorch FSDP2, transformer-block wrapping, bf16
=================== ============================================================================

``accelerate launch --config_file "$(python -c "from hf_ecpe.scripts.accelerate_configs import config_path;
print(config_path('multi_gpu'))")" -m hf_ecpe.scripts.train --config recipes/<recipe>.yaml``; see
``docs/launching.md``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["available_configs", "config_path"]


def available_configs() -> list[str]:
    """Names of the shipped configs (file stems), sorted."""
    folder = resources.files(__name__)
    return sorted(entry.name.removesuffix(".yaml") for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def config_path(name: str) -> Path:
    """Filesystem path of the shipped accelerate config ``name`` (``"multi_gpu"``; a ``.yaml`` suffix is allowed).

    Raises:
        TypeError: ``name`` is not a str.
        ValueError: no shipped config has that name; the message lists the names.
        FileNotFoundError: the package is not installed as plain files (e.g. inside a zip), so there is no path
            to hand to ``accelerate launch``.
    """
    if not isinstance(name, str):
        raise TypeError(f"config_path expects a config name as a str, got {type(name).__name__}")
    stem = name.removesuffix(".yaml")
    names = available_configs()
    if stem not in names:
        raise ValueError(
            f"no shipped accelerate config named {name!r}; choose one of {names}, "
            "or pass your own YAML to `accelerate launch --config_file`"
        )
    resource = resources.files(__name__).joinpath(f"{stem}.yaml")
    if not isinstance(resource, Path):
        raise FileNotFoundError(
            f"accelerate config {stem!r} is packed inside {resource!r}, not a file on disk; "
            "install hf_ecpe from a wheel or source tree to launch with it"
        )
    return resource
