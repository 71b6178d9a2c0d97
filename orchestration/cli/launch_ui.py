"""Start `dagster dev` on 127.0.0.1 with the runtime home's instance.

Why a launcher: `dagster dev` copies its SIGINT handler onto SIGTERM; started from a
non-interactive script (SIGINT ignored) `kill PID` does nothing for ~45 s. Restoring SIGINT's
default before exec makes `kill` stop it at once.
"""

import argparse
import os
import signal
import sys
from pathlib import Path

from orchestration.cli import offline
from orchestration.cli.instance import ensure_dagster_home
from orchestration.settings import load_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    offline.apply()
    settings = load_settings()
    ensure_dagster_home(settings.layout.dagster_home, settings.env)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    exe = str(Path(sys.executable).with_name("dagster"))
    os.execv(
        exe, [exe, "dev", "-m", "orchestration.definitions", "-h", args.host, "-p", str(args.port)]
    )


if __name__ == "__main__":
    main()
