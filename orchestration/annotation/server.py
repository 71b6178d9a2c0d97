"""`driftwise label up|down`: a Label Studio server under the runtime home.

- Its own virtual environment (`<home>/label-studio/venv`, or the configured one), so its
  pins (Django, sentry-sdk, ...) never touch ours; installed once, with pip, at the pinned
  version.
- Bound to 127.0.0.1 with `--internal-host` (`--host` alone only names the public URL and
  still binds 0.0.0.0: STACK_NOTES). SQLite under `<home>/label-studio/data`, or the
  PostgreSQL database of `annotation.database_url` (the prod profile's): its settings read
  `DJANGO_DB` and `POSTGRE_*`, which are always set here, never inherited.
- No telemetry, no internet: analytics, the PyPI version check, the converter's resource
  downloads and Sentry (browser and server) off; inherited overrides of these removed.
- An API token made here (`secrets`), kept in a 0600 file and handed to the server's first
  start, which creates the user with it and enables token auth for its organisation; the
  user's password is random and kept 0600 beside it. Nothing asks a person for anything.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from orchestration.annotation.client import LabelStudioClient
from orchestration.cli.daemon import alive_as

# The release STACK_NOTES probed on this machine kind (clean install on Python 3.11, the
# start flags and token behaviour above); a newer one must be probed again before the pin moves.
LABEL_STUDIO = "label-studio==1.23.2"
USER = "driftwise@localhost"


def _alive_ls(pid: int) -> bool:
    """Our server still runs under that pid (not a reused pid, not a zombie: its
    command line would be another's, or empty)."""
    return alive_as(pid, b"label-studio")


PID_FILE = "server.json"

# Its settings module (core/settings/label_studio.py) defaults both Sentry DSNs to
# sentry.io: only an empty value turns error reporting off (an unset one does not). With
# sentry-sdk 3.x, which its own requirements resolve to, that default even stops the start
# ("Unknown option 'send_default_pii'").
OFFLINE_ENV = {
    "SENTRY_DSN": "",
    "FRONTEND_SENTRY_DSN": "",
    "COLLECT_ANALYTICS": "false",
    "LATEST_VERSION_CHECK": "false",
    "CONVERTER_DOWNLOAD_RESOURCES": "false",
    "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
}
# Where its data lives (core/settings/base.py): set by `database_env`, never inherited.
DATABASE_KEYS = (
    "DJANGO_DB",
    "DATABASE_NAME",
    "POSTGRE_NAME",
    "POSTGRE_USER",
    "POSTGRE_PASSWORD",
    "POSTGRE_HOST",
    "POSTGRE_PORT",
)
# get_env reads LABEL_STUDIO_<name> and HEARTEX_<name> before <name>: drop inherited ones.
DROPPED_ENV = tuple(
    f"{p}{n}" for p in ("LABEL_STUDIO_", "HEARTEX_", "") for n in (*OFFLINE_ENV, *DATABASE_KEYS)
)


def database_env(database_url: str | None) -> dict[str, str]:
    """Label Studio's database variables: SQLite (its default) or a postgresql:// URL."""
    if not database_url:
        return {"DJANGO_DB": "sqlite"}
    url = urlsplit(database_url)
    if url.scheme != "postgresql" or not url.hostname or not url.path.strip("/"):
        raise ValueError(f"annotation.database_url must be postgresql://…/DB, not {url.scheme}")
    return {
        "DJANGO_DB": "postgresql",
        "POSTGRE_NAME": url.path.strip("/"),
        "POSTGRE_USER": unquote(url.username or "postgres"),
        "POSTGRE_PASSWORD": unquote(url.password or ""),
        "POSTGRE_HOST": url.hostname,
        "POSTGRE_PORT": str(url.port or 5432),
    }


def _secret(path: Path, make: int) -> str:
    """Read a secret file, creating it 0600 (never readable by others, even for a moment)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(make))
    return path.read_text().strip()


@dataclass(frozen=True)
class LabelStudioServer:
    root: Path  # <home>/label-studio
    port: int = 8089
    host: str = "127.0.0.1"
    venv: Path | None = None
    database_url: str | None = None  # postgresql://…; None = SQLite under root/data

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def venv_dir(self) -> Path:
        return self.venv or self.root / "venv"

    @property
    def executable(self) -> Path:
        return self.venv_dir / "bin" / "label-studio"

    def token(self) -> str:
        return _secret(self.root / "api-token", 20)

    def salt(self) -> str:
        """Key of the annotator hashes (evaluation/review/harvest.py)."""
        return _secret(self.root / "annotator-salt", 16)

    def client(self) -> LabelStudioClient:
        return LabelStudioClient(self.url, self.token())

    def install(self) -> bool:
        """Create the venv and install the pinned release; False when it already was."""
        marker = self.venv_dir / f".installed-{LABEL_STUDIO}"
        if marker.exists() and self.executable.exists():
            return False
        subprocess.run([sys.executable, "-m", "venv", str(self.venv_dir)], check=True)
        pip = [str(self.venv_dir / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--disable-pip-version-check", LABEL_STUDIO], check=True)
        marker.touch()
        return True

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
        return {
            **env,
            "LABEL_STUDIO_USERNAME": USER,
            **OFFLINE_ENV,
            **database_env(self.database_url),
            "LABEL_STUDIO_BASE_DATA_DIR": str(self.root / "data"),
            "LABEL_STUDIO_PASSWORD": _secret(self.root / "password", 16),
            "LABEL_STUDIO_USER_TOKEN": self.token(),
        }

    def running(self) -> dict | None:
        path = self.root / PID_FILE
        if not path.exists():
            return None
        info = json.loads(path.read_text())
        return info if _alive_ls(int(info["pid"])) else None

    def up(self, timeout: float = 240.0) -> str:
        """Install if needed, start (idempotent: a running server is kept), wait for /health."""
        if self.running():
            return self.url
        self.install()
        self.root.mkdir(parents=True, exist_ok=True)
        log_path = self.root / "server.log"
        command = [
            str(self.executable),
            "start",
            "--no-browser",
            "--internal-host",
            self.host,
            "--host",
            self.url,
            "--port",
            str(self.port),
            "--enable-legacy-api-token",
        ]
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(
                command,
                cwd=self.root,
                env=self.environment(),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: `down` stops it whole
            )
        (self.root / PID_FILE).write_text(json.dumps({"pid": process.pid, "url": self.url}))
        client = self.client()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if client.healthy():
                return self.url
            time.sleep(1)
        self.down()
        tail = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"Label Studio did not come up within {timeout:.0f}s:\n{tail}")

    def down(self, grace_s: float = 20.0) -> bool:
        """Stop the server `up` started; True if one was running."""
        path = self.root / PID_FILE
        info = self.running()
        path.unlink(missing_ok=True)
        if info is None:
            return False
        pid = int(info["pid"])
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while _alive_ls(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive_ls(pid):
            os.killpg(pid, signal.SIGKILL)
        return True
