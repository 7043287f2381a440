"""Every command-line user error is ONE line on stderr, exit status 2, no traceback, and says what to fix.

One parametrised test over the CLIs (``hf_ecpe.scripts.*`` and ``dataset_scripts/build_<name>.py``). A case is
``pytest.param(program, argv, phrase, files, id=...)``:

- ``program``: a script module (``"hf_ecpe.scripts.annotate"``, run in-process through its ``cli(argv)``) or
  ``"build_<corpus>"`` (``hf_ecpe.data.build_cli.main(<corpus>, argv)``);
- ``argv``: its arguments; ``{tmp}`` is the test's folder and ``{<name>}`` for a name in :data:`PLACEHOLDERS`
  the path of that fixture (``{pair_model}``: a tiny random A2Net checkpoint, ``{truncated_model}``: the same with
  its weights file cut in half, ``{data_root}``: the real corpora — the case skips without them);
- ``phrase``: a regular expression the one error line must contain;
- ``files``: files written under ``{tmp}`` first, name -> ``str`` (UTF-8) or ``bytes``.

Add cases for other CLIs in their own list (e.g. ``TRAIN_SFT_CASES``) and to the ``parametrize`` of
:func:`test_user_error_is_one_line_exit_2`; :func:`one_line_user_error` is the check itself.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

# ---------------------------------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------------------------------


def run_program(program: str, argv: list[str]) -> None:
    """Run a CLI in-process: ``build_<corpus>`` or a module with ``cli(argv)``."""
    if program.startswith("build_"):
        from hf_ecpe.data import build_cli

        build_cli.main(program[len("build_") :], argv)
    else:
        importlib.import_module(program).cli(argv)


def one_line_user_error(program: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``program argv``; assert exit status 2, no traceback and exactly one non-empty stderr line, which starts
    with ``<program>: error:``; return that line."""
    capsys.readouterr()  # drop what earlier set-up printed
    with pytest.raises(SystemExit) as exited:
        run_program(program, argv)
    assert exited.value.code == 2, f"exit status {exited.value.code}"
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{err}"
    assert lines[0].startswith(f"{program}: error: "), lines[0]
    return lines[0]


def write_files(folder: Path, files: Mapping[str, str | bytes]) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


#: ``{placeholder}`` in a case's argv -> the fixture whose path replaces it.
PLACEHOLDERS = {
    "pair_model": "tiny_pair_model_dir",
    "truncated_model": "truncated_pair_model_dir",
    "other_method_model": "other_method_model_dir",
    "encoder": "tiny_encoder_dir",
    "data_root": "data_root",
}


def fill_placeholders(argv: list[str], tmp_path: Path, request: pytest.FixtureRequest) -> list[str]:
    """``argv`` with ``{tmp}`` and the :data:`PLACEHOLDERS` replaced by paths (fixtures requested on demand)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(tmp_path if name == "tmp" else request.getfixturevalue(PLACEHOLDERS[name]))

    return [re.sub(r"\{(\w+)\}", value, arg) for arg in argv]


@pytest.fixture(scope="module")
def truncated_pair_model_dir(tiny_pair_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny A2Net checkpoint with its ``model.safetensors`` cut in half (an interrupted copy)."""
    path = tmp_path_factory.mktemp("truncated") / "model"
    shutil.copytree(tiny_pair_model_dir, path)
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return path


