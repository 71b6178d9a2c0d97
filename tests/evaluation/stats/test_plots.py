"""PNG plots for UI metadata (evaluation.stats.plots): real files written under tmp_path and read
back with matplotlib's PNG reader."""

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from evaluation.stats.plots import confidence_histograms, reliability_diagram

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_reliability_diagram_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.5, 1.0, 500)
    correct = rng.random(500) < conf
    path = reliability_diagram(conf, correct, tmp_path / "plots" / "reliability.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 200
    assert image.std() > 0.05  # not a blank canvas


def test_confidence_histograms_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    path = confidence_histograms(
        {"golden": rng.uniform(0.5, 1, 300), "traffic": rng.uniform(0.5, 0.8, 900)},
        tmp_path / "confidence.png",
    )
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert imread(path).shape[1] > 300
    with pytest.raises(ValueError):
        confidence_histograms({}, tmp_path / "empty.png")
