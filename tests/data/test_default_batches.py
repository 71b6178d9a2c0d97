"""data.default_batches on the real default data: the `--sample` share of each batch keeps
its class mix, is the same rows every time, and refuses a share outside (0, 1]; the main
loop's claim on a runtime home (orchestration.cli.main_loop.claim_sample) refuses a second,
different share; the CLI refuses `--sample` with `--data`."""

from pathlib import Path

import pandas as pd
import pytest

from data.default_batches import default_batches
from orchestration.cli.main_loop import claim_sample


def test_a_sample_keeps_each_batch_class_mix_and_is_reproducible(vader_df: pd.DataFrame) -> None:
    full = default_batches(vader_df)
    small = default_batches(vader_df, 0.25)
    again = default_batches(vader_df, 0.25)
    assert list(small) == list(full)  # same files, same order
    for name, batch in small.items():
        whole = full[name]
        assert set(batch["source_id"]) <= set(whole["source_id"])  # rows of that batch only
        assert abs(len(batch) - 0.25 * len(whole)) <= whole["label"].nunique()
        mix, whole_mix = (b["label"].value_counts(normalize=True) for b in (batch, whole))
        assert (mix - whole_mix).abs().max() < 0.01
        pd.testing.assert_frame_equal(batch, again[name])


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_a_share_outside_zero_one_is_refused(vader_df: pd.DataFrame, fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        default_batches(vader_df, fraction)


def test_one_home_runs_one_share(tmp_path: Path) -> None:
    claim_sample(tmp_path, 0.25)
    claim_sample(tmp_path, 0.25)  # the same share again: a re-run, fine
    with pytest.raises(ValueError, match="fresh DRIFTWISE_HOME"):
        claim_sample(tmp_path, 1.0)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        claim_sample(tmp_path / "other", 2.0)
    assert not (tmp_path / "other").exists()  # a refused share leaves nothing behind


def test_the_cli_refuses_a_sample_of_your_own_data(tmp_path: Path, monkeypatch) -> None:
    """`driftwise run --data F --sample 0.5`: --sample is for the default loop; refused
    before anything is set up (orchestration/cli/app.py)."""
    from typer.testing import CliRunner

    from orchestration.cli.app import app

    home = tmp_path / "home"
    monkeypatch.setenv("DRIFTWISE_HOME", str(home))
    result = CliRunner().invoke(app, ["run", "--data", "mine.csv", "--sample", "0.5"])
    assert result.exit_code == 2
    assert "default loop" in result.output
    assert not home.exists()
