"""Local stand-ins for the prod profile's servers: `driftwise prod up|down|env`.

Each is the real server a managed deployment would use, started on 127.0.0.1:
  - PostgreSQL (Debian's packages): a throwaway cluster, databases `dagster`, `mlflow` and
    `labelstudio`;
  - an S3-compatible store (`moto_server`, in memory): buckets for the DVC remote and MLflow;
  - `mlflow server` on PostgreSQL with artifacts proxied to S3 (clients need no S3 keys);
  - Redis (Debian) as the broker of the celery executor, plus one celery worker;
  - with `label_studio=True`, the annotation server (Label Studio, its own venv) on the
    PostgreSQL database `labelstudio` (`driftwise label up` on prod.env uses the same one).
`up` writes `<state>/prod.env`: the environment variables that point Driftwise at them, the
same ones a managed deployment sets (README, "Production profile"). The S3 stand-in keeps
its objects in memory, so `down` removes the whole stand-in state (database included): what
survives a restart must not point at objects that did not.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Credentials of the stand-in store. moto accepts any key; a real store gets real ones
# through the same variables, from the deployment's secret store (never from a file here).
_STANDIN_KEY = "driftwise-local"
DVC_BUCKET = "driftwise-dvc"
MLFLOW_BUCKET = "driftwise-mlflow"
LABEL_STUDIO_DB = "labelstudio"


class StackError(RuntimeError):
    """A stand-in server did not start (the message names its log)."""


@dataclass
class StackState:
    """What `up` started: ports, pids and where each server keeps its files and logs."""

    root: str
    pg_data: str
    ports: dict[str, int]
    home: str  # the Driftwise runtime home the celery workers execute steps for
    pids: dict[str, int] = field(default_factory=dict)
    # DRIFTWISE_* settings (dataset columns, labels, ...) at `up`: the workers run with them,
    # so prod.env carries them too - a run and its steps must read one dataset config.
    config: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The variables that point the prod profile at these servers."""
        pg = f"postgresql+psycopg2://postgres@127.0.0.1:{self.ports['postgres']}"
        s3 = f"http://127.0.0.1:{self.ports['s3']}"
        annotation = (
            {"DRIFTWISE_ANNOTATION__PORT": str(self.ports["label-studio"])}
            if "label-studio" in self.ports
            else {}
        )
        return {
            **self.config,
            **annotation,
            "DRIFTWISE_ANNOTATION__DATABASE_URL": (
                f"postgresql://postgres@127.0.0.1:{self.ports['postgres']}/{LABEL_STUDIO_DB}"
            ),
            "DRIFTWISE_ENV": "prod",
            "DRIFTWISE_HOME": self.home,  # the home the workers serve: runs must use it too
            "DRIFTWISE_DAGSTER_PG_URL": f"{pg}/dagster",
            "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{self.ports['mlflow']}",
            "DRIFTWISE_DVC_REMOTE_URL": f"s3://{DVC_BUCKET}/registry",
            "DRIFTWISE_DVC_REMOTE_ENDPOINT_URL": s3,
            "DRIFTWISE_CELERY_BROKER_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "AWS_ACCESS_KEY_ID": _STANDIN_KEY,
            "AWS_SECRET_ACCESS_KEY": _STANDIN_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
        }


# The variables StackState.env sets itself (never part of a user's recorded settings).
_OWN = frozenset(
    StackState(
        "", "", dict.fromkeys(("postgres", "s3", "mlflow", "redis", "label-studio"), 0), ""
    ).env
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if not found:
        raise StackError(f"{name} not found: install Debian's postgresql (make prod-up does)")
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb/pg_ctl refuse root: as root, run them as the `postgres` system user."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _pg_data_dir(root: Path) -> Path:
    if os.geteuid() != 0:
        return root / "pg"
    # The postgres user cannot enter root's folders (pytest's tmp is 0700): its own home.
    home = Path(pwd.getpwnam("postgres").pw_dir) / "driftwise"
    return home / f"pg-{hashlib.sha256(str(root).encode()).hexdigest()[:12]}"


def _wait_http(url: str, name: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"{name} exited with {proc.returncode}; see {log}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2):
            return
        time.sleep(0.3)
    raise StackError(f"{name} not ready at {url} within {timeout:.0f}s; see {log}")


def _spawn(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env or dict(os.environ),
            start_new_session=True,  # its own process group: `down` stops it and its children
        )


def _state_file(root: Path) -> Path:
    return root / "stack.json"


def load_state(root: Path) -> StackState | None:
    path = _state_file(root)
    if not path.exists():
        return None
    return StackState(**json.loads(path.read_text()))


def _save(state: StackState) -> None:
    path = _state_file(Path(state.root))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2))
    os.replace(tmp, path)
    (Path(state.root) / "prod.env").write_text(export_lines(state.env))


