"""Installing hf_ecpe prints no setuptools deprecation banner (issue 11, item 14): the licence is an SPDX string."""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def test_license_is_an_spdx_string_and_setuptools_is_new_enough_for_it():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "Apache-2.0"
    setuptools_requirement = next(r for r in pyproject["build-system"]["requires"] if r.startswith("setuptools"))
    minimum = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", setuptools_requirement)
    assert minimum and int(minimum.group(1)) >= 77, "SPDX `project.license` strings need setuptools >= 77"


def test_setuptools_reads_the_project_table_without_deprecation_warnings(monkeypatch):
    pytest.importorskip("setuptools", minversion="77")
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    monkeypatch.chdir(REPO_ROOT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), REPO_ROOT / "pyproject.toml")
    messages = [str(w.message) for w in caught if "license" in str(w.message).lower()]
    assert messages == []
    assert dist.metadata.license_expression == "Apache-2.0"
