"""How hf_ecpe's command-line entry points report user errors: one clear line on stderr and exit status 2.

A user error (a bad flag, a missing file, an invalid setting, malformed data) is an exception the library raises
with a message that says what, where and how to fix it; printing its traceback only hides that line. ``--debug``
(or ``HF_ECPE_DEBUG=1``) shows the traceback again. Bugs (any other exception) keep their traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

#: Exceptions that are the user's to fix (bad input), reported as one line.
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, NotADirectoryError, ImportError)


class UsageError(ValueError):
    """A command-line usage error (unknown flag, missing value)."""


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(main_process: bool = True) -> None:
    """The one log format of hf_ecpe's scripts (INFO on the main process, WARNING elsewhere)."""
    import logging

    logging.basicConfig(format=LOG_FORMAT, level=logging.INFO if main_process else logging.WARNING)


def debug_requested(argv: Sequence[str] | None) -> bool:
    args = sys.argv[1:] if argv is None else argv
    return "--debug" in args or os.environ.get("HF_ECPE_DEBUG", "") not in ("", "0")


def strip_debug(argv: Sequence[str] | None) -> list[str]:
    """``argv`` (default ``sys.argv[1:]``) without ``--debug``."""
    args = list(sys.argv[1:] if argv is None else argv)
    return [arg for arg in args if arg != "--debug"]


def run_cli(main: Callable[[list[str]], Any], argv: Sequence[str] | None = None, *, program: str = "hf_ecpe") -> Any:
    """Run ``main(argv)``; a user error prints ``<program>: error: <message>`` and exits 2 (``--debug``: re-raised)."""
    debug = debug_requested(argv)
    args = strip_debug(argv)
    try:
        return main(args)
    except USER_ERRORS as err:
        if debug:
            raise
        message = str(err)
        print(f"{program}: error: {message}", file=sys.stderr)
        print(f"{program}: (run with --debug for the traceback)", file=sys.stderr)
        raise SystemExit(2) from None


__all__ = ["LOG_FORMAT", "USER_ERRORS", "setup_logging", "UsageError", "debug_requested", "run_cli", "strip_debug"]
