"""hf_ecpe: emotion–cause analysis on the Hugging Face stack."""

__version__ = "0.1.0.dev0"
