"""``python -m hf_ecpe.tools.check_copies``: the marked copies between model folders stay in sync."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hf_ecpe.tools.check_copies import check_copies, main

REPO_ROOT = Path(__file__).resolve().parents[1]

ORIGINAL = textwrap.dedent(
    '''
    """The original folder."""

    LIMIT = 3


    def add_one(x: int) -> int:
        """One more than ``x``."""
        return x + 1


    class SourceModel:
        """A model."""

        @classmethod
        def build(cls, size: int) -> SourceModel:
            """A SourceModel of ``size``."""
            if size < 1:
                raise ValueError(f"SourceModel needs size >= 1, got {size}")
            return cls()

        def name(self) -> str:
            return "SourceModel"
    '''
).lstrip()

COPY = textwrap.dedent(
    '''
    """The copying folder."""


    # Copied from hf_ecpe.models.src.modeling_src.LIMIT
    LIMIT = 3


    # Copied from hf_ecpe.models.src.modeling_src.add_one
    def add_one(x: int) -> int:
        """One more than ``x``."""
        return x + 1


    class TargetModel:
        """Another model."""

        # Copied from hf_ecpe.models.src.modeling_src.SourceModel.build with SourceModel->TargetModel
        @classmethod
        def build(cls, size: int) -> TargetModel:
            """A TargetModel of ``size``."""
            if size < 1:
                raise ValueError(f"TargetModel needs size >= 1, got {size}")
            return cls()

        def name(self) -> str:
            return "TargetModel"
    '''
).lstrip()


@pytest.fixture()
def tree(tmp_path) -> Path:
    """A throwaway tree ``<tmp>/hf_ecpe/models/{src,dst}`` whose copies are in sync."""
    for folder, name, text in (("src", "modeling_src.py", ORIGINAL), ("dst", "modeling_dst.py", COPY)):
        path = tmp_path / "hf_ecpe" / "models" / folder
        path.mkdir(parents=True)
        (path / "__init__.py").write_text("")
        (path / name).write_text(text)
    return tmp_path


def copy_file(tree: Path) -> Path:
    return tree / "hf_ecpe" / "models" / "dst" / "modeling_dst.py"


def line_of(path: Path, text: str) -> int:
    return path.read_text().splitlines().index(text) + 1


def test_the_repository_copies_match_their_originals():
    assert check_copies(REPO_ROOT) == []
    copies = (REPO_ROOT / "hf_ecpe/models/pair_scorer/modeling_pair_scorer.py").read_text()
    assert copies.count("# Copied from hf_ecpe.models.a2net.modeling_a2net.") >= 20


def test_a_tree_in_sync_is_clean(tree):
    assert check_copies(tree) == []


def test_a_drifted_copy_is_reported_with_its_file_line_and_a_diff(tree):
    path = copy_file(tree)
    path.write_text(COPY.replace("return x + 1", "return x + 2"))
    (drift,) = check_copies(tree)
    assert drift.path == path.resolve()
    assert drift.line == line_of(path, "# Copied from hf_ecpe.models.src.modeling_src.add_one")
    assert (
        drift.fixable and "add_one differs from its original hf_ecpe.models.src.modeling_src.add_one" in drift.message
    )
    assert "-    return x + 1" in drift.diff and "+    return x + 2" in drift.diff
    assert f"+++ {Path('hf_ecpe/models/dst/modeling_dst.py')}" in drift.diff
    assert drift.format(tree).startswith(f"{Path('hf_ecpe/models/dst/modeling_dst.py')}:{drift.line}: ")


def test_replacements_apply_and_a_method_copy_is_compared_dedented(tree):
    path = copy_file(tree)
    path.write_text(COPY.replace('raise ValueError(f"TargetModel needs', 'raise ValueError(f"SourceModel needs'))
    (drift,) = check_copies(tree)
    assert drift.target == "hf_ecpe.models.src.modeling_src.SourceModel.build"
    assert "TargetModel.build differs" in drift.message and "with SourceModel->TargetModel" in drift.message
    assert '-        raise ValueError(f"TargetModel needs' in drift.diff
    # a method that is not marked may differ freely
    path.write_text(COPY.replace('return "TargetModel"', 'return "something else"'))
    assert check_copies(tree) == []


def test_fix_rewrites_drifted_copies_from_their_originals(tree):
    path = copy_file(tree)
    drifted = (
        COPY.replace("return x + 1", "x = -x  # a stray line\n    return x - 1")
        .replace("LIMIT = 3", "LIMIT = 4")
        .replace("if size < 1:", "if size < 0:")
    )
    path.write_text(drifted)
    found = check_copies(tree, fix=True)
    assert len(found) == 3 and all(drift.fixed for drift in found)
    assert path.read_text() == COPY  # re-indented, replacements applied, everything else untouched
    assert check_copies(tree) == []


def test_a_marker_naming_no_object_is_an_error_that_fix_leaves_alone(tree):
    path = copy_file(tree)
    broken = COPY.replace("modeling_src.add_one", "modeling_src.add_two").replace(
        "modeling_src.SourceModel.build", "modeling_nowhere.SourceModel.build"
    )
    path.write_text(broken)
    found = check_copies(tree, fix=True)
    messages = sorted(drift.message for drift in found)
    assert len(found) == 2 and not any(drift.fixable or drift.fixed for drift in found)
    assert "unknown target 'hf_ecpe.models.src.modeling_src.add_two'" in messages[1]
    assert "hf_ecpe.models.src.modeling_src has no add_two" in messages[1]
    assert "unknown target 'hf_ecpe.models.src.modeling_nowhere.SourceModel.build'" in messages[0]
    assert path.read_text() == broken


def test_misplaced_markers_and_unreadable_replacements_are_errors(tree):
    path = copy_file(tree)
    misplaced = "\n\n# Copied from hf_ecpe.models.src.modeling_src.LIMIT\n\nOTHER = 3\n"
    path.write_text(COPY.replace("with SourceModel->TargetModel", "with SourceModel=>TargetModel") + misplaced)
    found = sorted(check_copies(tree), key=lambda drift: drift.line)
    assert [drift.fixable for drift in found] == [False, False]
    assert "cannot read the marker's replacements 'with SourceModel=>TargetModel'" in found[0].message
    assert "must stand on the line right before a def / class" in found[1].message


def test_a_marker_inside_a_string_is_not_a_marker(tree):
    path = copy_file(tree)
    path.write_text(
        COPY.replace('"""The copying folder."""', '"""The copying folder.\n\n# Copied from nowhere.at.all\n"""')
    )
    assert check_copies(tree) == []


