"""Errors raised while reading raw corpora."""

from __future__ import annotations

from pathlib import Path


class CorpusFormatError(ValueError):
    """A raw corpus file is malformed. The message names the file, the line or record, and the problem.

    Raised for truncated files, missing fields, indices out of range and undecodable text; never a
    silently dropped row. Builders with a ``lenient`` switch repair known noise instead and report it.
    """

    def __init__(self, path: str | Path, where: str, problem: str, hint: str = ""):
        self.path, self.where, self.problem = str(path), where, problem
        message = f"{path}: {where}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class MissingSplitError(FileNotFoundError):
    """An expected split file does not exist. The message names the build, the split, the file and the fix.

    ``split`` is the split the file would have been (``None`` when no split file exists at all) and
    ``missing_path`` the file. A split is never skipped silently: its absence would change the other splits (the
    Chinese ECPE train split takes in the documents of a missing validation fold) or lose data unnoticed.
    """

    split: str | None = None
    missing_path: str | None = None


class NoSplitFilesError(MissingSplitError):
    """Not one split file of a corpus config exists (e.g. RECCON ``iemocap`` in a DailyDialog-only copy)."""


def read_text(path: str | Path) -> str:
    """Read a UTF-8 file (BOM tolerated), raising :class:`CorpusFormatError` on undecodable bytes."""
    path = Path(path)
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise CorpusFormatError(
            path, f"line {line}", f"undecodable bytes ({err.reason})", "the file must be UTF-8"
        ) from err
