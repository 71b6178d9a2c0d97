"""The annotation UI a reviewer opens: a real Label Studio (`LabelStudioServer.up`, the venv
`driftwise label up` installs under the README's home), a project and two tasks made the way
the label loop makes them (`evaluation/review/tasks.py`: interface from the labels, the
model's answer pre-filled), then Debian's Chromium driven by Playwright logs in with the
home's generated credentials and opens a task. Asserted from the rendered page: the task's
text, both label choices, the reason the item was queued, and the model's answer ticked. Screenshot:
test-artifacts/ui/label-studio-task.png.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from evaluation.review.tasks import label_config, to_tasks
from orchestration.annotation.server import LabelStudioServer
from tests.conftest import free_port
from tests.integration.conftest import ARTIFACTS
from tests.integration.test_ui_browser import CHROMIUM_ARGS

pytestmark = [pytest.mark.prod, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
TEXT = "The plot twist at the end was not what anyone in the cinema expected"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioServer]:
    root = tmp_path_factory.mktemp("ls") / "label-studio"
    venv = REPO / ".driftwise" / "label-studio" / "venv"
    server = LabelStudioServer(root, free_port(), venv=venv)
    server.up(timeout=600)
    yield server
    server.down()


def test_a_reviewer_opens_a_task_with_the_models_answer(server: LabelStudioServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    client = server.client()
    project = client.ensure_project("driftwise-ui", label_config(["negative", "positive"]))
    queue = pd.DataFrame(
        [
            {
                "review_key": f"k{i}",
                "text": f"{TEXT} ({i})",
                "predicted_label": "positive",
                "confidence": 0.55,
                "model_version": "2",
                "reason": "low_confidence",
                "inclusion_probability": 1.0,
            }
            for i in range(2)
        ]
    )
    task_ids = client.import_tasks(project, to_tasks(queue))
    password = (server.root / "password").read_text().strip()
    shots = ARTIFACTS / "ui"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.goto(f"{server.url}/user/login/")
        page.fill("input[name=email]", "driftwise@localhost")
        page.fill("input[name=password]", password)
        page.locator("button[type=submit], input[type=submit]").first.click()
        page.wait_for_url(lambda url: "/user/login" not in url, timeout=60_000)
        page.goto(f"{server.url}/projects/{project}/data?task={task_ids[0]}")
        expect(page.get_by_text(f"{TEXT} (0)").first).to_be_visible(timeout=90_000)
        for i, label in enumerate(("negative", "positive"), start=1):
            choice = page.get_by_text(re.compile(rf"^{label}\W*{i}\W*$"))  # "negative[1]": hotkey
            expect(choice.first).to_be_visible(timeout=30_000)
        expect(page.get_by_text("why here: low_confidence").first).to_be_visible(timeout=30_000)
        # the model's answer is the pre-annotation: its choice comes ticked
        expect(page.get_by_role("checkbox", checked=True).first).to_be_visible(timeout=30_000)
        path = shots / "label-studio-task.png"
        page.screenshot(path=str(path), full_page=True)
        browser.close()
    assert path.stat().st_size > 10_000
