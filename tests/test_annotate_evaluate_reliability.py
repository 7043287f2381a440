"""scripts.annotate and scripts.evaluate lose nothing, write nothing where they should not (issue #27 items 1-4,
10, 14, 15; docs/reliability.md).

- annotate checks the destination and validates the whole input before loading the model; writes each chunk to a
  partial file as it ends; ``--resume`` after a ``kill -9`` finishes the run with the same output as an
  uninterrupted one; the output appears by an atomic rename; a concurrent writer of the same output is refused;
- annotate's ``index`` is 0-based, ``line`` 1-based, ``id`` only the input's;
- evaluate records a ``--threshold`` as an override, never writes anywhere but its destination (no temp-folder
  fallback, a planted symlink is replaced, not followed), and by default writes to the current directory under a
  name that says what was scored, refusing to replace an earlier result without ``--overwrite``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, build_tiny_a2net

from hf_ecpe.outputs import OutputLock
from hf_ecpe.scripts import annotate, evaluate

AN = "hf_ecpe.scripts.annotate"
EV = "hf_ecpe.scripts.evaluate"
TEXTS = [
    "I was so happy because I passed the exam.",
    "She felt sad when her dog died.",
    "He is angry that they lost the game.",
    "We were surprised to see snow in July.",
    "My friend is afraid of the dark.",
]


def write_jsonl(path: Path, count: int) -> Path:
    """``count`` documents: strings and ``{"text": ...}`` dicts, every third with an ``id``; a blank line inside."""
    lines = []
    for i in range(count):
        text = f"{TEXTS[i % len(TEXTS)]} Today {i}."
        lines.append(json.dumps(text if i % 2 else {"text": text, **({"id": f"doc{i}"} if i % 3 == 0 else {})}))
        if i == 1:
            lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_exit_2(program: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one stderr line of a user error (exit status 2)."""
    from test_cli_user_errors import one_line_user_error

    return one_line_user_error(program, argv, capsys)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def no_model_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if annotate gets as far as loading the model (the checks must come first)."""

    def refuse(*_: object) -> None:
        raise AssertionError("the model was loaded before the user error was found")

    monkeypatch.setattr(annotate, "load_extractor", refuse)


class CountingExtractor:
    """The real pipeline, counting the documents it is given."""

    def __init__(self, extractor: object) -> None:
        self.extractor, self.documents = extractor, 0

    def __call__(self, documents: list, **kwargs: object) -> list:
        self.documents += len(documents)
        return self.extractor(documents, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# annotate
# ---------------------------------------------------------------------------------------------------------------


def test_index_is_0_based_line_1_based_and_id_only_the_inputs(tiny_pair_model_dir: Path, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", 4)
    out = tmp_path / "out.jsonl"
    assert annotate.main(["--model", str(tiny_pair_model_dir), "--input", str(source), "--output", str(out)]) == 0
    records = read_jsonl(out)
    assert [r["index"] for r in records] == [0, 1, 2, 3]
    assert [r["line"] for r in records] == [1, 2, 4, 5]  # line 3 is blank: lines are the file's, as editors count
    assert [r.get("id") for r in records] == ["doc0", None, None, None]  # the input's, never invented
    assert records[1]["text"].startswith(TEXTS[1]) and "units" in records[0]
    assert not list(tmp_path.glob("out.jsonl.*"))  # no partial, meta or lock file left behind


def test_destination_is_checked_before_any_work(
    tiny_pair_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_model_loading: None
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", 3)
    base = ["--model", str(tiny_pair_model_dir), "--input", str(source), "--output"]
    assert "is a folder" in run_exit_2(AN, [*base, str(tmp_path)], capsys)
    assert "exists and is not a folder" in run_exit_2(AN, [*base, str(source / "out.jsonl")], capsys)
    (tmp_path / "link.jsonl").symlink_to(source)
    assert "is the --input file itself" in run_exit_2(AN, [*base, str(tmp_path / "link.jsonl")], capsys)
    assert source.read_text(encoding="utf-8").count("\n") == 4  # the input is untouched


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_destination_is_refused_before_any_work(
    tiny_pair_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_model_loading: None
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", 3)
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        argv = ["--model", str(tiny_pair_model_dir), "--input", str(source), "--output", str(locked / "o.jsonl")]
        assert "cannot write into" in run_exit_2(AN, argv, capsys)
    finally:
        locked.chmod(0o755)


def test_every_bad_line_is_found_before_the_model_is_loaded(
    tiny_pair_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_model_loading: None
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", 3000)
    lines = source.read_text(encoding="utf-8").splitlines()
    lines[2500] = json.dumps({"clauses": ["I was happy", ""]})
    lines[2900] = "{not json"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = ["--model", str(tiny_pair_model_dir), "--input", str(source), "--output", str(tmp_path / "o.jsonl")]
    line = run_exit_2(AN, argv, capsys)
    assert "in.jsonl: line 2501: clauses[1] is empty" in line
    assert "2 bad lines in all (lines 2501, 2901)" in line and "nothing was annotated" in line


KILLER = """
import os, signal, sys
from hf_ecpe.scripts import annotate

