"""Serving speed and quality of the embedded default through PyTorch and ONNX Runtime, float32 and int8.

    python benchmarks/onnx_speed.py --output benchmarks/results/onnx_speed.json

Backends, all behind the same ``pipeline("emotion-cause")`` code (pre-processing, pieces, decoding):

- ``pytorch-fp32``: the embedded default as shipped (``hf_ecpe.pipeline("emotion-cause")``);
- ``torch-int8``: the same model with ``torch.ao.quantization.quantize_dynamic`` on the encoder's ``nn.Linear`` layers
  (the heads read ``Linear.weight`` directly and stay float32);
- ``onnx-fp32`` / ``onnx-int8``: ``python -m hf_ecpe.scripts.export --model default [--quantize int8]`` folders served
  by ``hf_ecpe.pipeline("emotion-cause", model=DIR)``.

Splits (built by the corpus builders, as ``scripts.evaluate``): ECPE-en fold-1 test (clause lists) and ECF
validation (conversations with speakers). Pair F1 (``hf_ecpe.evaluation.ecpe_scores`` on the pipeline's pairs; the
same numbers as ``scripts.evaluate``) on each whole split, batch 16. Documents/s: for every thread count (1, 2) and
batch size (1, 16) the backends run the first ``--timed_documents`` documents of the split in turn, ``--repeats``
times, alternating the order within one process; the JSON keeps every timing and the median, as documents per
wall-clock second and per CPU second of the process (``time.process_time``: at 1 thread the measure least disturbed
by other jobs on a shared CPU; at 2 threads it adds both threads' time). Also: model size on
disk, load time and the latency of the first document after loading, and (``--parts variants``) the int8 settings
tried before choosing ``hf_ecpe.pipelines.onnx_backend.INT8_SETTINGS``. The CPU is shared with other jobs: timings are
noisy, hence medians of alternated runs.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch

SPLITS = (("ecpe_en", "fold1", "test"), ("ecf", "default", "validation"))
BACKENDS = ("pytorch-fp32", "torch-int8", "onnx-fp32", "onnx-int8")
#: int8 settings tried (``--parts variants``: pair F1 on both splits); the first is INT8_SETTINGS.
HEADS = ["/context", "/pair_head", "/emotion_head", "/cause_head", "/category_head"]
INT8_VARIANTS = {
    "per-channel, reduce_range (chosen)": {},
    "per-channel": {"reduce_range": False},
    "per-tensor": {"per_channel": False, "reduce_range": False},
    "per-tensor, uint8 weights": {"per_channel": False, "reduce_range": False, "weight_type": "QUInt8"},
    "per-channel, uint8 weights": {"reduce_range": False, "weight_type": "QUInt8"},
    "per-channel, encoder only (heads and context in float)": {"reduce_range": False, "exclude_prefixes": HEADS},
}


def build_split(data_root: Path, corpus: str, config: str, split: str) -> Any:
    from hf_ecpe.data.corpora import get_corpus

    spec = get_corpus(corpus)
    return spec.build(spec.locate(data_root), config, lenient=True, splits=[split])[split]


def pipeline_inputs(dataset: Any) -> list[dict[str, Any]]:
    """Clause lists, or conversations with speakers when the split has them."""
    rows = []
    for row in dataset:
        speakers = row.get("speakers")
        if speakers:
            rows.append({"utterances": list(row["units"]), "speakers": list(speakers)})
        else:
            rows.append({"clauses": list(row["units"])})
    return rows


def pair_f1(results: list[dict[str, Any]], dataset: Any) -> float:
    from hf_ecpe.evaluation import ecpe_scores

    predictions = [[(p["emotion_index"], p["cause_index"]) for p in result["pairs"]] for result in results]
    gold = [[(p["emotion"], p["cause"]) for p in row["pairs"]] for row in dataset]
    return ecpe_scores(predictions, gold, num_units=[len(row["units"]) for row in dataset])["pair_f1"]


def size_mb(*paths: Path) -> float:
    files = [f for path in paths for f in ([path] if path.is_file() else path.rglob("*")) if f.is_file()]
    return round(sum(f.stat().st_size for f in files) / 1e6, 2)


def torch_int8(model: Any) -> Any:
    """A copy of ``model`` with its encoder's linear layers dynamically quantized to int8."""
    from torch.ao.quantization import quantize_dynamic

    quantized = copy.deepcopy(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        quantized.encoder = quantize_dynamic(quantized.encoder, {torch.nn.Linear}, dtype=torch.qint8)
    return quantized


class Backends:
    """One pipeline per backend and thread count (onnxruntime sessions fix their threads when created)."""

    def __init__(self, folders: dict[str, Path]) -> None:
        import hf_ecpe

        self.folders = folders
        self.reference = hf_ecpe.pipeline("emotion-cause")
        self.torch_int8 = self._wrap(torch_int8(self.reference.model))
        self._onnx: dict[tuple[str, int], Any] = {}

    def _wrap(self, model: Any, tokenizer: Any = None) -> Any:
        from transformers import pipeline

        return pipeline("emotion-cause", model=model, tokenizer=tokenizer or self.reference.tokenizer)

    def get(self, name: str, threads: int) -> Any:
        torch.set_num_threads(threads)
        if name == "pytorch-fp32":
            return self.reference
        if name == "torch-int8":
            return self.torch_int8
        if (name, threads) not in self._onnx:
            from hf_ecpe.pipelines.onnx_backend import load_onnx_model

            model, tokenizer = load_onnx_model(self.folders[name], num_threads=threads)
            self._onnx[(name, threads)] = self._wrap(model, tokenizer)
        return self._onnx[(name, threads)]


def first_call(name: str, folders: dict[str, Path], document: Any) -> dict[str, float]:
    """Seconds to load the backend and to answer its first document (in this already-warm process)."""
    import hf_ecpe

    start = time.perf_counter()
    if name == "pytorch-fp32":
        extractor = hf_ecpe.pipeline("emotion-cause")
    elif name == "torch-int8":
        extractor = hf_ecpe.pipeline("emotion-cause")
        extractor.model = torch_int8(extractor.model)
    else:
        extractor = hf_ecpe.pipeline("emotion-cause", model=str(folders[name]))
    loaded = time.perf_counter()
    extractor(document)
    answered = time.perf_counter()
    return {"load_s": round(loaded - start, 3), "first_document_s": round(answered - loaded, 3)}


def export_folders(root: Path) -> dict[str, Path]:
    from hf_ecpe.pipelines.onnx_backend import export_onnx, is_onnx_folder

    folders = {"onnx-fp32": root / "fp32", "onnx-int8": root / "int8"}
    for name, folder in folders.items():
        if not is_onnx_folder(folder):
            export_onnx("default", folder, quantize="int8" if name == "onnx-int8" else None)
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_root", default=os.environ.get("HF_ECPE_DATA", "../shared/data"))
    parser.add_argument("--output", default="benchmarks/results/onnx_speed.json")
    parser.add_argument("--export_dir", default="outputs/onnx_speed", help="Where the ONNX folders are written.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--timed_documents", type=int, default=32, help="Documents/s over the first N of each split.")
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=("main", "variants"),
        default=["main"],
        help="main: the backends' F1, speed, size, first call; variants: pair F1 of each INT8_VARIANTS setting.",
    )
    args = parser.parse_args()
    started = time.perf_counter()

    import onnxruntime

    from hf_ecpe.defaults import DEFAULT_ENCODER_PACKAGE, default_model_path

    datasets = {
        f"{corpus}/{config}/{split}": build_split(Path(args.data_root), corpus, config, split)
        for corpus, config, split in SPLITS
    }
    if "main" not in args.parts:
        report = {"int8_variants": int8_variants(datasets, max(args.threads))}
        report["wall_seconds"] = round(time.perf_counter() - started, 1)
        write(report, args.output)
        return
    folders = export_folders(Path(args.export_dir))
    backends = Backends(folders)
    encoder_package = __import__(DEFAULT_ENCODER_PACKAGE).get_model_path()
    report: dict[str, Any] = {
        "machine": {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__},
        "repeats": args.repeats,
        "note": "shared CPU: medians of alternated runs in one process; documents/s over the whole split",
        "size_mb": {
            "pytorch-fp32": {
                "checkpoint_folder": size_mb(default_model_path()),
                "with_encoder_package_weights": size_mb(default_model_path(), Path(encoder_package)),
            },
            "onnx-fp32": size_mb(folders["onnx-fp32"] / "model.onnx"),
            "onnx-int8": size_mb(folders["onnx-int8"] / "model.onnx"),
        },
        "first_call": {},
        "splits": {},
    }
    torch.set_num_threads(1)
    for name in BACKENDS:
        report["first_call"][name] = first_call(name, folders, "I was so happy, because I passed the exam.")
    print("first call:", report["first_call"])

    for key, dataset in datasets.items():
        documents = pipeline_inputs(dataset)
        timed = documents[: args.timed_documents]
        entry: dict[str, Any] = {"documents": len(documents), "timed_documents": len(timed), "quality": {}, "runs": {}}
        for name in BACKENDS:  # pair F1 on the whole split (2 threads, batch 16)
            extractor = backends.get(name, max(args.threads))
            start = time.perf_counter()
            results = extractor(documents, batch_size=16)
            entry["quality"][name] = {
                "pair_f1": round(pair_f1(results, dataset), 4),
                "whole_split_seconds": round(time.perf_counter() - start, 1),
                "threads": max(args.threads),
            }
        print(key, {name: entry["quality"][name]["pair_f1"] for name in BACKENDS})
        for threads in args.threads:
            for batch_size in args.batch_sizes:
                setting = f"threads={threads},batch={batch_size}"
                seconds: dict[str, list[float]] = {name: [] for name in BACKENDS}
                cpu_seconds: dict[str, list[float]] = {name: [] for name in BACKENDS}
                for repeat in range(args.repeats):
                    order = BACKENDS[repeat % len(BACKENDS) :] + BACKENDS[: repeat % len(BACKENDS)]
                    for name in order:
                        extractor = backends.get(name, threads)
                        extractor(timed[:2], batch_size=batch_size)  # warm-up (allocations, session arenas)
                        start, cpu_start = time.perf_counter(), time.process_time()
                        extractor(timed, batch_size=batch_size)
                        seconds[name].append(time.perf_counter() - start)
                        cpu_seconds[name].append(time.process_time() - cpu_start)
                entry["runs"][setting] = {
                    name: {
                        "seconds": [round(s, 3) for s in seconds[name]],
                        "cpu_seconds": [round(s, 3) for s in cpu_seconds[name]],
                        "docs_per_s": round(len(timed) / statistics.median(seconds[name]), 2),
                        "docs_per_cpu_s": round(len(timed) / statistics.median(cpu_seconds[name]), 2),
                    }
                    for name in BACKENDS
                }
                print(key, setting, {name: entry["runs"][setting][name]["docs_per_s"] for name in BACKENDS})
        entry["speedup_vs_pytorch_fp32"] = {
            f"{setting},{unit}": {name: round(runs[name][unit] / runs["pytorch-fp32"][unit], 2) for name in BACKENDS}
            for setting, runs in entry["runs"].items()
            for unit in ("docs_per_s", "docs_per_cpu_s")
        }
        report["splits"][key] = entry
        write(report, args.output)

    if "variants" in args.parts:
        report["int8_variants"] = int8_variants(datasets, max(args.threads))
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    write(report, args.output)
    print(table(report))


