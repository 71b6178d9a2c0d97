"""A real `bentoml serve bento.service:Driftwise` process (arbiter + one service process
with the batcher) started the way `driftwise serve --detach` starts it
(orchestration/cli/serve.py), on the TREC models of tests/served_models.py promoted to
champion in the real embedded MLflow. Checks: /readyz, concurrent /classify all answered
(texts of different requests batched into shared forwards), a lone request's latency after
a burst back within 2x of its latency before it within seconds (relative, same run: no learned
wait left behind), a hostile body is a 4xx on the real server and an oversized declared body is
a 413 before it is sent, /metrics carries our series with cost per model version and BentoML's
with the model version, the pid-file stop frees the port."""

import json
import socket
import statistics
import time
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
        # BentoML's own series carry the model version too (bento/state.py: deployment_version),
        # from the first request on (BentoML pre-creates zero series at start, before us)
        counted = [
            x
            for x in metrics.splitlines()
            if x.startswith("bentoml_service_request_total{") and not x.endswith(" 0.0")
        ]
        assert counted and all('service_version="1"' in x for x in counted), counted
        assert (
            'bentoml_service_request_total{endpoint="/classify",http_response_code="200",'
            'runner_name="driftwise",service_name="driftwise",service_version="1"}'
        ) in metrics

        def value(series: str) -> float:
            (line,) = [x for x in metrics.splitlines() if x.startswith(series)]
            return float(line.rsplit(" ", 1)[1])

        # 96 concurrent one-text requests (+ the warm-up) ran in far fewer forwards.
        forwards = value('driftwise_batch_texts_count{tier="accurate"}')
        assert value('driftwise_batch_texts_sum{tier="accurate"}') == 97
        assert forwards < 97 / 2
        cost = value('driftwise_cost_units_total{model_version="1",tier="accurate"}')
        per_1k = value('driftwise_cost_units_per_1k_predictions{model_version="1"}')
        assert cost > 0 and per_1k > 0

        # A declared body over the limit is refused before the client sends it.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000000\r\n\r\n"
            )
            head = sock.recv(4096).decode()
        assert head.startswith("HTTP/1.1 413")

        # Latency recovers after a burst: lone requests (fresh texts, no cache) before and
        # after 32 clients for 4 s, compared within this run.
        fresh = iter(served.questions["text"].iloc[96:].tolist() * 50)

        def lone(n: int) -> float:
            took = []
            for i in range(n):
                started = time.perf_counter()
                classify(url, [f"{next(fresh)} #{i}"])
                took.append(time.perf_counter() - started)
            # The lower quartile: a learned wait delays every request (the bug measured ~200 ms
            # on each), while load from other processes on a shared CI machine (test-prod
            # beside `make test`) adds delay to some; medians there read 17 -> 35-40 ms.
            return statistics.quantiles(took, n=4)[0]

        before = lone(20)
        burst_until = time.monotonic() + 4

        def client(seed: int) -> int:
            n = 0
            while time.monotonic() < burst_until:
                classify(url, [f"burst {seed} {n} {next(fresh)}"])
                n += 1
            return n

        with ThreadPoolExecutor(32) as pool:
            burst = sum(pool.map(client, range(32)))
        # "Within seconds": the better of two windows, 1 s and ~4 s after. A learned wait
        # left behind lasts minutes (the bug this guards), so it fails both.
        time.sleep(1)
        windows = [lone(20)]
        time.sleep(2)
        windows.append(lone(20))
        after = min(windows)
        assert burst > 32
        assert after <= 2 * before, (
            f"lone request {before * 1000:.1f} ms before, "
            f"{' / '.join(f'{w * 1000:.1f}' for w in windows)} ms after"
        )
    finally:
        assert stop_background(settings)
    assert port_free("127.0.0.1", port)
    assert json.loads((served.home / "serving" / "state.json").read_text())["champion"]
