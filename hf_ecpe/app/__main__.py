"""``python -m hf_ecpe.app [--port 7860] [--host 127.0.0.1] [--model NAME=FOLDER ...]``: the web demo."""

from hf_ecpe.app import run

if __name__ == "__main__":
    run()