def int8_variants(datasets: dict[str, Any], threads: int) -> dict[str, Any]:
    """Pair F1 on every whole split (batch 16) of each int8 setting tried, and its whole-split seconds."""
    from transformers import pipeline

    from hf_ecpe.pipelines.onnx_backend import export_onnx, load_onnx_model

    variants: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for index, (label, settings) in enumerate(INT8_VARIANTS.items()):
            folder = export_onnx("default", Path(scratch) / str(index), quantize="int8", int8_settings=settings)
            model, tokenizer = load_onnx_model(folder, num_threads=threads)
            extractor = pipeline("emotion-cause", model=model, tokenizer=tokenizer)
            torch.set_num_threads(threads)
            entry: dict[str, Any] = {"settings": model.serving_config["int8_settings"]}
            for key, dataset in datasets.items():
                start = time.perf_counter()
                results = extractor(pipeline_inputs(dataset), batch_size=16)
                entry[key] = {
                    "pair_f1": round(pair_f1(results, dataset), 4),
                    "whole_split_seconds": round(time.perf_counter() - start, 1),
                }
            variants[label] = entry
            print("int8 variant", label, entry)
    return variants


def write(report: dict[str, Any], output: str) -> None:
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def table(report: dict[str, Any]) -> str:
    """The README table: documents/s per setting and pair F1, per split and backend."""
    lines = []
    for key, entry in report["splits"].items():
        settings = list(entry["runs"])
        lines.append(
            f"\n{key}: pair F1 on {entry['documents']} documents, documents/s on the first {entry['timed_documents']}\n"
        )
        lines.append("| backend | pair F1 | " + " | ".join(settings) + " | size MB |")
        lines.append("|---" * (len(settings) + 3) + "|")
        for name in BACKENDS:
            speeds = " | ".join(
                f"{entry['runs'][s][name]['docs_per_s']:.1f} ({entry['runs'][s][name]['docs_per_cpu_s']:.1f})"
                for s in settings
            )
            size = report["size_mb"].get(name, report["size_mb"]["pytorch-fp32"])
            size = size if isinstance(size, float) else size["with_encoder_package_weights"]
            lines.append(f"| {name} | {entry['quality'][name]['pair_f1']:.4f} | {speeds} | {size:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
