"""CSV files Driftwise writes for people to open (quarantine exports): formula-safe.

Landed texts are untrusted. A cell such as `=HYPERLINK("http://evil", "click")` or
`@SUM(1+1)*cmd|' /C calc'!A0` in a CSV is run as a formula by Excel, LibreOffice and Google
Sheets when an operator opens the export to review rejected rows (CSV injection, OWASP).
Every string cell that a spreadsheet would read as a formula is prefixed with a single quote,
which spreadsheets show as text and do not evaluate. Only exports get this: the data itself
(DVC tables, golden sets) keeps the exact text, since the model must see what was sent.
"""

import os
from pathlib import Path

import pandas as pd

# OWASP's list: = + - @ start a formula; tab and CR can hide one after a leading control char.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: object) -> object:
    """`value` as a spreadsheet shows it literally (strings only; numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv_export(frame: pd.DataFrame, path: Path) -> Path:
    """Write `frame` to `path` atomically with every cell (and header) formula-neutralised."""
    safe = frame.map(neutralise_formula)
    safe.columns = [str(neutralise_formula(str(c))) for c in frame.columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    safe.to_csv(tmp, index=False)
    os.replace(tmp, path)
    return path
