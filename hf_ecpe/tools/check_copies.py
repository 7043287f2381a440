"""Keep the marked copies between model folders in sync: ``python -m hf_ecpe.tools.check_copies [--fix]``.

Each folder under ``hf_ecpe/models`` imports only torch, transformers and its own files, because that folder is what
``save_pretrained`` ships as remote code. Code that two folders share is therefore *copied*, and every copy says where
its original is, on the line right before its ``def`` / ``class`` (or before the first decorator), or before a
module-level assignment (the idea of transformers' ``utils/check_copies.py``)::

    # Copied from hf_ecpe.models.a2net.modeling_a2net.pool_units
    def pool_units(...):

    # Copied from hf_ecpe.models.a2net.modeling_a2net.A2NetModel.from_encoder with A2Net->MultimodalPairScorer
    @classmethod
    def from_encoder(cls, ...):

The target is ``hf_ecpe.models.<folder>.<module>.<Name>[.<method>]``: a module-level function, class or assignment,
or an attribute (method, nested class, assignment) of a class. A few modules outside the model folders hold originals
whose copied definitions need only what a model folder may import, the standard library, torch and transformers
(:data:`SHARED_MODULES`: ``hf_ecpe.encoders.packaged_encoder_path``, the packaged-encoder registry that partial
checkpoints need; ``hf_ecpe.modeling_utils.plan_unit_windows``, the pair helpers the pipelines use too;
``hf_ecpe.losses.kd_ecs.connective_loss``, the losses a ``forward`` computes; ``hf_ecpe.prediction.predict_pairs``,
the inference behind the pair models' ``predict``, which the pipelines and the trainers' metrics use too).

``with Old->New[,Old2->New2]`` lists plain-text replacements applied, in order, to the original before the
comparison (so ``A2Net->MultimodalPairScorer`` also turns ``A2NetConfig`` into ``MultimodalPairScorerConfig``). The comparison is on source text: both sides are dedented, the
marker comment is not part of the copy, and an original changed by replacements (or copied at another indentation)
is first formatted with ``ruff format`` at the copy's indentation (when ruff is installed), so that a longer name
does not count as drift once the formatter has wrapped the line.

The check prints every drift as a unified diff (original with the replacements applied -> copy) headed by the copy's
``file:line`` and exits with 1; a marker whose target does not exist (or that is not followed by a definition) is an
error too. ``--fix`` rewrites each drifted copy from its original (re-indented, replacements applied, formatted).
Tests call :func:`check_copies`.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import re
import shutil
import subprocess
import sys
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "hf_ecpe"
MODELS = (PACKAGE, "models")
#: Modules and packages outside the model folders whose definitions may be copied into them
#: (``hf_ecpe.<module>.<Name>``, ``hf_ecpe.<package>.<module>.<Name>``).
SHARED_MODULES = ("encoders", "losses", "modeling_utils", "prediction")
MARKER = re.compile(r"^(?P<indent>[ \t]*)#\s*Copied from\s+(?P<target>\S+)(?P<rest>.*)$")
REPLACEMENTS = re.compile(r"^\s+with\s+(?P<pairs>\S.*?)\s*$")
REPLACEMENT = re.compile(r"^\s*(?P<old>\S+?)->(?P<new>\S*)\s*$")
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
WRAPPER = "class _CopiedFromWrapper:"


@dataclass
class Drift:
    """One problem found by :func:`check_copies`.

    Attributes:
        path: the file holding the copy (the marker).
        line: 1-based line of the marker.
        target: the qualified name in the marker.
        message: what is wrong (``"... differs from its original"``, ``"unknown target ..."``, ...).
        diff: for a drifted copy, the unified diff from the expected text (original with replacements) to the copy;
            empty for errors that ``--fix`` cannot repair.
        fixed: True once ``check_copies(fix=True)`` rewrote the copy.
    """

    path: Path
    line: int
    target: str
    message: str
    diff: str = ""
    fixed: bool = False
    # For --fix: the copy's line span (1-based, inclusive) and its expected text, re-indented.
    _span: tuple[int, int] | None = field(default=None, repr=False, compare=False)
    _expected: list[str] | None = field(default=None, repr=False, compare=False)

    @property
    def fixable(self) -> bool:
        return self._span is not None

    def location(self, root: Path | None = None) -> str:
        path = self.path
        if root is not None:
            try:
                path = self.path.relative_to(root)
            except ValueError:
                pass
        return f"{path}:{self.line}"

    def format(self, root: Path | None = None) -> str:
        text = f"{self.location(root)}: {self.message}"
        return f"{text}\n{self.diff}" if self.diff else text


@dataclass
class _Marker:
    path: Path
    line: int  # 1-based
    target: str
    replacements: list[tuple[str, str]]
    spec: str  # the replacement text as written ("" without `with`)


def default_root() -> Path:
    """The directory that holds the ``hf_ecpe`` package (the repository root in a checkout)."""
    return Path(__file__).resolve().parents[2]


def check_copies(root: str | Path | None = None, fix: bool = False) -> list[Drift]:
    """Check every ``# Copied from`` marker under ``<root>/hf_ecpe/models``.

    Args:
        root: the directory holding the ``hf_ecpe`` package (default: the one this module belongs to).
        fix: rewrite drifted copies from their originals.

    Returns:
        Every drift and error found (with ``fix=True``: as found before fixing, the repaired ones marked ``fixed``).
        An empty list means all copies match.
    """
    root = Path(root).resolve() if root is not None else default_root()
    sources = _Sources(root)
    drifts = [drift for path in sources.model_files() for drift in _check_file(sources, path)]
    if fix:
        _apply_fixes(drifts)
    return drifts + check_shipped_code(root, fix=fix)


def check_shipped_code(root: Path, fix: bool = False) -> list[Drift]:
    """Checkpoints shipped inside the package (``hf_ecpe/assets/*``) carry their model folder's code files for
    ``trust_remote_code``: each must be a whole-file copy of ``hf_ecpe/models/<m>/<file>`` (``fix``: copy it)."""
    drifts = []
    models = root / "hf_ecpe" / "models"
    for code in sorted((root / "hf_ecpe" / "assets").glob("*/*.py")):
        originals = sorted(models.glob(f"*/{code.name}"))
        if len(originals) != 1:
            drifts.append(Drift(code, 1, code.name, f"no single model file named {code.name} under {models}"))
            continue
        original = originals[0]
        if original.read_bytes() == code.read_bytes():
            continue
        diff = _diff(
            original.read_text(encoding="utf-8").splitlines(),
            code.read_text(encoding="utf-8").splitlines(),
            str(original.relative_to(root)),
            code,
            1,
            root,
        )
        drift = Drift(code, 1, str(original.relative_to(root)), f"differs from {original.relative_to(root)}", diff)
        if fix:
            code.write_bytes(original.read_bytes())
            drift.fixed = True
        drifts.append(drift)
    return drifts


# ---------------------------------------------------------------------------------------------------------------
# Finding markers and definitions
# ---------------------------------------------------------------------------------------------------------------


class _Sources:
    """Reads and parses the files of one tree (each once)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[Path, tuple[list[str], ast.Module | None, str]] = {}

    def model_files(self) -> list[Path]:
        folder = self.root.joinpath(*MODELS)
        return sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts)

    def read(self, path: Path) -> tuple[list[str], ast.Module | None, str]:
        """``(lines without line ends, module or None, syntax error text)``."""
        if path not in self._cache:
            text = path.read_text(encoding="utf-8")
            try:
                tree, error = ast.parse(text, filename=str(path)), ""
            except SyntaxError as err:
                tree, error = None, f"{err.msg} (line {err.lineno})"
            self._cache[path] = (text.splitlines(), tree, error)
        return self._cache[path]

    def comments(self, path: Path) -> set[int]:
        return _comment_lines(path.read_text(encoding="utf-8"))

    def module_file(self, dotted: Sequence[str]) -> Path | None:
        path = self.root.joinpath(*dotted[:-1], dotted[-1] + ".py")
        return path if path.is_file() else None


def _start_line(node: ast.AST) -> int:
    """First line of a definition, its decorators included."""
    decorators = getattr(node, "decorator_list", None) or []
    return min([node.lineno, *(decorator.lineno for decorator in decorators)])


def _definitions(body: Iterable[ast.stmt], prefix: tuple[str, ...] = ()) -> Iterable[tuple[str, ast.stmt]]:
    """``(qualified name, node)`` of every function, class and assignment of a module, through class bodies."""
    for node in body:
        if isinstance(node, DEFINITIONS):
            yield ".".join([*prefix, *_names(node)[:1]]), node
        if isinstance(node, ast.ClassDef):
            yield from _definitions(node.body, (*prefix, node.name))


def _names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [target.id for target in targets if isinstance(target, ast.Name)]


def _find(tree: ast.Module, names: Sequence[str]) -> ast.stmt | None:
    """The definition ``names[0].names[1]...`` (a class attribute path) in ``tree``, or None."""
    body: list[ast.stmt] = tree.body
    node = None
    for depth, name in enumerate(names):
        matches = [candidate for candidate in body if isinstance(candidate, DEFINITIONS) and name in _names(candidate)]
        if not matches:
            return None
        node = matches[-1]  # the binding that wins at import time
        if depth < len(names) - 1:
            if not isinstance(node, ast.ClassDef):
                return None
            body = node.body
    return node


def _comment_lines(text: str) -> set[int]:
    """1-based numbers of the lines that hold only a comment (not a ``#`` inside a string)."""
    lines = text.splitlines()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return set()
    return {
        token.start[0]
        for token in tokens
        if token.type == tokenize.COMMENT and lines[token.start[0] - 1].lstrip().startswith("#")
    }


def _markers(path: Path, lines: list[str], comments: set[int]) -> Iterable[_Marker | Drift]:
    for number, line in enumerate(lines, start=1):
        match = MARKER.match(line) if number in comments else None
        if match is None:
            continue
        target, rest = match["target"], match["rest"]
        replacements: list[tuple[str, str]] = []
        spec = ""
        if rest.strip():
            with_match = REPLACEMENTS.match(rest)
            pairs = [REPLACEMENT.match(part) for part in with_match["pairs"].split(",")] if with_match else [None]
            if not all(pairs):
                yield Drift(
                    path,
                    number,
                    target,
                    f"cannot read the marker's replacements {rest.strip()!r}: write `with Old->New[,Old2->New2]`",
                )
                continue
            replacements = [(pair["old"], pair["new"]) for pair in pairs]
            spec = with_match["pairs"]
        yield _Marker(path, number, target, replacements, spec)


# ---------------------------------------------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------------------------------------------


def _check_file(sources: _Sources, path: Path) -> list[Drift]:
    lines, tree, error = sources.read(path)
    markers = list(_markers(path, lines, sources.comments(path)))
    if not markers:
        return []
    if tree is None:
        return [Drift(path, 1, "", f"cannot parse the file: {error}")]
    starts = {_start_line(node): (name, node) for name, node in _definitions(tree.body)}
    drifts = []
    for marker in markers:
        if isinstance(marker, Drift):
            drifts.append(marker)
            continue
        found = starts.get(marker.line + 1)
        if found is None:
            drifts.append(
                Drift(
                    path,
                    marker.line,
                    marker.target,
                    "a `# Copied from` marker must stand on the line right before "
                    "a def / class (or its first decorator) or a module-level assignment",
                )
            )
            continue
        drift = _compare(sources, marker, lines, *found)
        if drift is not None:
            drifts.append(drift)
    return drifts


def _resolve(sources: _Sources, target: str) -> tuple[Path, list[str], ast.stmt] | str:
    """``(file, its lines, definition)`` for a qualified name, or an error message."""
    parts = target.split(".")
    shared = len(parts) >= 3 and parts[0] == PACKAGE and parts[1] in SHARED_MODULES
    if not shared and (tuple(parts[:2]) != MODELS or len(parts) < 5):
        return (
            f"unknown target {target!r}: a marker names hf_ecpe.models.<folder>.<module>.<Name>[.<attribute>] "
            f"or hf_ecpe.<module>.<Name> for a module of {list(SHARED_MODULES)}"
        )
    for cut in range(len(parts) - 1, 1 if shared else 2, -1):
        module = sources.module_file(parts[:cut])
        if module is None:
            continue
        module_lines, tree, error = sources.read(module)
        if tree is None:
            return f"cannot parse {module}: {error}"
        node = _find(tree, parts[cut:])
        if node is None:
            return f"unknown target {target!r}: {'.'.join(parts[:cut])} has no {'.'.join(parts[cut:])}"
        return module, module_lines, node
    return f"unknown target {target!r}: no module file for it under {sources.root}"


def _segment(lines: list[str], node: ast.stmt) -> tuple[int, int, str, list[str]]:
    """``(first line, last line, indentation, dedented lines)`` of a definition (1-based, inclusive)."""
    first, last = _start_line(node), node.end_lineno
    block = lines[first - 1 : last]
    indent = re.match(r"[ \t]*", block[0]).group(0)
    return first, last, indent, [line[len(indent) :] if line.startswith(indent) else line for line in block]


def _compare(sources: _Sources, marker: _Marker, lines: list[str], name: str, copy: ast.stmt) -> Drift | None:
    resolved = _resolve(sources, marker.target)
    if isinstance(resolved, str):
        return Drift(marker.path, marker.line, marker.target, resolved)
    original_path, original_lines, original = resolved
    if original_path == marker.path and original is copy:
        return Drift(marker.path, marker.line, marker.target, "a copy cannot be its own original")
    first, last, indent, observed = _segment(lines, copy)
    _, _, original_indent, source = _segment(original_lines, original)
    expected_text = "\n".join(source)
    for old, new in marker.replacements:
        expected_text = expected_text.replace(old, new)
    if marker.replacements or indent != original_indent:
        expected_text = _format(expected_text, indent, marker.path, sources.root)
    expected = expected_text.split("\n")
    if expected == observed:
        return None
    with_text = f" with {marker.spec}" if marker.spec else ""
    header = f"{name} differs from its original {marker.target}{with_text}"
    diff = _diff(expected, observed, f"{marker.target}{with_text}", marker.path, first, sources.root)
    reindented = [indent + line if line.strip() else line for line in expected]
    return Drift(marker.path, marker.line, marker.target, header, diff, _span=(first, last), _expected=reindented)


def _diff(expected: list[str], observed: list[str], label: str, path: Path, first: int, root: Path) -> str:
    """Unified diff expected -> observed whose ``+`` side counts lines of the copy's file."""
    try:
        shown = path.relative_to(root)
    except ValueError:
        shown = path
    out = []
    for line in difflib.unified_diff(expected, observed, f"{label} (expected)", f"{shown}", lineterm=""):
        hunk = re.match(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@$", line)
        if hunk:
            line = f"@@ -{hunk[1]}{hunk[2] or ''} +{int(hunk[3]) + first - 1}{hunk[4] or ''} @@"
        out.append(line)
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------
# Formatting and fixing
# ---------------------------------------------------------------------------------------------------------------


def _ruff_command() -> list[str] | None:
    sibling = Path(sys.executable).with_name("ruff")
    if sibling.is_file():
        return [str(sibling)]
    found = shutil.which("ruff")
    return [found] if found else None


_FORMATTED: dict[tuple[str, str, Path], str] = {}


def _format(code: str, indent: str, path: Path, root: Path) -> str:
    """``code`` (dedented) as ``ruff format`` lays it out at ``indent``, dedented again; unchanged without ruff."""
    key = (code, indent, path)
    if key in _FORMATTED:
        return _FORMATTED[key]
    command = _ruff_command()
    result = code
    if command is not None:
        unit = "    "
        levels = max(1, len(indent) // len(unit)) if indent else 0
        wrapper = [unit * level + WRAPPER for level in range(levels)]
        body = [indent + line if line.strip() else line for line in code.split("\n")]
        source = "\n".join([*wrapper, *body]) + "\n"
        try:
            completed = subprocess.run(
                [*command, "format", "--quiet", "--stdin-filename", str(path), "-"],
                input=source,
                capture_output=True,
                text=True,
                cwd=root,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            completed = None
        if completed is not None and completed.returncode == 0 and completed.stdout:
            formatted = completed.stdout.rstrip("\n").split("\n")[levels:]
            result = "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in formatted)
    _FORMATTED[key] = result
    return result


def _apply_fixes(drifts: list[Drift]) -> None:
    by_file: dict[Path, list[Drift]] = {}
    for drift in drifts:
        if drift.fixable:
            by_file.setdefault(drift.path, []).append(drift)
    for path, found in by_file.items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        done: list[tuple[int, int]] = []
        for drift in sorted(found, key=lambda d: d._span[0], reverse=True):
            first, last = drift._span
            if any(first <= a and b <= last or a <= first <= b for a, b in done):
                continue  # nested in (or around) a copy rewritten in this pass: the next check sees it
            lines[first - 1 : last] = drift._expected
            done.append((first, last))
            drift.fixed = True
        path.write_text("\n".join(lines) + ("\n" if text.endswith("\n") else ""), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hf_ecpe.tools.check_copies",
        description="Check that every `# Copied from hf_ecpe.models...` copy matches its original.",
    )
    parser.add_argument("--fix", action="store_true", help="rewrite drifted copies from their originals")
    parser.add_argument("--root", default=None, help="directory holding the hf_ecpe package (default: this one)")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve() if args.root else default_root()
    drifts = check_copies(root, fix=args.fix)
    # With --fix, repeat: a copy whose original is itself a copy fixed in this pass (or nested in a rewritten copy)
    # settles in the next one.
    for _ in range(5 if args.fix else 0):
        for drift in drifts:
            if drift.fixed:
                print(f"{drift.location(root)}: rewrote the copy from {drift.target}")
        if not any(drift.fixed for drift in drifts):
            break
        drifts = check_copies(root, fix=True)
    for drift in drifts:
        print(drift.format(root))
    if drifts:
        print(f"{len(drifts)} problem(s) with `# Copied from` copies" + ("" if args.fix else "; run with --fix"))
        return 1
    print("all `# Copied from` copies match their originals")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
