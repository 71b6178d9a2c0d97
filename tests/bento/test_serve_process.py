"""A real `bentoml serve bento.service:Driftwise` process (arbiter, front, batched worker)
started the way `driftwise serve --detach` starts it (orchestration/cli/serve.py), on the
TREC models of tests/bento/conftest.py promoted to champion in the real embedded MLflow.
Checks: /readyz, concurrent /classify all answered (texts of different requests batched in
the worker), a hostile body is a 4xx on the real server, /metrics carries our series, the
pid-file stop frees the port."""

import json
import socket
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from bento.state import ServingState, write_state
from data.schema import DatasetSpec
from models.model_registry import promote
from orchestration.cli.serve import (
    classify,
    port_free,
    prepare_serving,
    start_background,
    stop_background,
)
from orchestration.settings import DriftwiseSettings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.integration
def test_bentoml_serve_answers_batches_and_stops(served):
    promote(served.tracking, served.name, "1")  # type: ignore[arg-type]
    settings = DriftwiseSettings(home=served.home, dataset=DatasetSpec(name="trec", labels=None))
    state = prepare_serving(settings)
    assert state.champion == served.tags["1"]
    write_state(served.home, ServingState(champion=state.champion))  # no other test's split
    port = _free_port()
    url = start_background(settings, port=port, timeout=180)
    try:
        texts = served.questions["text"].head(96).tolist()
        with ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(lambda t: classify(url, [t]), texts))
        assert all(a["model_version"] == "1" for a in answers)
        labels = {a["predictions"][0]["label"] for a in answers}
        assert labels <= {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"} and len(labels) > 1

        bad = urllib.request.Request(
            f"{url}/classify", data=b"\xff{", headers={"content-type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bad, timeout=10)
        assert refused.value.code == 400

        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        assert 'driftwise_requests_total{arm="champion",model_version="1",outcome="ok"}' in metrics

        def value(series: str) -> float:
            (line,) = [x for x in metrics.splitlines() if x.startswith(series)]
            return float(line.rsplit(" ", 1)[1])

        # The worker's series reach the front's /metrics (BentoML aggregates its processes):
        # 96 concurrent one-text requests (+ the warm-up) ran in far fewer forwards.
        forwards = value('driftwise_worker_batch_texts_count{tier="accurate"}')
        assert value('driftwise_worker_batch_texts_sum{tier="accurate"}') == 97
        assert forwards < 97 / 2
    finally:
        assert stop_background(settings)
    assert port_free("127.0.0.1", port)
    assert json.loads((served.home / "serving" / "state.json").read_text())["champion"]
