"""What the service serves, persisted: `<home>/serving/state.json` (written atomically).

`driftwise serve` writes it before starting `bentoml serve`; admin calls update it, so a
restarted service comes back with the same models and traffic split. `previous` is the last
champion, kept loaded so a rollback is a weight flip, not a model load.
"""

import json
import os
from pathlib import Path

from pydantic import BaseModel, Field

from bento.schemas import RoutingUpdate
from data.home import HomeLayout

STATE_FILE = "state.json"


class ServingState(BaseModel):
    champion: str | None = Field(None, description="BentoML store tag, e.g. driftwise-sentiment:v3")
    challenger: str | None = None
    previous: str | None = None
    routing: RoutingUpdate = Field(default_factory=lambda: RoutingUpdate(mode="off"))


def tag_version(tag: str | None) -> str | None:
    """`driftwise-sentiment:v3` -> "3": the version in a store tag or a served model's key
    (both end in `:v<version>`); None for no tag."""
    return tag.rsplit(":v", 1)[-1] if tag and ":v" in tag else None


def deployment_version(state: ServingState) -> str:
    """What BentoML's own request series carry as `service_version`: the champion's model
    version, then the challenger's with its routing while one takes traffic ("1",
    "1+2:canary", "1+2:shadow"). Those series count requests, not arms (ours count arms), so
    they name the deployment that answered."""
    version = tag_version(state.champion) or "none"
    challenger = tag_version(state.challenger)
    if challenger and state.routing.mode != "off":
        version += f"+{challenger}:{state.routing.mode}"
    return version


def serving_dir(home: Path) -> Path:
    return HomeLayout(Path(home)).serving


def read_state(home: Path) -> ServingState:
    path = serving_dir(home) / STATE_FILE
    if not path.exists():
        return ServingState()
    return ServingState.model_validate_json(path.read_text())


def write_state(home: Path, state: ServingState) -> Path:
    folder = serving_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state.model_dump(mode="json"), indent=2) + "\n")
    os.replace(tmp, folder / STATE_FILE)
    return folder / STATE_FILE


PID_FILE = "server.pid"
TOKEN_FILE = "admin.token"


def admin_token(home: Path, configured: str | None = None) -> str:
    """The admin token: the one configured (DRIFTWISE_ADMIN_TOKEN, through ServiceSettings
    when not given), else this home's token file (created once, owner-only), so `driftwise
    serve` and the rollout sensor agree without configuration."""
    if configured is None:
        from bento.settings import ServiceSettings

        configured = ServiceSettings().admin_token
    if configured:
        return configured
    path = serving_dir(home) / TOKEN_FILE
    if not path.exists():
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def server_url(home: Path) -> str | None:
    """The URL of the server `driftwise serve --detach` started for this home, if alive."""
    path = serving_dir(home) / PID_FILE
    if not path.exists():
        return None
    try:
        info = json.loads(path.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return f"http://{info['host']}:{info['port']}"


def set_routing_offline(home: Path, mode: str, weight: float) -> None:
    """Write the routing into the persisted state (when the service cannot be reached): a
    service that comes back reads it before it answers."""
    state = read_state(home)
    write_state(
        home,
        state.model_copy(update={"routing": RoutingUpdate(mode=mode, challenger_weight=weight)}),
    )  # type: ignore[arg-type]
