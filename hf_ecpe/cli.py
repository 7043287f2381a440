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


_FALSE = ("false", "no", "0", "f", "n")
_BOOL_WORDS = ("true", "yes", "1", "t", "y", *_FALSE)


def debug_requested(argv: Sequence[str] | None) -> bool:
    """``--debug`` (``--debug true``, ``--debug=yes``; not ``--debug false``) in ``argv`` or ``HF_ECPE_DEBUG=1``,
    read without parsing the command line (parsing may be what failed)."""
    args = list(sys.argv[1:] if argv is None else argv)
    for k, arg in enumerate(args):
        if arg == "--debug":
            value = args[k + 1] if k + 1 < len(args) else ""
            return value.lower() not in _FALSE
        if arg.startswith("--debug="):
            return arg.split("=", 1)[1].lower() not in _FALSE
    return os.environ.get("HF_ECPE_DEBUG", "") not in ("", "0")


def strip_debug(argv: Sequence[str] | None) -> list[str]:
    """``argv`` (default ``sys.argv[1:]``) without ``--debug``, its optional true/false value and ``--debug=...``."""
    args = list(sys.argv[1:] if argv is None else argv)
    kept: list[str] = []
    skip_value = False
    for arg in args:
        if skip_value and arg.lower() in _BOOL_WORDS:
            skip_value = False
            continue
        skip_value = arg == "--debug"
        if arg == "--debug" or arg.startswith("--debug="):
            continue
        kept.append(arg)
    return kept


def run_cli(
    main: Callable[[list[str]], Any],
    argv: Sequence[str] | None = None,
    *,
    program: str = "hf_ecpe",
    errors: tuple[type[BaseException], ...] = USER_ERRORS,
) -> Any:
    """Run ``main(argv)``; a user error (one of ``errors``) prints one line, ``<program>: error: <message>``, and
    exits 2; with ``--debug`` it is re-raised with its traceback."""
    debug = debug_requested(argv)
    args = strip_debug(argv)
    try:
        return main(args)
    except errors as err:
        if debug:
            raise
        message = "; ".join(line.strip() for line in str(err).splitlines() if line.strip()) or type(err).__name__
        print(f"{program}: error: {message} (--debug shows the traceback)", file=sys.stderr)
        raise SystemExit(2) from None


__all__ = ["LOG_FORMAT", "USER_ERRORS", "setup_logging", "UsageError", "debug_requested", "run_cli", "strip_debug"]
