"""CSV files Driftwise writes for people to open (quarantine exports): formula-safe.

Landed texts are untrusted. A cell such as `=HYPERLINK("http://evil", "click")` or
`@SUM(1+1)*cmd|' /C calc'!A0` in a CSV is run as a formula by Excel, LibreOffice and Google
Sheets when an operator opens the export to review rejected rows (CSV injection, OWASP).
Every string cell that a spreadsheet would read as a formula is prefixed with a single quote,
which spreadsheets show as text and do not evaluate. Control characters (NUL, ESC, DEL, the
C1 block; not tab or line breaks) are written as visible backslash-x escapes: a raw NUL truncates
the cell or the file in many readers, and an ESC can drive the terminal of whoever `cat`s it.
Only exports get this: the data itself (DVC tables, golden sets, the quarantine's rows.jsonl)
keeps the exact text, since the model must see what was sent.
"""

import os
import re
from pathlib import Path

import pandas as pd

# OWASP's list: = + - @ start a formula; tab and CR can hide one after a leading control char.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def neutralise_formula(value: object) -> object:
    """`value` as a spreadsheet shows it literally (strings only; numbers stay numbers)."""
    if not isinstance(value, str):
        return value
    value = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return "'" + value if value.startswith(FORMULA_START) else value


def write_csv_export(frame: pd.DataFrame, path: Path) -> Path:
    """Write `frame` to `path` atomically with every cell (and header) formula-neutralised."""
    safe = frame.map(neutralise_formula)
    safe.columns = [str(neutralise_formula(str(c))) for c in frame.columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    safe.to_csv(tmp, index=False)
    os.replace(tmp, path)
    return path
