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

STATE_FILE = "state.json"


class ServingState(BaseModel):
    champion: str | None = Field(None, description="BentoML store tag, e.g. driftwise-sentiment:v3")
    challenger: str | None = None
    previous: str | None = None
    routing: RoutingUpdate = Field(default_factory=lambda: RoutingUpdate(mode="off"))


def serving_dir(home: Path) -> Path:
    return Path(home) / "serving"


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