def export_lines(env: dict[str, str]) -> str:
    """`export K=V` lines a POSIX shell can `source` (values quoted: settings hold JSON)."""
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # our own child: reap it, or it lingers
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _user_config() -> dict[str, str]:
    """The DRIFTWISE_* settings of this shell, less the ones the stack itself sets."""
    return {k: v for k, v in os.environ.items() if k.startswith("DRIFTWISE_") and k not in _OWN}


def up(
    root: Path,
    home: Path,
    celery_workers: int = 1,
    timeout: float = 60.0,
    label_studio: bool = False,
) -> StackState:
    """Start every stand-in (idempotent: a running stack is returned as it is).

    `home` is the Driftwise runtime home whose steps the celery workers run: they load the
    same code location and instance (its dagster.yaml, written here for prod) as the runs.
    """
    root, home = root.resolve(), home.resolve()
    existing = load_state(root)
    config = _user_config()
    alive = existing and existing.pids and all(_alive(p) for p in existing.pids.values())
    if existing and alive:
        if existing.home != str(home) or existing.config != config:
            raise StackError(
                f"the stand-ins under {root} run for home {existing.home} with other DRIFTWISE_* "
                "settings; stop them first (`driftwise prod down`): their workers would run "
                "steps with the old settings"
            )
        if label_studio and "label-studio" not in existing.ports:
            _start_label_studio(existing, annotation_venv(config), timeout)
        return existing
    if existing:
        down(root)  # half-started or crashed: start clean (the S3 stand-in lost its objects)
    root.mkdir(parents=True, exist_ok=True)
    logs = root / "logs"
    state = StackState(
        root=str(root),
        pg_data=str(_pg_data_dir(root)),
        ports={k: _free_port() for k in ("postgres", "s3", "mlflow", "redis")},
        home=str(home),
        config=config,
    )
    _save(state)  # before anything starts: a crash mid-way still leaves `down` what to stop
    try:
        _start_postgres(state, logs)
        _start_s3(state, logs, timeout)
        _start_mlflow(state, logs, timeout)
        _start_celery(state, logs, celery_workers, timeout)
        if label_studio:
            _start_label_studio(state, annotation_venv(config), timeout)
    except BaseException:
        down(root)
        raise
    return state