def test_main_prints_the_drift_and_returns_1_then_0_after_fix(tree, capsys):
    path = copy_file(tree)
    path.write_text(COPY.replace("return x + 1", "return x + 2"))
    assert main(["--root", str(tree)]) == 1
    out = capsys.readouterr().out
    line = line_of(path, "# Copied from hf_ecpe.models.src.modeling_src.add_one")
    assert (
        f"{Path('hf_ecpe/models/dst/modeling_dst.py')}:{line}: add_one differs" in out and "+    return x + 2" in out
    )
    assert main(["--root", str(tree), "--fix"]) == 0
    assert "rewrote the copy" in capsys.readouterr().out and path.read_text() == COPY
    assert main(["--root", str(tree)]) == 0
    path.write_text(COPY.replace("modeling_src.add_one", "modeling_src.add_two"))
    assert main(["--root", str(tree), "--fix"]) == 1  # nothing to fix from: still an error
    assert "unknown target" in capsys.readouterr().out


def test_cli_exit_codes(tree):
    path = copy_file(tree)
    path.write_text(COPY.replace("return x + 1", "return x + 2"))
    command = [sys.executable, "-m", "hf_ecpe.tools.check_copies", "--root", str(tree)]
    drifted = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert "modeling_dst.py" in drifted.stdout and "+    return x + 2" in drifted.stdout
    fixed = subprocess.run([*command, "--fix"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert path.read_text() == COPY


def test_code_files_of_shipped_checkpoints_are_whole_file_copies(tmp_path):
    """A checkpoint shipped inside the package (hf_ecpe/assets/*) carries its model folder's code for remote code:
    a file that drifts from hf_ecpe/models/<m>/ is reported, and --fix copies the original over it."""
    from hf_ecpe.tools.check_copies import check_shipped_code

    models = tmp_path / "hf_ecpe" / "models" / "toy"
    assets = tmp_path / "hf_ecpe" / "assets" / "toy-default"
    models.mkdir(parents=True)
    assets.mkdir(parents=True)
    (models / "modeling_toy.py").write_text("X = 1\n")
    (assets / "modeling_toy.py").write_text("X = 1\n")
    assert check_shipped_code(tmp_path) == []
    (assets / "modeling_toy.py").write_text("X = 2\n")
    drifts = check_shipped_code(tmp_path)
    assert len(drifts) == 1 and "differs from hf_ecpe/models/toy/modeling_toy.py" in drifts[0].message
    assert "-X = 1" in drifts[0].diff and "+X = 2" in drifts[0].diff
    check_shipped_code(tmp_path, fix=True)
    assert (assets / "modeling_toy.py").read_text() == "X = 1\n" and check_shipped_code(tmp_path) == []
