"""PNG plots for UI metadata: reliability diagram and confidence histograms.

Pure functions: data in, file out. They build `matplotlib.figure.Figure` objects directly
with the Agg canvas instead of pyplot, so no global backend or figure state is touched
(safe in Dagster workers and threads, no display needed).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from evaluation.stats.metrics import DEFAULT_ECE_BINS, batched_ece, reliability_table

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(**kwargs: object) -> Figure:
    # matplotlib (~0.5 s) is imported when a plot is drawn, not by every Dagster run.
    from matplotlib.figure import Figure

    return Figure(**kwargs)  # type: ignore[arg-type]


def _save(fig: Figure, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=100, bbox_inches="tight")
    return path


def reliability_diagram(
    confidence: np.ndarray,
    correct: np.ndarray,
    path: Path,
    *,
    n_bins: int = DEFAULT_ECE_BINS,
    title: str = "Reliability",
) -> Path:
    """Accuracy vs confidence per bin (bars) against the diagonal, with ECE in the title."""
    table = reliability_table(confidence, correct, n_bins)
    ece = float(batched_ece(confidence, correct, n_bins))
    lower = np.asarray(table["bin_lower"])
    width = 1.0 / n_bins
    acc = np.nan_to_num(np.asarray(table["accuracy"]), nan=0.0)
    count = np.asarray(table["count"])
    fig = _figure(figsize=(5, 6))
    ax, ax_count = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.bar(lower, acc, width=width, align="edge", edgecolor="black", label="accuracy")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"{title} (ECE {ece:.3f}, n={len(confidence)})")
    ax.legend(loc="upper left")
    ax_count.bar(lower, count, width=width, align="edge", edgecolor="black")
    ax_count.set_xlabel("confidence")
    ax_count.set_ylabel("rows")
    ax_count.set_xlim(0, 1)
    return _save(fig, path)


def confidence_histograms(
    confidences: Mapping[str, np.ndarray],
    path: Path,
    *,
    bins: int = 20,
    title: str = "Confidence",
) -> Path:
    """Overlaid, density-normalised confidence histograms (e.g. golden vs traffic, or models)."""
    if not confidences:
        raise ValueError("no confidence arrays to plot")
    fig = _figure(figsize=(6, 4))
    ax = fig.subplots()
    edges = np.linspace(0.0, 1.0, bins + 1)
    for name, values in confidences.items():
        values = np.asarray(values, dtype=np.float64)
        ax.hist(
            values,
            bins=edges.tolist(),
            density=True,
            histtype="step",
            linewidth=2,
            label=f"{name} (n={len(values)}, mean {values.mean():.2f})",
        )
    ax.set_xlabel("confidence of predicted label")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(loc="upper left")
    return _save(fig, path)
