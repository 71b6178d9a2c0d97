"""`driftwise serve`: the champion behind a real `bentoml serve` (bento/service.py).

1. Find the champion (MLflow alias) of the dataset's registered model; import it - and the
   `previous` champion, kept warm for a rollback flip - into the BentoML model store
   ($BENTOML_HOME, inside the runtime home by default).
2. Write `<home>/serving/state.json` (what the service loads; the traffic split survives
   when the champion is unchanged).
3. Run `bentoml serve bento.service:Driftwise` on 127.0.0.1: in the foreground
   (`make serve`), or detached with a pid file (`driftwise run` ends this way), waiting for
   /readyz and one real /classify before it says where it listens.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bento.state import PID_FILE, ServingState, admin_token, read_state, serving_dir, write_state
from bento.store import import_version
from models.model_registry import CHAMPION, PREVIOUS, aliased_version
from models.tracking import TrackingConfig
from orchestration.resources import model_name_for
from orchestration.settings import DriftwiseSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICE = "bento.service:Driftwise"


class NoChampion(LookupError):
    """Nothing to serve: no version of the dataset's model holds the champion alias."""


def tracking_config(settings: DriftwiseSettings) -> TrackingConfig:
    name = model_name_for(settings.dataset.name)
    if settings.env == "prod":
        return TrackingConfig(
            tracking_uri=os.environ["MLFLOW_TRACKING_URI"], registered_model_name=name
        )
    return TrackingConfig.embedded(settings.root, registered_model_name=name)


def prepare_serving(settings: DriftwiseSettings) -> ServingState:
    """Import the champion (+ previous) into the store and write the serving state."""
    from evaluation.rollout.controller import RegistryAliases, RolloutController

    tracking = tracking_config(settings)
    name = tracking.registered_model_name
    # a rollback left pending by a killed settler: the registry first, then serve what it names
    RolloutController(settings.root, None).settle(RegistryAliases(tracking))
    champion = aliased_version(tracking, name, CHAMPION)
    if champion is None:
        raise NoChampion(
            f"{name} has no champion yet: `driftwise run` (or `run --data FILE`) trains and "
            "judges one"
        )
    cache = settings.layout.model_imports
    tag = import_version(tracking, name, champion.version, cache).tag
    previous = aliased_version(tracking, name, PREVIOUS)
    previous_tag = (
        import_version(tracking, name, previous.version, cache).tag
        if previous is not None and previous.version != champion.version
        else None
    )
    state = read_state(settings.root)
    if state.champion != tag:  # a new champion starts with all traffic and no challenger
        state = ServingState(champion=tag, previous=previous_tag)
    write_state(settings.root, state)
    return state


def server_env(settings: DriftwiseSettings) -> dict[str, str]:
    return {
        **os.environ,
        "DRIFTWISE_HOME": str(settings.root),
        "DRIFTWISE_ADMIN_TOKEN": admin_token(settings.root),
        "BENTOML_HOME": os.environ.get("BENTOML_HOME", str(settings.layout.bentoml)),
        # The service counts cost at the dataset's price, as the gate does.
        "DRIFTWISE_PRICE_PER_CORE_HOUR": str(settings.dataset.price_per_core_hour),
        "DRIFTWISE_MAX_TEXT_CHARS": str(settings.dataset.max_text_chars),
        "DRIFTWISE_LONG_TEXT": settings.dataset.long_text,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }


def serve_command(host: str, port: int) -> list[str]:
    bentoml = Path(sys.executable).with_name("bentoml")
    return [str(bentoml), "serve", SERVICE, "--host", host, "--port", str(port)]


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


class PortTaken(RuntimeError):
    """The port is held by a process that is not this home's server."""


def check_port(settings: DriftwiseSettings, host: str, port: int) -> None:
    """Refuse a port another process holds; this home's own server is fine (it is
    restarted). Called before minutes of work, not only when the server starts."""
    from bento.state import server_url

    if port_free(host, port) or server_url(settings.root) == f"http://{host}:{port}":
        return
    raise PortTaken(
        f"{host}:{port} is taken by another process (another runtime home's server?): "
        "stop it, or pass --port"
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def stop_background(settings: DriftwiseSettings, timeout: float = 15) -> bool:
    """Stop a server `start_background` left running; True if there was one."""
    pid_path = serving_dir(settings.root) / PID_FILE
    if not pid_path.exists():
        return False
    info = json.loads(pid_path.read_text())
    pid = int(info["pid"])
    if _pid_alive(pid):
        os.killpg(pid, signal.SIGTERM)  # the whole group: arbiter, front and worker
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
    pid_path.unlink(missing_ok=True)
    return True


def _get(url: str, timeout: float = 2) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except (urllib.error.URLError, OSError):
        return 0


def classify(url: str, texts: list[str], timeout: float = 30) -> dict:
    request = urllib.request.Request(
        f"{url}/classify",
        data=json.dumps({"texts": texts}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return dict(json.loads(response.read()))


def start_background(
    settings: DriftwiseSettings, host: str = "127.0.0.1", port: int = 3001, timeout: float = 120
) -> str:
    """(Re)start the server detached; returns its URL once /readyz and /classify answer.

    Idempotent: a server this home started earlier is stopped first (it may serve an older
    champion). Raises RuntimeError with the server log's tail if it does not come up.
    """
    stop_background(settings)
    if not port_free(host, port):
        raise PortTaken(f"{host}:{port} is taken by another process: stop it, or pass --port")
    folder = serving_dir(settings.root)
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "server.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            serve_command(host, port),
            cwd=REPO_ROOT,
            env=server_env(settings),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop_background kills it whole
        )
    (folder / PID_FILE).write_text(json.dumps({"pid": process.pid, "host": host, "port": port}))
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if _get(f"{url}/readyz") == 200:
            try:
                classify(url, ["warm-up request"])
                return url
            except (urllib.error.URLError, OSError):
                pass  # the front is up, the worker still loading
        time.sleep(0.5)
    tail = log_path.read_text(errors="replace")[-3000:]
    stop_background(settings)
    raise RuntimeError(f"bentoml serve did not come up within {timeout:.0f}s:\n{tail}")


def serve_foreground(settings: DriftwiseSettings, host: str, port: int) -> None:
    """Replace this process with `bentoml serve` (Ctrl-C stops it)."""
    command = serve_command(host, port)
    os.chdir(REPO_ROOT)
    os.execve(command[0], command, server_env(settings))
