"""The version of hf_ecpe, in a module of its own so that any file can read it without importing the package root
(``hf_ecpe/__init__.py`` imports the registration, which stamps this version on every config class)."""

__version__ = "0.1.0.dev0"
