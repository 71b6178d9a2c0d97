"""The replay client's pacing (orchestration/cli/replay.py), against a stdlib HTTP endpoint that
answers /classify and /feedback in the service's shape and records when each request came.

Only the client is under test here: the real `bentoml serve` behind it is exercised by
tests/bento/test_canary_process.py and the `make run` loop (tests/orchestration/cli).
"""

import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pandas as pd
import pytest

from orchestration.cli.replay import Replay


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[float, str]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        _Recorder.seen.append((time.monotonic(), self.path))
        answer = {"arm": "champion", "model_version": "1", "request_id": uuid.uuid4().hex}
        if self.path == "/classify":
            assert body["texts"] and body["key"]
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


ROWS = pd.DataFrame({"text": ["a question", "another one", "a third"], "label": ["x", "y", "x"]})


def test_rate_caps_all_clients_together(endpoint: str) -> None:
    """At 20 requests/s, four clients together never exceed the schedule: consecutive
    /classify requests are >= 1/20 s apart on average, and their count over the window
    is at most rate x window + 1 (the first slot is immediate)."""
    replay = Replay(endpoint, ROWS, threads=4, feedback_share=0.0, rate=20.0)
    started = time.monotonic()
    replay.start()
    time.sleep(1.5)
    stats = replay.stop()
    window = time.monotonic() - started
    classify = [t for t, path in _Recorder.seen if path == "/classify"]
    assert stats.requests == len(classify) >= 3
    assert len(classify) <= 20.0 * window + 1
    gaps = [b - a for a, b in itertools.pairwise(classify)]
    assert sum(gaps) / len(gaps) >= 1 / 20.0 * 0.9  # scheduler jitter, never faster on average


def test_set_rate_lifts_and_restores_the_cap(endpoint: str) -> None:
    """A cap of 2/s lets a handful through; lifted (None), the same clients send many more
    in the same time; invalid rates are refused."""
    replay = Replay(endpoint, ROWS, threads=2, feedback_share=0.0, rate=2.0).start()
    time.sleep(1.0)
    capped = replay.stats.requests
    replay.set_rate(None)
    time.sleep(1.0)
    stats = replay.stop()
    assert capped <= 2.0 * 1.5 + 1
    assert stats.requests - capped > capped
    with pytest.raises(ValueError, match="rate must be positive"):
        replay.set_rate(0)
    with pytest.raises(ValueError, match="rate must be positive"):
        Replay(endpoint, ROWS, rate=-1.0)


def test_feedback_follows_its_request_after_the_delay(endpoint: str) -> None:
    """With feedback for every request and a 0.2 s delay, /feedback posts arrive, each after
    at least one /classify, and the stats count them."""
    replay = Replay(
        endpoint, ROWS, threads=1, feedback_share=1.0, feedback_delay_s=0.2, rate=10.0
    ).start()
    time.sleep(1.5)
    stats = replay.stop()
    paths = [path for _, path in _Recorder.seen]
    assert stats.feedback >= 1 and paths.count("/feedback") == stats.feedback
    assert paths[0] == "/classify"
