"""models/quiet.py: the known library noise is dropped, and nothing else - an unrelated
warning or log record still comes through. Pure Python (warnings, logging); no library
call is needed to raise the messages, they are raised here as the libraries raise them."""

import logging
import warnings

import pytest

from models.quiet import drop_root_log, quiet_training_warnings


def test_known_training_warnings_are_dropped_and_others_kept() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_training_warnings()
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...", stacklevel=1)
        warnings.warn("Sparse invariant checks are implicitly disabled. ...", UserWarning, 1)
        warnings.warn("something else entirely", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["something else entirely"]


def test_root_log_advice_dropped_only_inside_the_block(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), drop_root_log("Please consider"):
        logging.warning("Please consider to run pre-processing before quantization.")
        logging.warning("a real problem")
    logging.warning("Please consider this after the block")
    assert [r.getMessage() for r in caplog.records] == [
        "a real problem",
        "Please consider this after the block",
    ]
