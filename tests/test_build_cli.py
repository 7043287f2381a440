"""The shared dataset-script CLI and the statistics table, on a synthetic corpus spec."""

from pathlib import Path

import pytest
from datasets import Dataset, DatasetDict, load_from_disk

from hf_ecpe.data import FEATURES, CorpusFormatError, build_cli, make_pair
from hf_ecpe.data.corpora import CORPUS_NAMES, get_corpus
from hf_ecpe.data.corpora.base import CorpusSpec
from hf_ecpe.data.stats import corpus_statistics, format_statistics

ROWS = [
    {
        "id": "c1",
        "kind": "conversation",
        "language": "en",
        "units": ["I lost my job today .", "Oh no , that is terrible !"],
        "speakers": ["A", "B"],
        "emotions": ["sadness", "sadness"],
        "pairs": [
            make_pair(1, 0, cause_span=[0, 13], category="sadness"),
            make_pair(1, 0, cause_span=[2, 13], category="sadness"),
            make_pair(0, 0, category="sadness"),
        ],
    },
    {
        "id": "d1",
        "kind": "document",
        "language": "en",
        "units": ["it rained", "we stayed in"],
        "speakers": [],
        "emotions": ["neutral", "neutral"],
        "pairs": [],
    },
]


def fake_build(data_dir: Path, config: str, lenient: bool = False, report=None) -> DatasetDict:
    if report is not None:
        report.add("demo repair", "example")
    return DatasetDict({"train": Dataset.from_list(ROWS, features=FEATURES)})


SPEC = CorpusSpec(
    name="toy", folder="toy", configs=("default", "other"), build=fake_build, description="A toy corpus."
)


def test_statistics_counts():
    s = corpus_statistics(ROWS)
    assert (s["documents"], s["conversations"], s["units"]) == (1, 1, 4)
    assert (s["pairs"], s["unit_pairs"], s["cause_spans"]) == (3, 2, 2)
    assert s["emotions"] == {"sadness": 2}
    table = format_statistics({"toy/default/train": s})
    assert "toy/default/train" in table and "sadness 2" in table


def test_build_cli_saves_validated_dataset(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(build_cli, "get_corpus", lambda name: SPEC)
    build_cli.main("toy", ["--corpus_dir", str(tmp_path), "--output_dir", str(tmp_path / "out"), "--config", "other"])
    loaded = load_from_disk(str(tmp_path / "out" / "other"))
    assert loaded["train"].num_rows == 2
    out = capsys.readouterr().out
    assert "demo repair: 1" in out and "toy/other/train" in out


def one_line_error(capsys, corpus: str = "toy") -> str:
    """The single stderr line of a user error (exit status 2 already checked by the caller)."""
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"build_{corpus}: error: ")
    return lines[0]


