"""A small client of Label Studio's HTTP API: only the calls the label loop makes.

Auth is the API token `driftwise label up` created at the server's first start
(`Authorization: Token ...`, enabled for its organisation at creation). Any connection
failure is `AnnotationServerDown`, so callers can wait and retry instead of losing work.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from evaluation.review.tasks import FROM_NAME, TO_NAME


class AnnotationServerDown(RuntimeError):
    """The server could not be reached (or answered 5xx): nothing was changed by this call."""


class AnnotationServerError(RuntimeError):
    """The server refused a call (4xx): a bug or a misconfiguration, not a wait."""


@dataclass(frozen=True)
class LabelStudioClient:
    url: str
    token: str
    timeout: float = 30.0

    def _call(self, method: str, route: str, body: Any = None, **query: Any) -> Any:
        target = f"{self.url.rstrip('/')}{route}"
        if query:
            target += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(
            target,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"content-type": "application/json", "authorization": f"Token {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            if exc.code >= 500:
                raise AnnotationServerDown(f"{method} {route}: {exc.code} {detail}") from exc
            raise AnnotationServerError(f"{method} {route}: {exc.code} {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise AnnotationServerDown(f"{self.url} unreachable: {exc}") from exc
        return json.loads(raw) if raw else None

    def healthy(self) -> bool:
        try:
            return bool(self._call("GET", "/health"))
        except (AnnotationServerDown, AnnotationServerError):
            return False

    def _project(self, title: str) -> dict[str, Any] | None:
        found = self._call("GET", "/api/projects", title=title, page_size=1000)
        for project in found.get("results", []) if isinstance(found, dict) else found:
            if project.get("title") == title:
                return dict(project)
        return None

    def project_id(self, title: str) -> int | None:
        project = self._project(title)
        return None if project is None else int(project["id"])

    def ensure_project(self, title: str, label_config: str) -> int:
        """The project named `title` (created with `label_config` when missing; an existing
        one gets the current interface, so a label added to the contract appears)."""
        project = self._project(title)
        if project is None:
            body = {"title": title, "label_config": label_config}
            return int(self._call("POST", "/api/projects", body)["id"])
        if project.get("label_config") != label_config:
            route = f"/api/projects/{project['id']}"
            self._call("PATCH", route, {"label_config": label_config})
        return int(project["id"])

    def tasks(self, project: int, annotated_only: bool) -> list[dict[str, Any]]:
        """Every task (or every task with an annotation) as Label Studio's JSON export."""
        return list(
            self._call(
                "GET",
                f"/api/projects/{project}/export",
                exportType="JSON",
                download_all_tasks="false" if annotated_only else "true",
            )
        )

    def import_tasks(self, project: int, tasks: list[dict[str, Any]]) -> list[int]:
        if not tasks:
            return []
        done = self._call("POST", f"/api/projects/{project}/import", tasks, return_task_ids="true")
        return [int(i) for i in done.get("task_ids", [])]

    def annotate(self, task: int, label: str) -> int:
        """Submit one choice on a task, as a person's client does (tests, demos)."""
        value = {"choices": [label]}
        result = [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices", "value": value}]
        return int(self._call("POST", f"/api/tasks/{task}/annotations", {"result": result})["id"])
