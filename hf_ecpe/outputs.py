"""How hf_ecpe's scripts write their result files: checked first, written atomically, one writer at a time.

- :func:`check_output_file` runs before any work: the destination is not a folder, not one of the inputs (compared
  as resolved paths), and its folder exists (created if needed) and is writable (tested by creating a file there).
- :func:`atomic_write_text` writes a temporary file beside the destination and renames it over the destination
  (``os.replace``): a reader sees the old file or the new one, never half of one, and a crash leaves the old one.
  Nothing is ever written anywhere else (no fallback location).
- :class:`OutputLock` refuses a second writer of the same destination (``fcntl.flock`` on ``<output>.lock``).

Problems are :class:`OutputError` (a ``ValueError``): one line from the command-line entry points (:mod:`hf_ecpe.cli`).
See docs/reliability.md.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType


class OutputError(ValueError):
    """An output file cannot be written where asked (a folder, the input itself, a read-only folder, locked)."""


def _same_file(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output_file(
    path: str | os.PathLike, *, flag: str = "--output", inputs: Iterable[str | os.PathLike] = ()
) -> Path:
    """``path`` resolved, after checking it can be written (see the module docstring); creates its folder.

    ``inputs``: files or folders the run reads (``--input``, ``--model``); the output may be none of them, nor lie
    inside an input folder.
    """
    given = str(path)
    if not given.strip():
        raise OutputError(f"{flag} is empty; give the file to write")
    output = Path(os.path.abspath(os.path.expanduser(given)))  # the symlink itself, not its target
    resolved = output.resolve()
    if resolved.is_dir():
        raise OutputError(f"{flag} {given} is a folder; give the file to write, e.g. {Path(given) / 'out.json'}")
    for source in inputs:
        source_path = Path(source).expanduser().resolve()
        if _same_file(resolved, source_path):
            raise OutputError(f"{flag} {given} is the --input file itself; write the results to another file")
        if source_path.is_dir() and resolved.is_relative_to(source_path):
            raise OutputError(f"{flag} {given} lies inside the input folder {source}; write the results elsewhere")
    folder = output.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{flag} {given}: {folder} exists and is not a folder") from None
    except OSError as err:
        raise OutputError(f"{flag} {given}: cannot create the folder {folder} ({err.strerror})") from None
    try:
        probe, probe_name = tempfile.mkstemp(dir=folder, prefix=f".{output.name}.", suffix=".probe")
    except OSError as err:
        raise OutputError(
            f"{flag} {given}: cannot write into {folder} ({err.strerror}); choose a writable folder"
        ) from None
    os.close(probe)
    os.unlink(probe_name)
    if output.exists() and not os.access(output, os.W_OK) and not os.path.islink(output):
        # os.replace would still replace it (the folder is writable), but the user marked it read-only
        raise OutputError(f"{flag} {given} exists and is read-only; remove it or choose another file")
    return output


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temporary_beside(path: Path) -> tuple[int, Path]:
    """An open ``(fd, path)`` of a new temporary file in ``path``'s folder (same file system: ``os.replace`` is an
    atomic rename), with the permissions a new file would get (``0o666`` less the umask)."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o666 & ~_umask())
    return fd, Path(name)


def replace_atomically(temporary: Path, path: Path) -> None:
    """Rename the finished ``temporary`` over ``path`` (a symlink at ``path`` is replaced, never followed)."""
    os.replace(temporary, path)
    try:  # make the rename itself durable
        folder = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(folder)
    except OSError:
        pass
    finally:
        os.close(folder)


def atomic_write_text(path: str | os.PathLike, text: str | Iterable[str]) -> Path:
    """Write ``text`` (UTF-8; a string, or strings written one after another) to ``path`` through a temporary file
    beside it, flushed to disk, and an atomic rename; returns ``path``."""
    path = Path(path)
    fd, temporary = temporary_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines([text] if isinstance(text, str) else text)
            handle.flush()
            os.fsync(handle.fileno())
        replace_atomically(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


class OutputLock:
    """Exclusive lock of an output file for the length of a run: ``<output>.lock`` held with ``fcntl.flock``.

    A second run writing the same output gets :class:`OutputError` at once ("another run is writing ..."). The lock
    is released when the process ends, however it ends (``kill -9`` included): a stale ``.lock`` file left by a
    killed run does not block the next one. Where ``fcntl`` is missing (Windows) the lock file is created with
    ``O_EXCL`` instead and removed on exit (a killed run's stale file must then be deleted by hand).
    """

    def __init__(self, output: str | os.PathLike) -> None:
        self.output = Path(output)
        self.path = self.output.with_name(self.output.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> OutputLock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            try:
                self._fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                raise OutputError(self._busy("")) from None
            os.write(self._fd, str(os.getpid()).encode())
            return self
        while True:
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip()
                os.close(fd)
                raise OutputError(self._busy(holder)) from None
            try:  # the file may have been removed by the previous holder between open and flock: retry on a new one
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def _busy(self, holder: str) -> str:
        by = f" (process {holder})" if holder else ""
        return (
            f"another run is writing {self.output}{by}: wait for it to finish or choose another output "
            f"(lock file {self.path})"
        )

    def release(self) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)  # before closing: the next writer then locks a fresh file
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()


__all__ = [
    "OutputError",
    "OutputLock",
    "atomic_write_text",
    "check_output_file",
    "replace_atomically",
    "temporary_beside",
]
