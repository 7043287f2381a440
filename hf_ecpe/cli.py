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


def one_line_errors(parser: Any) -> Any:
    """``parser`` (an ``argparse.ArgumentParser``) raising :class:`UsageError` instead of printing its usage block
    and exiting: a bad flag is then one line like every other user error (``--help`` still prints and exits 0)."""

    def error(message: str) -> None:
        raise UsageError(f"{message} (see --help)")

    parser.error = error
    return parser


def positive_int(value: int | None, flag: str) -> None:
    """``ValueError`` unless ``value`` (an integer flag, ``None`` when unset) is at least 1."""
    if value is not None and (isinstance(value, bool) or value < 1):
        raise UsageError(f"{flag} must be a positive integer (1 or more), got {value}")


def probability(value: float | None, flag: str) -> None:
    """``ValueError`` unless ``value`` (``None`` when unset) is a probability in [0, 1] (a decision threshold)."""
    if value is not None and not 0.0 <= value <= 1.0:
        raise UsageError(f"{flag} is a probability in [0, 1] (the pair decision threshold), got {value}")


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
    exits 2; with ``--debug`` it is re-raised with its traceback.

    transformers' own progress bars ("Loading weights", "Writing model shards": instant for hf_ecpe's local
    checkpoints, one per load or save) are off while ``main`` runs; the Trainer's training bar (``disable_tqdm``) and
    the datasets bars are not transformers' and stay."""
    from transformers.utils import logging as hf_logging

    debug = debug_requested(argv)
    args = strip_debug(argv)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return main(args)
    except errors as err:
        if debug:
            raise
        message = "; ".join(line.strip() for line in str(err).splitlines() if line.strip()) or type(err).__name__
        print(f"{program}: error: {message} (--debug shows the traceback)", file=sys.stderr)
        raise SystemExit(2) from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()


__all__ = [
    "LOG_FORMAT",
    "USER_ERRORS",
    "UsageError",
    "debug_requested",
    "one_line_errors",
    "positive_int",
    "probability",
    "run_cli",
    "setup_logging",
    "strip_debug",
]
