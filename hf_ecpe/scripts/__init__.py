"""Command-line entry points (``python -m hf_ecpe.scripts.<name>``) and the shipped accelerate launch configs."""
