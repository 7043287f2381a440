"""Hugging Face Spaces entry point: ``python app.py [--port 7860]`` starts the web demo of hf_ecpe.

The demo lives in the package (``hf_ecpe/app``; ``python -m hf_ecpe.app`` is the same command) and needs the
``demo`` extra: ``pip install -e '.[demo]'``.
"""

from hf_ecpe.app import run

if __name__ == "__main__":
    run()
