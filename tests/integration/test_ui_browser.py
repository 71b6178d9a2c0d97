"""The two web UIs a person opens, in Debian's Chromium driven by Playwright (no browser
download), over the home where conftest.py's `prod_make_run` ran what `make run` runs - on the
prod profile, so the UIs read the Postgres-backed instance and the MLflow server:

- the Dagster UI (`python -m orchestration.cli.launch_ui`, what `make dagster` starts): the
  asset lineage with our asset names; the latest `promotion_decision` materialisation (the
  drift retrain's challenger v2 against champion v1: verdict, reasons table, the Plots tab
  drawing its numbers across both decisions); `canary_result` with the canary's timeline;
  the drift sensor's ticks, one of which requested the retrain;
- the MLflow UI of the tracking server: the registered model page with its aliases
  (@champion on the promoted version, @previous on the one before).

Screenshots go to test-artifacts/ui/ (kept by CI). What is asserted is what a person looks
for on each page, read from the rendered page, not from the API behind it.
"""

import contextlib
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

from tests.integration.conftest import ARTIFACTS, ProdLoop

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
# Tick history pages the drift-sensor test may look back through for the retrain tick.
MAX_TICK_PAGES = 30


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def dagster_ui(prod_make_run: ProdLoop) -> Iterator[str]:
    port = _port()
    home = prod_make_run.home
    log = (home / "logs" / "dagster-ui.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli.launch_ui", "--port", str(port)],
        cwd=prod_make_run.checkout,  # its env's PYTHONPATH: the checkout's code
        env=dict(prod_make_run.env, DAGSTER_HOME=str(home / "dagster")),
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
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(url)
    page.wait_for_load_state("networkidle")
    # "Join the Dagster community" covers the page once per browser profile, a moment after
    # the page settles: skip it when it comes.
    with contextlib.suppress(PlaywrightTimeout):
        page.get_by_role("button", name="Skip").click(timeout=5_000)


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
    expect(page.get_by_text("driftwise-sentiment v2", exact=True).first).to_be_visible()
    _shot(page, "dagster-promotion-decision")
    # The reasons table (markdown metadata) opens in a dialog: one row per rule.
    page.get_by_text("[Show Markdown]").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("table")).to_be_visible(timeout=30_000)
    expect(dialog.get_by_text("macro_f1", exact=False).first).to_be_visible()
    # Against a champion the gate adds paired rules: non-inferiority, McNemar, slice harm.
    expect(dialog.get_by_text("macro_f1_non_inferiority", exact=True).first).to_be_visible()
    expect(dialog.get_by_text("mcnemar", exact=True).first).to_be_visible()
    assert dialog.locator("tr").count() >= 10
    _shot(page, "dagster-promotion-reasons")
    page.keyboard.press("Escape")
    # Plots: Dagster draws every numeric metadata entry across materialisations (2 here).
    page.get_by_role("button", name="Plots").first.click()
    for key in ("challenger_golden_macro_f1", "champion_golden_macro_f1"):
        expect(page.get_by_text(key).first).to_be_visible(timeout=30_000)
    expect(page.locator("canvas").first).to_be_visible(timeout=30_000)
    assert page.locator("canvas").count() >= 2
    _shot(page, "dagster-promotion-plots")


def test_canary_result_shows_the_promotion_and_its_timeline(  # type: ignore[no-untyped-def]
    dagster_ui: str, page
) -> None:
    from playwright.sync_api import expect

    _open(page, f"{dagster_ui}/assets/canary_result")
    expect(page.get_by_text("promoted", exact=True).first).to_be_visible(timeout=60_000)
    timeline = page.locator("table").filter(has_text="shadow")
    expect(timeline.first).to_be_visible(timeout=30_000)
    for stage in ("10%", "50%", "100%"):
        expect(timeline.first.get_by_text(stage, exact=True).first).to_be_visible()
    expect(timeline.first.get_by_text("promote", exact=True).first).to_be_visible()
    _shot(page, "dagster-canary-result")


def test_drift_sensor_ticks_show_the_retrain_it_requested(  # type: ignore[no-untyped-def]
    dagster_ui: str, page
) -> None:
    from playwright.sync_api import expect

    _open(page, f"{dagster_ui}/locations/{LOCATION}/sensors/drift_sensor")
    expect(page.get_by_text("drift_sensor").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Latest tick").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("0 runs requested").first).to_be_visible(timeout=60_000)
    # Every tick is listed, newest first, a page at a time; the one that saw the tweets' drift
    # report started the retrain. The sensor keeps ticking after it, so on a slow machine that
    # tick can sit a few pages back: page through "Older" until it shows.
    requested = page.get_by_text("1 run requested").first
    older = page.get_by_role("button", name="Older")
    for _ in range(MAX_TICK_PAGES):
        if requested.is_visible():
            break
        if not older.is_enabled():
            break
        older.click()
        page.wait_for_load_state("networkidle")
        expect(page.get_by_text(re.compile(r"\d+ runs? requested")).first).to_be_visible(
            timeout=30_000
        )
    expect(requested).to_be_visible(timeout=30_000)
    _shot(page, "dagster-drift-sensor-ticks")


def test_mlflow_model_page_shows_the_aliases(  # type: ignore[no-untyped-def]
    prod_make_run: ProdLoop, page
) -> None:
    from playwright.sync_api import expect

    # The MLflow UI polls: no "network idle" to wait for; the expectations wait instead.
    page.goto(f"{prod_make_run.env['MLFLOW_TRACKING_URI']}/#/models/driftwise-sentiment")
    expect(page.get_by_text("driftwise-sentiment").first).to_be_visible(timeout=60_000)
    for version in ("Version 1", "Version 2"):
        expect(page.get_by_text(version, exact=True).first).to_be_visible(timeout=60_000)
    # The Aliases column: @champion moved to v2 by the canary, @previous kept on v1.
    for alias in ("champion", "previous"):
        chip = page.get_by_text(re.compile(rf"^@\s*{alias}$")).first
        expect(chip).to_be_visible(timeout=60_000)
    _shot(page, "mlflow-model-page")