@pytest.fixture(scope="module")
def other_method_model_dir(
    tiny_pair_model_dir: Path, tiny_encoder_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The tiny A2Net's config and tokenizer with a pair scorer's weights (a checkpoint of another method)."""
    import torch

    from hf_ecpe import MultimodalPairScorerModel

    path = tmp_path_factory.mktemp("other_method") / "model"
    shutil.copytree(tiny_pair_model_dir, path)
    torch.manual_seed(0)
    scorer = MultimodalPairScorerModel.from_encoder(str(tiny_encoder_dir), candidates="all")
    scorer.save_pretrained(path.parent / "scorer")
    shutil.copy(path.parent / "scorer" / "model.safetensors", path / "model.safetensors")
    return path


# ---------------------------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------------------------

AN = "hf_ecpe.scripts.annotate"
EV = "hf_ecpe.scripts.evaluate"
DOCS = '"I was so happy because I passed the exam."\n{"text": "She felt sad when her dog died."}\n'
ANNOTATE = ["--model", "{pair_model}", "--input", "{tmp}/in.jsonl", "--output", "{tmp}/out.jsonl"]
EVALUATE = ["--model", "{pair_model}", "--corpus", "ecpe_en", "--data_dir", "{tmp}"]  # checked before the data

ANNOTATE_EVALUATE_CASES = [
    # the input, validated whole before any work (line numbers)
    pytest.param(AN, ANNOTATE, r"in\.jsonl: line 2: .*JSON list", {"in.jsonl": '"ok"\n[1, 2]\n'}, id="an-json-list"),
    pytest.param(AN, ANNOTATE, r"in\.jsonl: line 3: .*number", {"in.jsonl": '"ok"\n\n42\n'}, id="an-json-number"),
    pytest.param(
        AN,
        ANNOTATE,
        r"in\.jsonl: line 3: clauses\[1\] is empty.*2 bad lines",
        {"in.jsonl": DOCS + '{"clauses": ["I was happy", ""]}\n{"units": 3}\n'},
        id="an-bad-lines-deep",
    ),
    pytest.param(
        AN,
        ANNOTATE,
        r"in\.jsonl: line 2 is not UTF-8.*latin",
        {"in.jsonl": '"ok"\n"caf\xe9 cr\xe8me"\n'.encode("latin-1")},
        id="an-latin1",
    ),
    # the model
    pytest.param(
        AN,
        [*ANNOTATE[:1], "{tmp}/nonexistent", *ANNOTATE[2:]],
        r"--model .*nonexistent: no such folder",
        {"in.jsonl": DOCS},
        id="an-model-missing",
    ),
    pytest.param(
        AN,
        [*ANNOTATE[:1], "{tmp}/empathy", *ANNOTATE[2:]],
        r"empathy.*annotate",
        {"in.jsonl": DOCS, "empathy/config.json": json.dumps({"model_type": "hf-ecpe-empathy"})},
        id="an-empathy-model",
    ),
    pytest.param(
        AN,
        [*ANNOTATE[:1], "{truncated_model}", *ANNOTATE[2:]],
        r"model\.safetensors is damaged or truncated",
        {"in.jsonl": DOCS},
        id="an-truncated-safetensors",
    ),
    pytest.param(
        AN,
        [*ANNOTATE[:1], "{other_method_model}", *ANNOTATE[2:]],
        r"A2NetModel checkpoint .* is incomplete",
        {"in.jsonl": DOCS},
        id="an-other-method-checkpoint",
    ),
    pytest.param(
        EV,
        ["--model", "{other_method_model}", "--corpus", "ecpe_en", "--data_dir", "{tmp}"],
        r"A2NetModel checkpoint .* is incomplete",
        {},
        id="ev-other-method-checkpoint",
    ),
    # the settings
    pytest.param(
        AN,
        [*ANNOTATE, "--batch_size", "0"],
        r"--batch_size must be a positive integer",
        {"in.jsonl": DOCS},
        id="an-batch-size-0",
    ),
    pytest.param(
        AN,
        [*ANNOTATE, "--chunk_size", "0"],
        r"--chunk_size must be a positive integer",
        {"in.jsonl": DOCS},
        id="an-chunk-size-0",
    ),
    pytest.param(
        AN, [*ANNOTATE, "--threshold", "1.5"], r"--threshold .*\[0, 1\]", {"in.jsonl": DOCS}, id="an-threshold-range"
    ),
    # the destination, checked before any work
    pytest.param(AN, [*ANNOTATE[:-1], "{tmp}"], r"--output .* is a folder", {"in.jsonl": DOCS}, id="an-output-dir"),
    pytest.param(
        AN,
        [*ANNOTATE[:-1], "{tmp}/./in.jsonl"],
        r"--output .* is the --input",
        {"in.jsonl": DOCS},
        id="an-output-is-input",
    ),
    # evaluate
    pytest.param(
        EV, [*EVALUATE, "--max_samples", "0"], r"--max_samples must be a positive integer", {}, id="ev-max-samples-0"
    ),
    pytest.param(
        EV,
        [*EVALUATE, "--max_samples", "-3"],
        r"--max_samples must be a positive integer",
        {},
        id="ev-max-samples-negative",
    ),
    pytest.param(
        EV, [*EVALUATE, "--batch_size", "0"], r"--batch_size must be a positive integer", {}, id="ev-batch-size-0"
    ),
    pytest.param(EV, [*EVALUATE, "--threshold", "1.5"], r"--threshold .*\[0, 1\]", {}, id="ev-threshold-range"),
    pytest.param(
        EV,
        ["--model", "{tmp}/nonexistent", "--corpus", "ecpe_en"],
        r"--model .*nonexistent: no such folder",
        {},
        id="ev-model-missing",
    ),
    pytest.param(EV, ["--model", "{pair_model}"], r"give --corpus NAME .* or --dataset_path", {}, id="ev-no-data"),
    pytest.param(EV, [*EVALUATE, "--output", "{tmp}"], r"--output .* is a folder", {}, id="ev-output-dir"),
    pytest.param(
        EV,
        ["--model", "{truncated_model}", "--corpus", "ecpe_en", "--data_dir", "{tmp}"],
        r"model\.safetensors is damaged or truncated",
        {},
        id="ev-truncated-safetensors",
    ),
    pytest.param(EV, [*EVALUATE, "--nope", "1"], r"unrecognized arguments: --nope 1", {}, id="ev-unknown-flag"),
    # a setting the model's evaluator does not declare is refused, never silently ignored (checked from the config,
    # before the weights and the data)
    pytest.param(
        EV,
        ["--model", "{tmp}/kd", "--corpus", "ecpe_en", "--data_dir", "{tmp}", "--decoding", "threshold"],
        r"--decoding does not apply to a KD-ECS model \(hf-ecpe-kd-ecs-student\); it accepts --batch_size, --threshold",
        {"kd/config.json": json.dumps({"model_type": "hf-ecpe-kd-ecs-student"})},
        id="ev-kd-ecs-decoding",
    ),
    pytest.param(
        EV,
        ["--model", "{tmp}/emp", "--corpus", "ecpe_en", "--data_dir", "{tmp}", "--thresh", "0.3", "--top_k", "2"],
        r"--threshold, --top_k do not apply to an empathetic-response model \(hf-ecpe-empathy\); it accepts "
        r"--batch_size \(",
        {"emp/config.json": json.dumps({"model_type": "hf-ecpe-empathy"})},
        id="ev-empathy-threshold-top-k",
    ),
    pytest.param(
        EV,
        ["--model", "{tmp}/a2net", "--corpus", "ecpe_en", "--data_dir", "{tmp}", "--free_generation"],
        r"--free_generation does not apply to a pair model \(hf-ecpe-a2net\); it accepts --batch_size, --decoding, "
        r"--threshold, --top_k, --lexicon",
        {"a2net/config.json": json.dumps({"model_type": "hf-ecpe-a2net"})},
        id="ev-pair-free-generation",
    ),
    pytest.param(
        EV,
        ["--model", "{tmp}/adapter", "--corpus", "ecpe_en", "--data_dir", "{tmp}", "--threshold", "0.5"],
        r"--threshold does not apply to a triplet LLM \(triplet_llm\); it accepts --batch_size, --labels, "
        r"--max_new_tokens, --free_generation",
        {"adapter/adapter_config.json": "{}"},
        id="ev-triplet-llm-threshold",
    ),
    pytest.param(
        AN, [*ANNOTATE, "--nope"], r"unrecognized arguments: --nope", {"in.jsonl": DOCS}, id="an-unknown-flag"
    ),
    pytest.param(
        AN,
        [*ANNOTATE, "--decoding", "greedy"],
        r"--decoding must be 'reference' or 'threshold'",
        {"in.jsonl": DOCS},
        id="an-decoding",
    ),
    # the dataset scripts
    pytest.param(
        "build_ecf",
        ["--data_dir", "{tmp}/ecf", "--output_dir", "{tmp}/out"],
        r"--data_dir is the data root.*'ecf/'.*--corpus_dir",
        {"ecf/data/train.txt": ""},
        id="build-data-dir-is-corpus-folder",
    ),
    pytest.param(
        "build_ecf",
        ["--data_dir", "{tmp}", "--output_dir", "{tmp}/out", "--push_to_hub", "me/ecf"],
        r"--push_to_hub .*offline",
        {"ecf/data/train.txt": ""},  # refused before building
        id="build-push-offline",
    ),
]


@pytest.mark.parametrize("program, argv, phrase, files", ANNOTATE_EVALUATE_CASES)
def test_user_error_is_one_line_exit_2(
    program: str,
    argv: list[str],
    phrase: str,
    files: Mapping[str, str | bytes],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_files(tmp_path, files)
    line = one_line_user_error(program, fill_placeholders(argv, tmp_path, request), capsys)
    assert re.search(phrase, line), line


# ---------------------------------------------------------------------------------------------------------------
# Training scripts: hf_ecpe.scripts.train and hf_ecpe.scripts.sft (every argument checked before any training)
# ---------------------------------------------------------------------------------------------------------------

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
TR = "hf_ecpe.scripts.train"
SFT = "hf_ecpe.scripts.sft"
TRAIN = ["--config", str(RECIPES / "pair_scorer_tiny.yaml"), "--synthetic_documents", "8", "--num_train_epochs", "1"]
TRAIN_OUT = [*TRAIN, "--output_dir", "{tmp}/run"]
SFT_OUT = ["--config", str(RECIPES / "sft_tiny.yaml"), "--output_dir", "{tmp}/adapter"]

PLACEHOLDERS.update(
    pair_scorer_run="tiny_pair_scorer_run_dir",  # an output_dir of the pair_scorer tiny recipe, with checkpoints
    no_units_dataset="no_units_dataset_dir",  # a DatasetDict whose rows have 'clauses', not 'units' / 'pairs'
    read_only="read_only_dir",  # a folder nobody can write into
)


@pytest.fixture(scope="module")
def tiny_pair_scorer_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hf_ecpe.scripts import train

    out = tmp_path_factory.mktemp("pair_scorer_run") / "run"
    train.main([*TRAIN, "--output_dir", str(out)])
    return out


@pytest.fixture(scope="module")
def no_units_dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from datasets import Dataset, DatasetDict

    path = tmp_path_factory.mktemp("no_units") / "data"
    rows = [{"clauses": ["I was happy", "I passed the exam"], "pair_list": [[1, 2]]}] * 3
    DatasetDict({split: Dataset.from_list(rows) for split in ("train", "validation")}).save_to_disk(str(path))
    return path


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Path:
    import os

    if os.geteuid() != 0:  # pragma: no cover - CI runs as a user
        folder = tmp_path / "read_only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    folder = Path("/sys")  # root writes everywhere but on read-only file systems
    if not folder.is_dir() or os.access(folder, os.W_OK) and _writable(folder):
        pytest.skip("running as root without a read-only folder")
    return folder


def _writable(folder: Path) -> bool:
    try:
        (folder / ".hf_ecpe_probe").touch()
    except OSError:
        return False
    (folder / ".hf_ecpe_probe").unlink()
    return True


TRAIN_SFT_CASES = [
    pytest.param(
        TR,
        [*TRAIN_OUT, "--metric_for_best_model", "bogus"],
        r"metric_for_best_model='bogus' is not a metric of the pair_scorer method.*'pair_f1'",
        {},
        id="tr-metric-bogus",
    ),
    pytest.param(TR, [*TRAIN, "--output_dir", "{tmp}/a_file"], r"a_file is a file", {"a_file": "x"}, id="tr-out-file"),
    pytest.param(TR, [*TRAIN, "--output_dir", "{read_only}/run"], r"is not writable", {}, id="tr-out-read-only"),
    pytest.param(
        TR,
        [*TRAIN_OUT, "--model_name_or_path", "{tmp}/nonexistent"],
        r"model_name_or_path .*nonexistent: no such folder",
        {},
        id="tr-model-missing",
    ),
    pytest.param(
        TR,
        ["--config", str(RECIPES / "a2net_tiny.yaml"), "--output_dir", "{pair_scorer_run}"]
        + ["--resume_from_checkpoint", "true"],
        r"checkpoint of method 'pair_scorer', and this recipe trains method 'a2net'.*--method pair_scorer",
        {},
        id="tr-resume-other-method",
    ),
    pytest.param(
        TR,
        [*TRAIN_OUT, "--max_train_samples", "-1"],
        r"--max_train_samples must be a number of rows >= 1",
        {},
        id="tr-max-train-samples-negative",
    ),
    pytest.param(
        TR,
        [*TRAIN_OUT, "--max_eval_samples", "0"],
        r"--max_eval_samples must be a number of rows >= 1",
        {},
        id="tr-max-eval-samples-0",
    ),
    pytest.param(
        TR,
        [*TRAIN_OUT, "--dataset_path", "{no_units_dataset}"],
        r"--dataset_path .*'train' split must contain the column\(s\) \['units', 'pairs'\].*rename_column",
        {},
        id="tr-dataset-path-columns",
    ),
    pytest.param(
        TR,
        [*TRAIN_OUT, "--dataset_path", "{tmp}/nonexistent"],
        r"--dataset_path .*no such folder",
        {},
        id="tr-ds-miss",
    ),
    pytest.param(
        TR,
        [*TRAIN_OUT, "--per_device_train_batch_size", "0"],
        r"per_device_train_batch_size must be >= 1, got 0",
        {},
        id="tr-batch-size-0",
    ),
    pytest.param(
        TR,
        [*TRAIN_OUT, "--per_device_eval_batch_size", "0"],
        r"per_device_eval_batch_size must be >= 1",
        {},
        id="tr-eval-batch-size-0",
    ),
    pytest.param(
        TR,
        [*TRAIN_OUT, "--gradient_accumulation_steps", "0"],
        r"gradient_accumulation_steps must be >= 1",
        {},
        id="tr-accumulation-0",
    ),
    pytest.param(TR, [*TRAIN_OUT, "--num_train_epochs", "0"], r"nothing would be trained", {}, id="tr-epochs-0"),
    pytest.param(TR, [*TRAIN_OUT, "--learning_rate", "-1"], r"learning_rate must be >= 0", {}, id="tr-negative-lr"),
    pytest.param(
        TR,
        [*TRAIN_OUT, "--synthetic_documents", "0"],
        r"--synthetic_documents must be >= 1",
        {},
        id="tr-synthetic-0",
    ),
    pytest.param(
        SFT,
        SFT_OUT,
        r"output_dir .*adapter is not empty.*--resume_from_checkpoint true.*--overwrite_output_dir true",
        {"adapter/adapter_config.json": "{}"},
        id="sft-out-not-empty",
    ),
    pytest.param(SFT, [*SFT_OUT[:-1], "{tmp}/a_file"], r"a_file is a file", {"a_file": "x"}, id="sft-out-file"),
    pytest.param(
        SFT,
        [*SFT_OUT, "--model_name_or_path", "{tmp}/nonexistent"],
        r"model_name_or_path .*nonexistent: no such folder",
        {},
        id="sft-model-missing",
    ),
    pytest.param(
        SFT,
        [*SFT_OUT, "--model", "{tmp}/nonexistent"],
        r"ambiguous option: --model could match .*--model_name_or_path",
        {},
        id="sft-model-abbreviation",
    ),
    pytest.param(
        SFT,
        [*SFT_OUT, "--max_train_samples", "-1"],
        r"--max_train_samples must be a number of rows >= 1",
        {},
        id="sft-max-train-samples-negative",
    ),
    pytest.param(
        SFT,
        [*SFT_OUT, "--per_device_train_batch_size", "0"],
        r"per_device_train_batch_size must be >= 1",
        {},
        id="sft-batch-size-0",
    ),
    pytest.param(
        SFT,
        [*SFT_OUT, "--max_steps", "-1", "--num_train_epochs", "0"],
        r"nothing would be trained",
        {},
        id="sft-epochs-0",
    ),
    pytest.param(
        SFT,
        [*SFT_OUT, "--eval_from_train_fraction", "1.5"],
        r"--eval_from_train_fraction must be in \[0, 1\)",
        {},
        id="sft-eval-fraction",
    ),
    pytest.param(
        SFT,
        [*SFT_OUT, "--nope", "1"],
        r"not used by the HfArgumentParser: \['--nope', '1'\]",
        {},
        id="sft-unknown-flag",
    ),
]


@pytest.mark.parametrize("program, argv, phrase, files", TRAIN_SFT_CASES)
def test_training_user_error_is_one_line_exit_2(
    program: str,
    argv: list[str],
    phrase: str,
    files: Mapping[str, str | bytes],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Refused before any data is loaded or any step is trained: the output folder stays as it was."""
    write_files(tmp_path, files)
    before = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*"))
    line = one_line_user_error(program, fill_placeholders(argv, tmp_path, request), capsys)
    assert re.search(phrase, line), line
    assert sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*")) == before
