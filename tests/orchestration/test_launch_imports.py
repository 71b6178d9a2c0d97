"""What a Dagster run pays before its first step: loading the Definitions in a fresh process.

Runs `python -c` importing orchestration.definitions and building the Definitions (a real
interpreter, nothing mocked), then reads `sys.modules`. Every run the daemon launches (an
ingest of 2 rows included) pays this import; the heavy libraries below belong to the steps
that use them (training, drift reports, evaluation, plots), not to loading the code. Issue
#9 measured 14.5 s of launch overhead before they were made lazy (bench/tiny_batch.py).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Each costs 0.5-3 s to import on these machines (python -X importtime).
HEAVY = ("torch", "lightning", "evidently", "deepeval", "matplotlib", "sentence_transformers")


def test_loading_the_definitions_imports_no_heavy_library(tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "from orchestration.cli import offline; offline.apply()\n"
        "from orchestration.definitions import build_definitions\n"
        "from orchestration.settings import load_settings\n"
        "build_definitions(load_settings())\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    env = {**os.environ, "DRIFTWISE_HOME": str(tmp_path / "home")}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
