"""The shared dataset-script CLI and the statistics table, on a synthetic corpus spec."""

from pathlib import Path

import pytest
from datasets import Dataset, DatasetDict, load_from_disk

from hf_ecpe.data import FEATURES, build_cli, make_pair
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
    build_cli.main("toy", ["--data_dir", str(tmp_path), "--output_dir", str(tmp_path / "out"), "--config", "other"])
    loaded = load_from_disk(str(tmp_path / "out" / "other"))
    assert loaded["train"].num_rows == 2
    out = capsys.readouterr().out
    assert "demo repair: 1" in out and "toy/other/train" in out


def test_build_cli_rejects_unknown_config_and_missing_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(build_cli, "get_corpus", lambda name: SPEC)
    with pytest.raises(ValueError, match="unknown config 'nope'; choose one of"):
        build_cli.main("toy", ["--data_dir", str(tmp_path), "--output_dir", str(tmp_path / "o"), "--config", "nope"])
    with pytest.raises(SystemExit):
        build_cli.main("toy", ["--data_dir", str(tmp_path / "missing"), "--output_dir", str(tmp_path / "o")])


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
    build_cli.main(
        "toy",
        [
            "--data_dir",
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