real = annotate.load_extractor
def load(path, model):
    extractor, calls = real(path, model), []
    def call(documents, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # kill -9 while the third chunk runs
            os.kill(os.getpid(), signal.SIGKILL)
        return extractor(documents, **kwargs)
    return call
annotate.load_extractor = load
annotate.cli(sys.argv[1:])
"""


def test_kill_9_keeps_the_finished_chunks_and_resume_completes_them(
    tiny_pair_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", 25)
    out = tmp_path / "out.jsonl"
    out.write_text("an earlier result\n", encoding="utf-8")
    argv = ["--model", str(tiny_pair_model_dir), "--input", str(source), "--output", str(out), "--chunk_size", "4"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", KILLER, *argv], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr[-2000:]
    assert out.read_text(encoding="utf-8") == "an earlier result\n"  # the old output is intact: no half file
    partial = tmp_path / "out.jsonl.partial-0"
    assert [r["index"] for r in read_jsonl(partial)] == list(range(8))  # the two finished chunks were written
    with partial.open("a", encoding="utf-8") as handle:
        handle.write('{"index": 8, "units": ["cut sh')  # a line the kill cut short

    # without --resume the partial results are not thrown away
    assert "pass --resume to keep them" in run_exit_2(AN, argv, capsys)
    # a resume of another input is refused
    other = write_jsonl(tmp_path / "other.jsonl", 25)
    other.write_text(other.read_text(encoding="utf-8").replace("Today 7", "Today 70"), encoding="utf-8")
    wrong = [*argv, "--resume"]
    wrong[3] = str(other)
    assert "was made with another input, fingerprint" in run_exit_2(AN, wrong, capsys)

    counting: list[CountingExtractor] = []
    real = annotate.load_extractor
    monkeypatch.setattr(
        annotate, "load_extractor", lambda *a: counting.append(CountingExtractor(real(*a))) or counting[-1]
    )
    assert annotate.main([*argv, "--resume"]) == 0
    assert counting[0].documents == 25 - 8  # only the documents not yet annotated
    assert not partial.exists() and not (tmp_path / "out.jsonl.partial.json").exists()

    clean = tmp_path / "clean.jsonl"
    monkeypatch.setattr(annotate, "load_extractor", real)
    annotate.main([*argv[:5], str(clean), "--chunk_size", "4"])
    assert out.read_text(encoding="utf-8") == clean.read_text(encoding="utf-8")  # as if never interrupted


def test_a_concurrent_writer_of_the_same_output_is_refused(
    tiny_pair_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", 3)
    out = tmp_path / "out.jsonl"
    argv = ["--model", str(tiny_pair_model_dir), "--input", str(source), "--output", str(out)]
    with OutputLock(out):  # another run is writing out.jsonl
        line = run_exit_2(AN, argv, capsys)
    assert f"another run is writing {out} (process {os.getpid()})" in line
    assert not out.exists()
    (tmp_path / "out.jsonl.lock").write_text("12345", encoding="utf-8")  # a killed run's stale lock file
    assert annotate.main(argv) == 0 and len(read_jsonl(out)) == 3


def test_a_dataset_folder_input_keeps_its_ids(tiny_pair_model_dir: Path, tmp_path: Path) -> None:
    from hf_ecpe.data.corpora.synthetic import synthetic_corpus

    synthetic_corpus(train_documents=4).save_to_disk(str(tmp_path / "data"))
    out = tmp_path / "out.jsonl"
    argv = ["--model", str(tiny_pair_model_dir), "--input", str(tmp_path / "data"), "--split", "test"]
    annotate.main([*argv, "--output", str(out)])
    records = read_jsonl(out)
    assert [r["index"] for r in records] == [0, 1] and [r["id"] for r in records] == ["test-0", "test-1"]
    assert all("line" not in r for r in records)


# ---------------------------------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def eval_setup(tiny_encoder_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny A2Net whose config says its threshold was chosen on validation, and a saved synthetic DatasetDict."""
    from hf_ecpe.data.corpora.synthetic import synthetic_corpus

    root = tmp_path_factory.mktemp("eval")
    model = build_tiny_a2net(
        root / "model",
        tiny_encoder_dir,
        decoding="threshold",
        decode_threshold=0.5,
        decode_threshold_selected_on="validation",
    )
    synthetic_corpus(train_documents=8).save_to_disk(str(root / "data"))
    return model, root / "data"


def test_a_threshold_flag_is_recorded_as_an_override(eval_setup: tuple[Path, Path], tmp_path: Path) -> None:
    model, data = eval_setup
    base = ["--model", str(model), "--dataset_path", str(data), "--split", "test"]
    record = evaluate.main([*base, "--threshold", "0.3", "--output", str(tmp_path / "e.json")])
    assert record["overrides"] == {"threshold": 0.3}
    decoding = record["metrics"]["decoding"]
    assert decoding["threshold"] == 0.3
    assert decoding["threshold_selected_on"] is None  # not "validation": the flag chose it
    saved = evaluate.main([*base, "--output", str(tmp_path / "saved.json")])
    assert saved["overrides"] == {} and saved["metrics"]["decoding"]["threshold"] == 0.5
    assert saved["metrics"]["decoding"]["threshold_selected_on"] == "validation"


def test_an_unwritable_output_is_an_error_never_a_write_elsewhere(
    eval_setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    model, data = eval_setup
    system_tmp = tmp_path / "system_tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    (tmp_path / "a_file").write_text("x", encoding="utf-8")
    base = ["--model", str(model), "--dataset_path", str(data), "--split", "test", "--output"]
    assert "exists and is not a folder" in run_exit_2(EV, [*base, str(tmp_path / "a_file" / "e.json")], capsys)
    assert "is a folder" in run_exit_2(EV, [*base, str(tmp_path)], capsys)
    assert [p.name for p in system_tmp.iterdir() if p.suffix == ".json"] == []  # no fallback location

    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    (tmp_path / "planted.json").symlink_to(victim)
    evaluate.main([*base, str(tmp_path / "planted.json")])
    assert victim.read_text(encoding="utf-8") == "precious"  # the symlink was replaced, not followed
    assert not (tmp_path / "planted.json").is_symlink()
    assert json.loads((tmp_path / "planted.json").read_text(encoding="utf-8"))["method"] == "a2net"


def test_the_default_output_is_in_the_current_directory_and_never_replaced_silently(
    eval_setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, data = eval_setup
    before = sorted(p.name for p in model.iterdir())
    monkeypatch.chdir(tmp_path)
    base = ["--model", str(model), "--dataset_path", str(data), "--split", "test"]
    evaluate.main(base)
    evaluate.main([*base, "--max_samples", "1"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "eval_model_data_test.json",
        "eval_model_data_test_first1.json",
    ]
    assert sorted(p.name for p in model.iterdir()) == before  # nothing written into the model folder
    full = (tmp_path / "eval_model_data_test.json").read_text(encoding="utf-8")
    assert "--overwrite to replace it" in run_exit_2(EV, base, capsys)
    assert (tmp_path / "eval_model_data_test.json").read_text(encoding="utf-8") == full
    evaluate.main([*base, "--overwrite"])


def test_the_default_name_says_what_was_scored() -> None:
    """``--model default`` names the file after the embedded model (written in the current directory)."""
    from hf_ecpe.defaults import default_model_path

    planned = {"corpus": "ecpe_en", "config": "fold1", "split": "test", "max_samples": 20}
    assert evaluate.default_output_name(default_model_path(), planned) == (
        "eval_pair-scorer-minilm-en_ecpe_en_fold1_test_first20.json"
    )
