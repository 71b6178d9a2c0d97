"""The tolerant JSONL log reader on real files in a temp folder (no services)."""

import json
from pathlib import Path

from data.jsonl_log import read_jsonl_log


def test_partial_and_garbage_lines_are_skipped_and_counted(tmp_path: Path):
    log = tmp_path / "log"
    log.mkdir()
    good = [{"request_id": f"r{i}", "text": f"t{i}\u2028still one record"} for i in range(3)]
    lines = [json.dumps(r, ensure_ascii=False) for r in good]
    (log / "a.jsonl").write_text("\n".join([*lines, "[1, 2]", '{"request_id": "r9", "te']))
    read = read_jsonl_log(log)
    assert read.malformed == 2
    assert read.frame["request_id"].tolist() == ["r0", "r1", "r2"]
    assert "\u2028" in read.frame["text"].iloc[0]


def test_newest_window_reads_from_the_newest_file(tmp_path: Path):
    log = tmp_path / "log"
    log.mkdir()
    for day in range(3):
        rows = [{"day": day, "i": i} for i in range(4)]
        (log / f"2026-11-0{day + 1}.jsonl").write_text("\n".join(map(json.dumps, rows)))
    window = read_jsonl_log(log, newest=6).frame
    assert list(zip(window["day"], window["i"], strict=True)) == [
        (1, 2),
        (1, 3),
        (2, 0),
        (2, 1),
        (2, 2),
        (2, 3),
    ]
    assert read_jsonl_log(tmp_path / "missing").frame.empty
