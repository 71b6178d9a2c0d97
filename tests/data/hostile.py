"""A corpus of hostile landing files, shared by the data and asset tests."""

from pathlib import Path

GOOD_HEADER = "text,label,domain\n"


def write_hostile_corpus(folder: Path) -> dict[str, Path]:
    """Each file is a way real landings go wrong. Returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {
        # Cut mid-row: the last row has too few fields.
        "truncated_row.csv": (GOOD_HEADER + "good one,positive,movies\nbad one,neg").encode(),
        # Cut inside a quoted field: nothing after the quote can be trusted.
        "truncated_quote.csv": (GOOD_HEADER + 'fine,positive,movies\n"never closed,neg').encode(),
        "latin1.csv": (GOOD_HEADER + "café crème très bon,positive,movies\n").encode("latin-1"),
        "missing_text_column.csv": b"review,label\nnice,positive\n",
        "labels_nan_unknown.csv": (
            GOOD_HEADER + "ok text,positive,movies\nno label,,movies\nnan label,nan,movies\n"
            "weird label,meh,movies\n"
        ).encode(),
        "huge_text.csv": (
            GOOD_HEADER + "short,positive,movies\n" + "x" * 1_000_000 + ",negative,movies\n"
        ).encode(),
        "empty.csv": b"",
        "header_only.csv": GOOD_HEADER.encode(),
        "garbage.csv": bytes(range(256)) * 64,
        "empty_texts.csv": (
            GOOD_HEADER + ",positive,movies\n   ,negative,movies\nreal,positive,x\n"
        ).encode(),
        "dupes.csv": (
            GOOD_HEADER + "Same text,positive,movies\nsame  TEXT,positive,movies\n"
        ).encode(),
        "bad_lines.jsonl": b'{"text": "fine", "label": "positive"}\n{not json}\n[1, 2]\n',
        "broken.parquet": b"PAR1 this is not really parquet PAR1",
        "unsupported.xlsx": b"PK\x03\x04 zip",
    }
    out = {}
    for name, payload in files.items():
        path = folder / name
        path.write_bytes(payload)
        out[name] = path
    return out
