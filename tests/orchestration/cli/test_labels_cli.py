"""`driftwise labels show|add` as a user runs them (typer's runner, in process), on a real
registry in a temporary runtime home: before anything is frozen, after a freeze, adding a
class (audited, committed in the registry's git), and the refusals (declared labels, a
variant of an existing class, an empty reason)."""

import os
from pathlib import Path

from typer.testing import CliRunner, Result

from data.data_registry import DataRegistry
from data.labels import LabelContract, read_contract, save_contract


def _cli(home: Path, *args: str, labels: str = "[]") -> Result:
    from orchestration.cli import app

    env = dict(
        os.environ,
        DRIFTWISE_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster"),
        DRIFTWISE_DATASET__NAME="feed",
        DRIFTWISE_DATASET__LABELS=labels,
        COLUMNS="200",
    )
    return CliRunner().invoke(app.app, ["labels", *args], env=env)


def test_labels_show_and_add(tmp_path: Path) -> None:
    home = tmp_path / "home"
    registry = DataRegistry(home / "registry")
    registry.ensure()
    before = _cli(home, "show")
    assert before.exit_code == 0 and "no contract yet" in before.stdout, before.output
    early = _cli(home, "add", "sports", "--reason", "x")
    assert early.exit_code == 2 and "no label contract yet" in early.output

    save_contract(registry, LabelContract.frozen_from("feed", ["news", "sports"], "s/1"), "f")
    added = _cli(home, "add", "weather", "--reason", "new desk")
    assert added.exit_code == 0, added.output
    contract = read_contract(registry)
    assert contract is not None and contract.labels == ["news", "sports", "weather"]
    assert contract.audit[-1]["reason"] == "new desk"
    shown = _cli(home, "show")
    assert "news, sports, weather (frozen)" in shown.stdout and "new desk" in shown.stdout

    variant = _cli(home, "add", "NEWS", "--reason", "again")
    assert variant.exit_code == 2 and "already a class" in variant.output
    blank = _cli(home, "add", "tech", "--reason", " ")
    assert blank.exit_code == 2 and "say why" in blank.output
    declared = _cli(home, "add", "tech", "--reason", "r", labels='["a", "b"]')
    assert declared.exit_code == 2 and "declares its labels in config" in declared.output
    assert read_contract(registry) == contract  # refusals changed nothing
