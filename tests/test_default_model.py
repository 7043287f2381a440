"""The embedded default model: pipeline("emotion-cause") with no model argument, offline."""

from __future__ import annotations

import json

import pytest

import hf_ecpe
from hf_ecpe.defaults import DEFAULT_ENCODER_PACKAGE, default_model_path

pytest.importorskip(DEFAULT_ENCODER_PACKAGE, reason="the default restores its frozen encoder from this package")


@pytest.fixture(scope="module")
def extractor():
    return hf_ecpe.pipeline("emotion-cause")


def test_default_asset_is_small_and_partial():
    path = default_model_path()
    weights = path / "model.safetensors"
    assert weights.stat().st_size <= 12 * 1024 * 1024
    config = json.loads((path / "config.json").read_text())
    assert config["model_type"] == "hf-ecpe-a2net"
    assert config["encoder_weights_package"] == DEFAULT_ENCODER_PACKAGE
    assert not list(path.glob("*.py")) and "auto_map" not in config  # loaded by the package's own classes
    assert (path / "README.md").is_file() and "research" in (path / "README.md").read_text(encoding="utf-8")


def test_pipeline_without_model_uses_the_default(extractor):
    from hf_ecpe.scripts.demo import EXAMPLES

    assert isinstance(extractor.model, hf_ecpe.A2NetModel)
    results = extractor(EXAMPLES, batch_size=2)
    assert len(results) == len(EXAMPLES)
    json.dumps(results)
    for result in results:
        n = len(result["units"])
        assert n >= 2
        for pair in result["pairs"]:
            assert 0 <= pair["emotion_index"] < n and 0 <= pair["cause_index"] < n and 0.0 <= pair["score"] <= 1.0


def test_default_predates_encoder_auto_class_and_gives_its_recorded_pairs(extractor):
    """The embedded checkpoint was saved before configs had ``encoder_auto_class``: it loads with ``AutoModel`` and
    still gives the pairs recorded before that setting existed (demo examples, scores to 3 decimals)."""
    from hf_ecpe.scripts.demo import EXAMPLES

    config = json.loads((default_model_path() / "config.json").read_text())
    assert "encoder_auto_class" not in config
    assert extractor.model.config.encoder_auto_class == "AutoModel"
    assert type(extractor.model.encoder).__name__ == "BertModel"
    results = extractor(EXAMPLES, batch_size=2)
    found = [[(p["emotion_index"], p["cause_index"], round(p["score"], 3)) for p in r["pairs"]] for r in results]
    assert found == [[(1, 0, 0.690)], [(0, 0, 0.946)], [(0, 0, 0.924)], [(0, 0, 0.934), (1, 0, 0.718)]]


def test_default_model_quality_floor(extractor, data_root):
    """A regression floor, well below the measured fold-1 test pair F1 (benchmarks/README.md): broken weights fail."""
    from conftest import corpus_dir

    from hf_ecpe.data.corpora import get_corpus
    from hf_ecpe.evaluation import ecpe_scores

    test = get_corpus("ecpe_en").build(corpus_dir(data_root, "ecpe-en"), "fold1", lenient=True)["test"]
    rows = list(test.select(range(60)))
    results = extractor([{"clauses": row["units"]} for row in rows], batch_size=8)
    predictions = [[[p["emotion_index"], p["cause_index"]] for p in r["pairs"]] for r in results]
    references = [[[p["emotion"], p["cause"]] for p in row["pairs"]] for row in rows]
    scores = ecpe_scores(predictions, references)
    assert scores["pair_f1"] >= 0.3, scores


def test_demo_prints_pairs(capsys):
    from hf_ecpe.scripts import demo

    demo.main(["--text", "I was so happy because I passed the exam."])
    out = capsys.readouterr().out
    assert "example 1:" in out and "[0]" in out
