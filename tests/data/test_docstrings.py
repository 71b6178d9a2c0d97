"""The long-text many-class dataset built from installed libraries' docstrings
(data/docstrings.py).

Touches: the source files of the installed, pinned libraries (parsed with `ast`, never
imported), a temp cache directory, and the real MiniLM tokenizer to check that the texts are
long for the accurate tier. The full ten-library build parses ~9,000 files (~95 s of
`ast.parse` on one core, spread over every core): marked slow; the fast tests build from two
libraries.
"""

from pathlib import Path

import pandas as pd
import pytest

from data.docstrings import (
    LIBRARIES,
    MASK,
    build_library_docstrings,
    clean_docstring,
    library_versions,
    load_library_docstrings,
)
from data.schema import row_id

SMALL = {"libraries": ["sklearn", "numpy"], "max_per_class": 40}


def test_cleaning_drops_code_and_masks_library_names() -> None:
    doc = (
        "Compute the sum with numpy, like np.sum or pandas.\n"
        "\n"
        ">>> import numpy as np\n"
        ">>> np.sum([1, 2])\n"
        "3\n"
        "\n"
        "Notes here.\n"
        ".. code-block:: python\n"
        "\n"
        "    import torch\n"
        "    torch.ones(3)\n"
        "\n"
        "After the block.\n"
        "```python\nimport mlflow\n```\n"
        "Numpydoc scipy.stats and sklearn's estimators."
    )
    assert clean_docstring(doc) == (
        f"Compute the sum with {MASK}, like {MASK}.sum or {MASK}.\n"
        "\n"
        "Notes here.\n"
        "After the block.\n"
        "\n"
        f"Numpydoc {MASK}.stats and {MASK}'s estimators."
    )


def test_two_builds_are_identical_whatever_the_library_order(tmp_path: Path) -> None:
    first = load_library_docstrings(tmp_path, **SMALL)  # type: ignore[arg-type]
    (cached,) = tmp_path.glob("library-docstrings-*.parquet")  # keyed by library versions
    second = build_library_docstrings(
        list(reversed(SMALL["libraries"])), max_per_class=SMALL["max_per_class"]
    )
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(load_library_docstrings(tmp_path, **SMALL), first)  # type: ignore[arg-type]
    assert list(tmp_path.glob("library-docstrings-*.parquet")) == [cached]
    assert first["library"].value_counts().to_dict() == {"numpy": 40, "sklearn": 40}
    assert first["words"].min() >= 150
    assert first["text"].map(row_id).is_unique
    assert list(first.columns) == ["source_id", "library", "text", "words"]


@pytest.mark.e2e  # the full build parses every library's files (~1 min on 2 cores)
@pytest.mark.slow
def test_full_dataset_has_many_classes_of_long_texts() -> None:
    from models.truncation import truncation_stats

    frame = build_library_docstrings()
    counts = frame["library"].value_counts()
    assert set(counts.index) == set(LIBRARIES) and len(counts) >= 8
    assert counts.min() >= 100 and counts.max() == 300
    assert frame["words"].min() >= 150 and frame["text"].str.len().max() <= 5_000
    assert not frame["text"].str.contains(r"\b(?:numpy|pandas|torch|sklearn)\b", case=False).any()
    assert frame["text"].map(row_id).is_unique
    sample = frame.groupby("library").head(20)["text"].tolist()
    assert truncation_stats(sample, 256).share > 0.5  # long for a 256-token window too
    assert set(library_versions()) == set(LIBRARIES)
