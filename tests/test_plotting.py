"""hf_ecpe.plotting.plot_pair_scores renders a heatmap to PNG (Agg backend)."""

from __future__ import annotations

import builtins
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib", reason="plotting needs the 'plot' extra (matplotlib)")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from hf_ecpe.plotting import plot_pair_scores  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

RESULT = {
    "units": ["I was so happy,", "because I passed the exam.", "Then it rained."],
    "pairs": [{"emotion_index": 0, "cause_index": 1, "emotion_text": "", "cause_text": "", "score": 0.9}],
    "emotions": [],
    "causes": [],
    "pair_scores": [[0.2, 0.9, None], [0.1, 0.3, 0.05], [None, 0.4, 0.6]],
}


def test_pipeline_result_renders_to_png(tmp_path):
    ax = plot_pair_scores(RESULT)
    image = ax.get_images()[0].get_array()
    assert image.shape == (3, 3)
    assert bool(image.mask[0, 2]) and bool(image.mask[2, 0])  # non-candidates drawn blank
    assert image[0, 1] == pytest.approx(0.9)
    labels = [tick.get_text() for tick in ax.get_yticklabels()]
    assert labels[1].startswith("1: because I passed")
    assert len(ax.patches) == 1  # the extracted pair is outlined
    path = tmp_path / "scores.png"
    ax.figure.savefig(path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 1000
    plt.close(ax.figure)


def test_matrix_input_and_given_axes(tmp_path):
    fig, ax = plt.subplots()
    returned = plot_pair_scores(np.array([[0.1, np.nan], [0.7, 0.2]]), units=["a", "b"], ax=ax, annotate=True)
    assert returned is ax
    assert [t.get_text() for t in ax.texts] == ["0.10", "0.70", "0.20"]
    fig.savefig(tmp_path / "m.png")
    assert (tmp_path / "m.png").read_bytes()[:8] == PNG_SIGNATURE
    plt.close(fig)


def test_bad_inputs():
    with pytest.raises(ValueError, match="return_pair_scores=True"):
        plot_pair_scores({"units": ["a"], "pairs": []})
    with pytest.raises(ValueError, match="must be square"):
        plot_pair_scores([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]])
    with pytest.raises(ValueError, match="got 1 units for a 2 x 2 matrix"):
        plot_pair_scores([[0.1, 0.2], [0.3, 0.4]], units=["a"])
    with pytest.raises(ValueError, match="empty"):
        plot_pair_scores({"units": [], "pairs": [], "pair_scores": []})


def test_missing_matplotlib_gives_an_install_hint(monkeypatch):
    real_import = builtins.__import__

    def blocked(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(builtins, "__import__", blocked)
    with pytest.raises(ImportError, match=r"pip install 'hf-ecpe\[plot\]'"):
        plot_pair_scores([[0.5]])