def exit_status(corpus: str, argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        build_cli.main(corpus, argv)
    return exited.value.code


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--config", "nope"], "unknown config 'nope'; choose one of"),
        (["--foo", "1"], "unrecognised arguments: --foo 1 (see --help)"),
        (["--strict", "--lenient"], "--strict and --lenient contradict each other"),
        (["--all_configs", "--config", "other"], "pass --config or --all_configs, not both"),
        (["--private", "maybe"], "argument --private: Truthy value expected"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(tmp_path, monkeypatch, capsys, extra, message):
    monkeypatch.setattr(build_cli, "get_corpus", lambda name: SPEC)
    argv = ["--corpus_dir", str(tmp_path), "--output_dir", str(tmp_path / "o"), *extra]
    assert exit_status("toy", argv) == 2
    assert message in one_line_error(capsys)


def test_missing_arguments_and_directories_are_one_line_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(build_cli, "get_corpus", lambda name: SPEC)
    assert exit_status("toy", ["--corpus_dir", str(tmp_path / "missing"), "--output_dir", str(tmp_path / "o")]) == 2
    assert "missing is not a directory (expected the 'toy' corpus folder)" in one_line_error(capsys)
    assert exit_status("toy", ["--data_dir", str(tmp_path / "missing"), "--output_dir", str(tmp_path / "o")]) == 2
    assert "missing is not a directory: --data_dir is the data root that contains" in one_line_error(capsys)
    monkeypatch.setenv("HF_ECPE_DATA", str(tmp_path))
    assert exit_status("toy", ["--output_dir", str(tmp_path / "o")]) == 2
    assert f"the data root {tmp_path} ($HF_ECPE_DATA; no --data_dir) has no toy/ folder" in one_line_error(capsys)
    assert exit_status("toy", ["--output_dir", "o", "--data_dir", str(tmp_path), "--corpus_dir", str(tmp_path)]) == 2
    assert "not both" in one_line_error(capsys)


def test_data_dir_is_the_data_root_as_for_train_and_evaluate(tmp_path, monkeypatch, capsys):
    """``--data_dir`` is the folder holding ``toy/`` (one meaning across the CLIs); the corpus folder itself given as
    ``--data_dir`` is a one-line error naming ``--corpus_dir``."""
    monkeypatch.setattr(build_cli, "get_corpus", lambda name: SPEC)
    (tmp_path / "toy").mkdir()
    build_cli.main("toy", ["--data_dir", str(tmp_path), "--output_dir", str(tmp_path / "out")])
    assert load_from_disk(str(tmp_path / "out" / "default"))["train"].num_rows == 2
    assert exit_status("toy", ["--data_dir", str(tmp_path / "toy"), "--output_dir", str(tmp_path / "o")]) == 2
    line = one_line_error(capsys)
    assert f"looks like the corpus folder itself: pass --corpus_dir {tmp_path / 'toy'}" in line


def test_push_to_hub_offline_is_refused_before_building(tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    monkeypatch.setattr(build_cli, "get_corpus", lambda name: SPEC)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    argv = ["--corpus_dir", str(tmp_path), "--output_dir", str(tmp_path / "o"), "--push_to_hub", "me/toy"]
    assert exit_status("toy", argv) == 2
    assert "--push_to_hub me/toy: the Hub is switched off (HF_HUB_OFFLINE=1" in one_line_error(capsys)
    assert not (tmp_path / "o").exists()  # nothing built


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setattr(build_cli, "get_corpus", lambda name: SPEC)
    argv = ["--corpus_dir", str(tmp_path), "--output_dir", str(tmp_path / "o"), "--config", "nope", "--debug"]
    with pytest.raises(ValueError, match="unknown config 'nope'"):
        build_cli.main("toy", argv)


def test_saving_prints_no_progress_bars(tmp_path, monkeypatch, capfd):
    import datasets

    datasets.enable_progress_bars()
    monkeypatch.setattr(build_cli, "get_corpus", lambda name: SPEC)
    build_cli.main("toy", ["--corpus_dir", str(tmp_path), "--output_dir", str(tmp_path / "out")])
    captured = capfd.readouterr()
    assert "Saving the dataset" not in captured.err + captured.out
    assert "saved to" in captured.out
    assert not datasets.are_progress_bars_disabled()  # restored for the rest of the process


def test_registry_knows_every_corpus_and_rejects_unknown_names():
    assert set(CORPUS_NAMES) == {
        "ecpe_zh",
        "ecpe_en",
        "ntcir_eca",
        "reccon",
        "mecad",
        "ed_cause",
        "ecf",
        "semeval2024_ecac",
    }
    with pytest.raises(ValueError, match="unknown corpus 'nope'"):
        get_corpus("nope")


def test_dataset_script_exists_for_every_corpus():
    root = Path(__file__).resolve().parents[1] / "dataset_scripts"
    for name in CORPUS_NAMES:
        script = (root / f"build_{name}.py").read_text()
        assert f'main("{name}")' in script


def test_build_available_on_real_corpus_reports_repairs(data_root, tmp_path):
    from conftest import corpus_dir

    from hf_ecpe.data.stats import build_available

    (tmp_path / "ecpe-en").symlink_to(corpus_dir(data_root, "ecpe-en"))
    table, repairs = build_available(tmp_path, progress=False)
    assert set(table) == {"ecpe_en/fold1/train", "ecpe_en/fold1/validation", "ecpe_en/fold1/test"}
    assert table["ecpe_en/fold1/test"]["pairs"] == 319
    assert "joyfull" in repairs["ecpe_en"]  # the lenient repair is reported, not silent


def test_push_keeps_the_configs_yaml_written_by_datasets(tmp_path, monkeypatch):
    """--push_to_hub: Parquet via DatasetDict.push_to_hub, then our card text under the YAML datasets wrote."""
    from huggingface_hub import DatasetCard

    pushed, cards = [], []
    remote_readme = (
        "---\nconfigs:\n- config_name: other\n  data_files:\n  - split: train\n    path: other/train-*\n---\n"
    )
    monkeypatch.setattr(build_cli, "get_corpus", lambda name: SPEC)
    monkeypatch.setattr(DatasetDict, "push_to_hub", lambda self, repo, **kw: pushed.append((repo, kw)))
    monkeypatch.setattr(DatasetCard, "load", classmethod(lambda cls, repo, **kw: cls(remote_readme)))
    monkeypatch.setattr(DatasetCard, "push_to_hub", lambda self, repo, **kw: cards.append((repo, str(self))))
    monkeypatch.setattr(build_cli, "check_hub_access", lambda repo: None)  # no Hub here
    build_cli.main(
        "toy",
        [
            "--corpus_dir",
            str(tmp_path),
            "--output_dir",
            str(tmp_path / "o"),
            "--config",
            "other",
            "--push_to_hub",
            "me/toy",
        ],
    )
    assert pushed == [("me/toy", {"config_name": "other", "private": False})]
    repo, readme = cards[0]
    assert repo == "me/toy"
    assert "config_name: other" in readme and "# toy" in readme and "demo repair: 1" in readme


# ------------------------------------------------------------------------------------- the official corpora, by CLI

OFFICIAL = [
    ("ecpe_en", "ecpe-en"),
    ("ecpe_zh", "ecpe-zh"),
    ("ecf", "ecf"),
    ("reccon", "reccon"),
    ("semeval2024_ecac", "ecf2-semeval2024"),
    ("ed_cause", "empdialogue-recec"),
    ("mecad", "mecad"),
    ("ntcir_eca", "ntcir-eca"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "folder"), OFFICIAL, ids=[name for name, _ in OFFICIAL])
def test_default_command_builds_every_official_corpus(data_root, tmp_path, capsys, name, folder):
    """``build_<name>.py --data_dir ../shared/data --output_dir out`` succeeds and reports its repairs."""
    from conftest import corpus_dir

    corpus_dir(data_root, folder)  # skips when absent
    build_cli.main(name, ["--data_dir", str(data_root), "--output_dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "repairs/normalisations (known noise repaired; --strict refuses it)" in out
    config = get_corpus(name).default_config
    assert load_from_disk(str(tmp_path / config))


@pytest.mark.slow
def test_default_ecpe_en_build_repairs_the_misspelt_keywords_and_reports_them(data_root, tmp_path, capsys):
    from conftest import corpus_dir

    folder = str(corpus_dir(data_root, "ecpe-en"))
    build_cli.main("ecpe_en", ["--corpus_dir", folder, "--output_dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "emotion keyword matched approximately (lenient): 1" in out and "'joyfull' -> 'joyful'" in out
    assert "emotion keyword matched ignoring case/spacing (lenient): 1" in out and "'Wonderful' -> 'wonderful'" in out
    assert "2 in all" in out
    loaded = load_from_disk(str(tmp_path / "fold1"))
    assert {split: ds.num_rows for split, ds in loaded.items()} == {"train": 2275, "validation": 284, "test": 284}

    # --strict: any repair is an error, on one line, and nothing is saved
    assert exit_status("ecpe_en", ["--corpus_dir", folder, "--output_dir", str(tmp_path / "strict"), "--strict"]) == 2
    line = one_line_error(capsys, "ecpe_en")
    assert "fold1_train.txt: line 13374" in line and "'joyfull' does not occur" in line
    assert not (tmp_path / "strict").exists()
    with pytest.raises(CorpusFormatError, match="joyfull"):
        build_cli.main("ecpe_en", ["--corpus_dir", folder, "--output_dir", str(tmp_path / "s"), "--strict", "--debug"])


def test_strict_refuses_unknown_corruption_and_default_too(tmp_path, capsys):
    """Repairing by default does not hide unknown corruption: a clause id out of order still raises."""
    base = tmp_path / "e2e-ecpe" / "data_combine_eng"
    base.mkdir(parents=True)
    doc = "{} 2\n (2, 1),\n1,null,null,the dog ran away\n{},sadness,sad,so we were sad\n"
    for k, suffix in enumerate(("train", "val", "test")):
        (base / f"fold1_{suffix}.txt").write_text(doc.format(k + 1, 2 if suffix != "test" else 3), encoding="utf-8")
    assert exit_status("ecpe_en", ["--corpus_dir", str(tmp_path), "--output_dir", str(tmp_path / "o")]) == 2
    assert "fold1_test.txt: line 4: document 3: clause id '3' where clause 2 was expected" in one_line_error(
        capsys, "ecpe_en"
    )


def write_reccon_dailydialog(root: Path, splits=("train", "valid")) -> Path:
    import json

    dialogue = [
        [
            {"turn": 1, "speaker": "A", "utterance": "I passed the exam .", "emotion": "neutral"},
            {
                "turn": 2,
                "speaker": "B",
                "utterance": "Great news !",
                "emotion": "happy",
                "expanded emotion cause evidence": [1],
                "expanded emotion cause span": ["passed the exam"],
            },
        ]
    ]
    folder = root / "data" / "original_annotation"
    folder.mkdir(parents=True)
    for split in splits:
        (folder / f"dailydialog_{split}.json").write_text(json.dumps({f"{split}_1": dialogue}), encoding="utf-8")
    return root


def test_all_configs_builds_the_configs_whose_files_exist_and_reports_the_rest(tmp_path, capsys):
    root = write_reccon_dailydialog(tmp_path / "reccon")
    build_cli.main("reccon", ["--corpus_dir", str(root), "--output_dir", str(tmp_path / "out"), "--all_configs"])
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "not built: reccon/iemocap: no split file found (expected test: " in captured.out
    assert "iemocap_test.json" in captured.out
    assert "reccon: built dailydialog; not built (files absent): iemocap" in captured.out
    assert set(load_from_disk(str(tmp_path / "out" / "dailydialog"))) == {"train", "validation"}
    assert not (tmp_path / "out" / "iemocap").exists()


def test_all_configs_without_any_file_and_missing_expected_split_are_errors(tmp_path, capsys):
    root = write_reccon_dailydialog(tmp_path / "reccon", splits=("train",))
    out = str(tmp_path / "out")
    # dailydialog has train but not valid: an error naming the file and the split, not a skip
    assert exit_status("reccon", ["--corpus_dir", str(root), "--output_dir", out, "--all_configs"]) == 2
    line = one_line_error(capsys, "reccon")
    assert "the validation split's file" in line and "dailydialog_valid.json" in line
    # an explicit choice builds without it
    build_cli.main("reccon", ["--corpus_dir", str(root), "--output_dir", out, "--splits", "train"])
    assert list(load_from_disk(str(tmp_path / "out" / "dailydialog"))) == ["train"]
    (tmp_path / "empty").mkdir()
    assert exit_status("reccon", ["--corpus_dir", str(tmp_path / "empty"), "--output_dir", out, "--all_configs"]) == 2
    assert "--all_configs: no config of reccon has its files" in one_line_error(capsys, "reccon")
