"""This home's running `bentoml serve` as the rollout controller's `Router`
(evaluation/rollout/controller.py): the admin API for loads and splits, the serving state it
persists (what it keeps warm, and the split it restarts from when it is down), and its
prediction and feedback logs. Imports no Dagster or MLflow: the CLI's fast rollback uses it.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bento.admin_client import AdminClient, AdminError
from bento.prediction_log import read_jsonl_log
from bento.state import admin_token, read_state, server_url, set_routing_offline, tag_version
from data.home import HomeLayout
from evaluation.rollout.controller import RouterDown


@dataclass(frozen=True)
class HomeRouter:
    home: Path
    client: AdminClient | None  # None: no service of this home is running

    @classmethod
    def of(cls, home: Path, url: str = "", timeout: float = 10.0) -> "HomeRouter":
        """The service at `url`, or the one `driftwise serve --detach` started for `home`."""
        url = url or server_url(home) or ""
        return cls(home, AdminClient(url, admin_token(home), timeout) if url else None)

    def _admin(self) -> AdminClient:
        if self.client is None:
            raise RouterDown("no service of this home is running")
        return self.client

    def load(self, version: str, role: str) -> dict[str, Any]:
        try:
            return self._admin().load(version, role)
        except AdminError as exc:
            raise RouterDown(str(exc)) from exc

    def set_routing(self, mode: str, weight: float = 0.0) -> float:
        try:
            return self._admin().set_routing(mode, weight)
        except AdminError as exc:
            raise RouterDown(str(exc)) from exc

    def force_off(self) -> None:
        try:
            self.set_routing("off", 0.0)
        except RouterDown:
            set_routing_offline(self.home, "off", 0.0)  # the service restarts from this

    def served_versions(self) -> tuple[str | None, str | None]:
        state = read_state(self.home)
        return tag_version(state.champion), tag_version(state.previous)

    def roles(self) -> dict[str, Any] | None:
        try:
            return self._admin().roles()
        except (RouterDown, AdminError):
            return None

    def logs(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        layout = HomeLayout(self.home)
        return read_jsonl_log(layout.prediction_log).frame, read_jsonl_log(layout.feedback).frame


def running_router(home: Path, url: str = "", timeout: float = 10.0) -> HomeRouter | None:
    """The router of a service that runs, or None: an operator's move with no service
    running is the registry's alone (the next service start serves what it names)."""
    router = HomeRouter.of(home, url, timeout)
    return router if router.client is not None else None
