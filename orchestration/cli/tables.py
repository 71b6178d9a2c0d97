"""Rows for the CLI's rich tables that keep every fact.

rich reads `[...]` as markup, so a rule named `recall[alt.atheism]` printed as `recall` and
twenty per-class rows looked alike: every user-facing string goes through `escape`. A long
rule list shows every failed rule, then passed ones up to the limit, then a count of the
rest, never a silent cut.
"""

from collections.abc import Sequence
from typing import Any

from rich.markup import escape


def rule_rows(reasons: Sequence[dict[str, Any]], limit: int = 12) -> list[tuple[str, str, str]]:
    """(rule, ok, reason) rows: failed rules first (all of them), passed ones up to `limit`
    rows in all, then one row counting the passed rules left out."""
    failed = [r for r in reasons if not r.get("passed")]
    passed = [r for r in reasons if r.get("passed")]
    shown = failed + passed[: max(0, limit - len(failed))]
    rows = [
        (
            escape(str(r.get("rule"))),
            "yes" if r.get("passed") else "NO",
            escape(str(r.get("message"))),
        )
        for r in shown
    ]
    left = len(reasons) - len(shown)
    if left:
        rows.append(
            (f"... {left} more", "yes", f"{left} passed rules not shown (driftwise explain ID)")
        )
    return rows
