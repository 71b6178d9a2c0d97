"""orchestration/cli/tables.py: rule rows that keep every fact. Touches: only the row
builder and rich's own rendering of a table (no home, no run)."""

from rich.console import Console
from rich.table import Table

from orchestration.cli.tables import rule_rows


def _reasons(n_passed: int, n_failed: int) -> list[dict]:
    failed = [{"rule": f"recall[class.{i}]", "passed": False, "message": "0.41 < 0.45"}
              for i in range(n_failed)]  # fmt: skip
    passed = [{"rule": f"recall[ok.{i}]", "passed": True, "message": "fine"}
              for i in range(n_passed)]  # fmt: skip
    return passed + failed


def test_every_failed_rule_shows_first_and_the_cut_is_counted() -> None:
    rows = rule_rows(_reasons(n_passed=20, n_failed=3), limit=12)
    assert [ok for _, ok, _ in rows[:3]] == ["NO"] * 3
    assert len(rows) == 13 and rows[-1][0] == "... 11 more" and "11 passed" in rows[-1][2]
    many_failed = rule_rows(_reasons(n_passed=5, n_failed=15), limit=12)
    assert sum(ok == "NO" for _, ok, _ in many_failed) == 15  # never cut a failure
    assert many_failed[-1][0] == "... 5 more"
    assert len(rule_rows(_reasons(2, 1), limit=12)) == 3  # nothing cut, no count row


def test_bracketed_rule_names_survive_rich_markup() -> None:
    table = Table()
    for col in ("rule", "ok", "reason"):
        table.add_column(col)
    for row in rule_rows(_reasons(n_passed=0, n_failed=2)):
        table.add_row(*row)
    console = Console(width=120, record=True)
    console.print(table)
    text = console.export_text()
    assert "recall[class.0]" in text and "recall[class.1]" in text
