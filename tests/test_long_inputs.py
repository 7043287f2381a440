"""Very long documents (issue #27 item 16): memory and time linear in the number of units.

A document of 5,000 clauses used to allocate 25.6 GB (the pair head's (N, N, hidden) tensor) and crash. Now the
pipeline encodes a document longer than ``AUTO_MAX_UNITS`` units in overlapping pieces and stitches the pieces'
pair scores into a band `(N, W)` instead of an (N, N) matrix.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, pipeline

import hf_ecpe  # noqa: F401
from hf_ecpe import MultimodalPairScorerModel
from hf_ecpe.pipelines import emotion_cause
from hf_ecpe.pipelines.emotion_cause import AUTO_MAX_UNITS, stitch_pieces

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "long_inputs.py"
WORDS = ["happy", "sad", "job", "dog", "rain", "exam", "train", "snow", "cake", "game", "gift", "lost", "won"]


@pytest.fixture(scope="module")
def scorer_dir(tiny_encoder_dir, tmp_path_factory):
    """A tiny random pair scorer with the default's candidate set (|i - j| <= 6) and context layer (BiGRU)."""
    torch.manual_seed(0)
    model = MultimodalPairScorerModel.from_encoder(str(tiny_encoder_dir), candidates="window", candidate_window=6)
    path = tmp_path_factory.mktemp("scorer_window")
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny_encoder_dir).save_pretrained(path)
    return path


def _clauses(count: int) -> dict[str, list[str]]:
    return {"clauses": [f"the {WORDS[k % len(WORDS)]} and the {WORDS[(k * 7) % len(WORDS)]}" for k in range(count)]}


def test_long_documents_are_split_automatically_and_short_ones_are_not(scorer_dir, monkeypatch):
    scorer = pipeline("emotion-cause", model=str(scorer_dir))
    settings = {"decoding": "threshold", "threshold": 0.4, "return_pair_scores": True}
    document = _clauses(30)
    whole = scorer(document, **settings)
    monkeypatch.setattr(emotion_cause, "AUTO_MAX_UNITS", 30)
    assert scorer(document, **settings) == whole  # not longer than AUTO_MAX_UNITS: one pass, as before
    monkeypatch.setattr(emotion_cause, "AUTO_MAX_UNITS", 12)
    automatic = scorer(document, **settings)
    assert automatic == scorer(document, max_units=12, **settings)  # longer: pieces, as with max_units
    assert automatic != whole and automatic["units"] == whole["units"]
    # the band keeps every candidate of the window (|i - j| <= 6 <= 12 // 2: all share a piece), and only those
    for i, row in enumerate(automatic["pair_scores"]):
        assert [j for j, score in enumerate(row) if score is not None] == list(range(max(0, i - 6), min(30, i + 7)))
    monkeypatch.setattr(emotion_cause, "AUTO_MAX_UNITS", AUTO_MAX_UNITS)
    assert scorer(document, max_units=12, **settings) == automatic  # an explicit max_units is taken as given


def test_stitched_pieces_are_a_band_not_a_square():
    """Three pieces of a 10-unit document with candidates |i - j| <= 1: (1, 10, 3) tensors and a cause offset."""
    pieces = {}
    for first, end in [(0, 4), (2, 8), (6, 10)]:
        size = end - first
        offsets = torch.arange(size)[None, :] - torch.arange(size)[:, None]
        pieces[(first, end)] = {
            "pair_logits": (torch.arange(size * size, dtype=torch.float).reshape(1, size, size) + 100 * first),
            "candidate_mask": (offsets.abs() <= 1)[None],
            "emotion_logits": torch.full((1, size), float(first)),
            "cause_logits": torch.full((1, size), float(first)),
            "unit_mask": torch.ones(1, size, dtype=torch.bool),
        }
    stitched = stitch_pieces(pieces, 10)
    assert stitched["pair_logits"].shape == (1, 10, 3) and stitched["cause_offset"] == -1
    assert stitched["candidate_mask"][0].sum() == 10 + 2 * 9  # every unit with itself and its two neighbours
    assert not stitched["candidate_mask"][0, 0, 0] and not stitched["candidate_mask"][0, 9, 2]  # outside the text
    # unit 5 (context 2 in piece (2, 8), 0 elsewhere) and pair (5, 6) come from piece (2, 8): local (3, 4)
    assert stitched["emotion_logits"][0, 5] == 2.0
    assert stitched["pair_logits"][0, 5, 2] == pieces[(2, 8)]["pair_logits"][0, 3, 4]
    assert stitched["emotion_logits"][0].tolist() == [0, 0, 0, 2, 2, 2, 2, 6, 6, 6]


@pytest.mark.slow
def test_memory_and_time_grow_linearly_with_the_number_of_units(scorer_dir, tmp_path):
    """2,000 and 4,000 clauses, each in a fresh process (benchmarks/long_inputs.py): the growth of the peak resident
    memory during the call stays bounded and about linear, and so does the CPU time (a quadratic pair matrix would
    need 16 GB at 4,000 units with this model's pair head and quadruple both when the length doubles)."""
    output = tmp_path / "long.json"
    command = [sys.executable, str(BENCHMARK), "--model", str(scorer_dir), "--units", "2000", "4000"]
    subprocess.run([*command, "--output", str(output)], check=True, capture_output=True, timeout=1200)
    small, large = json.loads(output.read_text())["results"]
    assert "failed" not in small and "failed" not in large, (small, large)
    assert large["pieces"] > small["pieces"] > 1
    assert large["peak_rss_growth_mb"] < 1024, large
    assert large["peak_rss_growth_mb"] <= 2.5 * small["peak_rss_growth_mb"] + 32, (small, large)
    assert large["cpu_seconds"] <= 3.0 * small["cpu_seconds"] + 1.0, (small, large)


@pytest.mark.parametrize(
    "settings",
    [
        {"strategy": "threshold", "threshold": 0.5, "top_k": None},
        {"strategy": "threshold", "threshold": 0.2, "top_k": 7},
        {"strategy": "reference", "threshold": 0.5, "top_k": 3},
    ],
)
def test_decoding_a_band_gives_the_pairs_of_the_square_matrix(settings):
    from hf_ecpe.models.a2net.modeling_a2net import decode_pair_logits

    torch.manual_seed(3)
    n, window = 40, 3
    offsets = torch.arange(n)[None, :] - torch.arange(n)[:, None]  # cause - emotion
    mask = (offsets.abs() <= window)[None]
    margins = torch.randn(1, n, n).round(decimals=1)  # rounded: many ties, decided by row-major order
    lexicon = torch.rand(1, n) > 0.5
    cause = torch.arange(n)[:, None] + torch.arange(2 * window + 1)[None, :] - window  # band column -> cause
    inside = (cause >= 0) & (cause < n)
    band = margins[0].gather(1, cause.clamp(0, n - 1))[None]
    band_mask = mask[0].gather(1, cause.clamp(0, n - 1))[None] & inside[None]
    square = decode_pair_logits(margins, mask, lexicon_mask=lexicon, **settings)[0]
    banded = decode_pair_logits(band, band_mask, lexicon_mask=lexicon, **settings)[0]
    assert [(e, e + c - window, p) for e, c, p in banded] == square and square