def _start_postgres(state: StackState, logs: Path) -> None:
    data = Path(state.pg_data)
    data.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(data.parent, "postgres", "postgres")
    shutil.rmtree(data, ignore_errors=True)
    port = state.ports["postgres"]
    init = [_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
    _checked(_as_postgres([*init, "--locale=C.UTF-8"]), "initdb")
    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200"
    log = data / "server.log"
    _checked(
        _as_postgres(
            [_pg_bin("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(log), "-w", "start"]
        ),
        "pg_ctl start",
    )
    state.pids["postgres"] = int((data / "postmaster.pid").read_text().split()[0])
    _save(state)
    for db in ("dagster", "mlflow", LABEL_STUDIO_DB):
        _checked(
            [_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", db],
            f"createdb {db}",
        )


def _start_s3(state: StackState, logs: Path, timeout: float) -> None:
    port = state.ports["s3"]
    exe = str(Path(sys.executable).with_name("moto_server"))
    proc = _spawn([exe, "-H", "127.0.0.1", "-p", str(port)], logs / "s3.log")
    state.pids["s3"] = proc.pid
    _save(state)
    _wait_http(f"http://127.0.0.1:{port}/", "moto_server", proc, logs / "s3.log", timeout)
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id=_STANDIN_KEY,
        aws_secret_access_key=_STANDIN_KEY,
        region_name="us-east-1",
    )
    for bucket in (DVC_BUCKET, MLFLOW_BUCKET):
        s3.create_bucket(Bucket=bucket)


def _start_mlflow(state: StackState, logs: Path, timeout: float) -> None:
    env = dict(os.environ, **state.env)
    env["MLFLOW_S3_ENDPOINT_URL"] = env["DRIFTWISE_DVC_REMOTE_ENDPOINT_URL"]
    pg = f"postgresql+psycopg2://postgres@127.0.0.1:{state.ports['postgres']}/mlflow"
    port = state.ports["mlflow"]
    cmd = [
        str(Path(sys.executable).with_name("mlflow")), "server",
        "--backend-store-uri", pg,
        "--artifacts-destination", f"s3://{MLFLOW_BUCKET}/artifacts",
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1",  # 2 cores: one worker is enough for a handful of runs
    ]  # fmt: skip
    proc = _spawn(cmd, logs / "mlflow.log", env)
    state.pids["mlflow"] = proc.pid
    _save(state)
    # The first start migrates the schema on PostgreSQL: allow it time.
    _wait_http(f"http://127.0.0.1:{port}/health", "mlflow server", proc, logs / "mlflow.log",
               timeout * 2)  # fmt: skip


def _start_celery(state: StackState, logs: Path, workers: int, timeout: float) -> None:
    redis = shutil.which("redis-server")
    if redis is None:
        raise StackError("redis-server not found: install Debian's redis-server")
    port = state.ports["redis"]
    proc = _spawn([redis, "--bind", "127.0.0.1", "--port", str(port), "--save", ""],
                  logs / "redis.log")  # fmt: skip
    state.pids["redis"] = proc.pid
    _save(state)
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            break
        if time.monotonic() > deadline or proc.poll() is not None:
            raise StackError(f"redis-server not ready; see {logs / 'redis.log'}")
        time.sleep(0.2)
    from data.home import HomeLayout
    from orchestration.cli.instance import dagster_yaml
    from orchestration.prod.celery import write_celery_config

    config = write_celery_config(Path(state.root), state.env["DRIFTWISE_CELERY_BROKER_URL"])
    dagster_home = HomeLayout(Path(state.home)).dagster_home
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(dagster_yaml("prod"))
    env = dict(os.environ, **state.env, DAGSTER_HOME=str(dagster_home))
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"  # dagster-celery runs `celery` by name
    for i in range(workers):
        cmd = [str(Path(bin_dir) / "dagster-celery"), "worker", "start", "-A",
               "dagster_celery.app", "-y", str(config), "-n", f"driftwise-{i}"]  # fmt: skip
        worker = _spawn(cmd, logs / f"celery-{i}.log", env)
        state.pids[f"celery-{i}"] = worker.pid
        _save(state)


def annotation_venv(config: dict[str, str]) -> Path | None:
    """Label Studio's venv from the user's settings (`DRIFTWISE_ANNOTATION__VENV`), if set."""
    venv = config.get("DRIFTWISE_ANNOTATION__VENV")
    return Path(venv) if venv else None


def _start_label_studio(state: StackState, venv: Path | None, timeout: float) -> None:
    """Label Studio on the stack's PostgreSQL: installed on first use (its own venv), ready
    when its /health answers; its first start migrates the schema (allow for that)."""
    from data.home import HomeLayout
    from orchestration.annotation.server import LabelStudioServer

    state.ports["label-studio"] = _free_port()
    server = LabelStudioServer(
        HomeLayout(Path(state.home)).label_studio,
        state.ports["label-studio"],
        venv=venv,
        database_url=state.env["DRIFTWISE_ANNOTATION__DATABASE_URL"],
    )
    server.down()  # one of an earlier stack (other port, other database) would hold the pid file
    _save(state)
    server.up(timeout=max(timeout * 8, 240.0))
    running = server.running()
    assert running is not None  # up() returned: it answered /health
    state.pids["label-studio"] = int(running["pid"])
    _save(state)


def _checked(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise StackError(f"{what} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")


def down(root: Path) -> bool:
    """Stop every stand-in and remove their state. False when nothing was there."""
    root = root.resolve()
    state = load_state(root)
    if state is None:
        return False
    data = Path(state.pg_data)
    if (data / "postmaster.pid").exists():
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            check=False,
        )
    for name, pid in state.pids.items():
        if name == "postgres":
            continue
        # The whole process group: dagster-celery leaves its inner `celery worker` otherwise.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for pid in state.pids.values():
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    shutil.rmtree(data, ignore_errors=True)
    _state_file(root).unlink(missing_ok=True)
    (root / "prod.env").unlink(missing_ok=True)
    return True
