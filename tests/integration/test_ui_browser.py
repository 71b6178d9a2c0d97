"""The two web UIs a person opens, in Debian's Chromium driven by Playwright (no browser
download), over the home where conftest.py's `prod_loop` ran the loop on the prod profile:

- the Dagster UI (`python -m orchestration.cli.launch_ui`, what `make dagster` starts, on the
  Postgres-backed instance): the asset lineage with our asset names, the latest
  `promotion_decision` materialisation (verdict, challenger, the reasons table, the Plots tab
  drawing its numbers) and the landing sensor's ticks with the run it requested;
- the MLflow UI of the tracking server: the registered model page with its @champion alias.

Screenshots go to test-artifacts/ui/ (kept by CI). What is asserted is what a person looks
for on each page, read from the rendered page, not from the API behind it.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import ARTIFACTS, REPO, ProdLoop

pytestmark = [pytest.mark.prod, pytest.mark.integration, pytest.mark.slow]

SHOTS = ARTIFACTS / "ui"
# As root Chromium needs --no-sandbox; the rest keep it off this machine's closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCATION = "orchestration.definitions"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def dagster_ui(prod_loop: ProdLoop) -> Iterator[str]:
    port = _port()
    log = (prod_loop.home / "logs" / "dagster-ui.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli.launch_ui", "--port", str(port)],
        cwd=REPO,
        env=dict(prod_loop.env, DAGSTER_HOME=str(prod_loop.home / "dagster")),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, f"dagster dev exited; see {log.name}"
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the Dagster UI did not answer in 180 s"
                time.sleep(1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the launcher restored SIGINT: dev exits at once
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def page():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        yield context.new_page()
        browser.close()


def _open(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.wait_for_load_state("networkidle")
    skip = page.get_by_role("button", name="Skip")  # "Join the Dagster community", first visit
    if skip.count():
        skip.first.click()


def _shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    return path


def test_asset_lineage_shows_the_loop(dagster_ui: str, page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    _open(page, f"{dagster_ui}/locations/{LOCATION}/asset-groups/evaluation")
    graph = page.locator("[data-testid='asset-graph'], .react-flow, svg").first
    expect(graph).to_be_visible(timeout=60_000)
    for name in ("golden_evaluation", "reference_free_evaluation", "promotion_decision"):
        expect(page.get_by_text(name, exact=True).first).to_be_visible(timeout=60_000)
    _shot(page, "dagster-asset-graph-evaluation")


def test_promotion_decision_shows_its_verdict_reasons_and_plot(  # type: ignore[no-untyped-def]
    dagster_ui: str, page
) -> None:
    from playwright.sync_api import expect

    _open(page, f"{dagster_ui}/assets/promotion_decision")
    expect(page.get_by_text("Latest materialization").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("PROMOTE", exact=True).first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("driftwise-questions v1", exact=True).first).to_be_visible()
    _shot(page, "dagster-promotion-decision")
    # The reasons table (markdown metadata) opens in a dialog: one row per rule.
    page.get_by_text("[Show Markdown]").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("table")).to_be_visible(timeout=30_000)
    expect(dialog.get_by_text("macro_f1", exact=False).first).to_be_visible()
    assert dialog.locator("tr").count() >= 4  # header + floor rules + champion rule
    _shot(page, "dagster-promotion-reasons")
    page.keyboard.press("Escape")
    # Plots: Dagster draws every numeric metadata entry across materialisations.
    page.get_by_role("button", name="Plots").first.click()
    expect(page.get_by_text("challenger_golden_macro_f1").first).to_be_visible(timeout=30_000)
    expect(page.locator("canvas").first).to_be_visible(timeout=30_000)
    _shot(page, "dagster-promotion-plots")


def test_landing_sensor_ticks_show_the_run_it_requested(  # type: ignore[no-untyped-def]
    dagster_ui: str, page
) -> None:
    from playwright.sync_api import expect

    _open(page, f"{dagster_ui}/locations/{LOCATION}/sensors/new_batch_sensor")
    expect(page.get_by_text("new_batch_sensor").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("1 run requested").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("my_questions.csv").first).to_be_visible()  # the cursor
    _shot(page, "dagster-sensor-ticks")


def test_mlflow_model_page_shows_the_champion_alias(  # type: ignore[no-untyped-def]
    prod_loop: ProdLoop, page
) -> None:
    from playwright.sync_api import expect

    # The MLflow UI polls: no "network idle" to wait for; the expectations wait instead.
    page.goto(f"{prod_loop.env['MLFLOW_TRACKING_URI']}/#/models/driftwise-questions")
    expect(page.get_by_text("driftwise-questions").first).to_be_visible(timeout=60_000)
    # The Aliases column: "@ challenger" and "@ champion" chips on version 1.
    expect(page.get_by_text(re.compile(r"^@\s*champion$")).first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Version 1").first).to_be_visible()
    _shot(page, "mlflow-model-page")
