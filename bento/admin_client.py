"""A client of the service's admin endpoints (bento/service.py), for the rollout sensor and
the operator CLI: what is served, the traffic split, which version holds which role
(orchestration/router.py wraps it as the rollout controller's router)."""

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


class AdminError(RuntimeError):
    """The service refused or could not be reached; `status` 0 = unreachable."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"admin call failed ({status or 'unreachable'}): {message}")
        self.status = status


@dataclass(frozen=True)
class AdminClient:
    url: str
    token: str
    timeout: float = 10.0

    def _post(
        self, route: str, body: dict[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}{route}",
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json", "authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            raise AdminError(exc.code, exc.read().decode(errors="replace")[:500]) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise AdminError(0, str(exc)) from exc

    def state(self) -> dict[str, Any]:
        return self._post("/admin/state", {})

    def set_routing(self, mode: str, weight: float = 0.0) -> float:
        """Apply a traffic split; returns the seconds the call took (the flip time)."""
        started = time.perf_counter()
        self._post("/admin/routing", {"mode": mode, "challenger_weight": weight})
        return time.perf_counter() - started

    def load(self, version: str, role: str) -> dict[str, Any]:
        # Loading reads and warms a model in the worker (an ONNX export the first time).
        return self._post("/admin/load", {"version": str(version), "role": role}, timeout=300)

    def roles(self) -> dict[str, Any]:
        """{champion_version, challenger_version, mode, weight} as the service reports them."""
        state = self.state()
        models = state.get("models") or {}
        routing = (state.get("state") or {}).get("routing") or {}
        return {
            "champion_version": (models.get("champion") or {}).get("version"),
            "challenger_version": (models.get("challenger") or {}).get("version"),
            "mode": routing.get("mode"),
            "weight": routing.get("challenger_weight"),
        }
