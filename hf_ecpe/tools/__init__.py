"""Developer tools (run as modules, e.g. ``python -m hf_ecpe.tools.check_copies``); nothing here is imported by the
library itself."""
