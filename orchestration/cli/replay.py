"""Replayed live traffic for `make run`: a new domain's texts sent to the real service by a
few client threads, each request with its own routing key, and the true label posted back
for a share of them after a delay (feedback arrives late in real life too).

The texts are the golden set's rows of that domain: neither model trained on them, so the
canary's per-arm accuracy on feedback is an honest comparison.
"""

import heapq
import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd


def _post(url: str, body: dict, timeout: float = 30.0) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return dict(json.loads(response.read()))


@dataclass
class ReplayStats:
    requests: int = 0
    failed: int = 0
    feedback: int = 0
    arms: Counter = field(default_factory=Counter)
    versions: Counter = field(default_factory=Counter)


class Replay:
    """`threads` clients sending `rows` (text, label) in random order until stopped.

    `rate` caps the requests per second of all clients together (None: as fast as the service
    answers). Pacing matters on a small machine: unpaced, four clients kept a 2-core box busy
    answering ~200 requests a second, and a retrain running beside them took nearly twice as
    long (`make run`'s drift retrain: 451 s with 90k requests, 251 s paced at 5/s). Real
    traffic does not grow because a retrain started, so the demo paces it; `set_rate`
    changes it while running.
    """

    def __init__(
        self,
        url: str,
        rows: pd.DataFrame,
        threads: int = 4,
        feedback_share: float = 0.5,
        feedback_delay_s: float = 2.0,
        seed: int = 0,
        rate: float | None = None,
    ) -> None:
        if rows.empty:
            raise ValueError("nothing to replay")
        self.url, self.rows = url, rows.reset_index(drop=True)
        self.threads, self.feedback_share, self.delay = threads, feedback_share, feedback_delay_s
        self.stats = ReplayStats()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pending: list[tuple[float, str, str]] = []  # (due, request id, label)
        self._rng = random.Random(seed)
        self._workers: list[threading.Thread] = []
        self._rate: float | None = None
        self._next_slot = 0.0  # monotonic time of the next paced request (any client)
        self.set_rate(rate)

    def set_rate(self, rate: float | None) -> None:
        """Requests per second across all clients from now on; None removes the cap."""
        if rate is not None and not rate > 0:
            raise ValueError(f"rate must be positive or None; got {rate!r}")
        with self._lock:
            self._rate = rate
            self._next_slot = time.monotonic()

    def _pace(self) -> None:
        # One shared schedule: each request takes the next free slot, 1/rate after the last.
        with self._lock:
            if self._rate is None:
                return
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self._rate
        self._stop.wait(slot - now)

    def _client(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self._stop.is_set():
            self._pace()
            if self._stop.is_set():
                return
            row = self.rows.iloc[rng.randrange(len(self.rows))]
            try:
                answer = _post(
                    f"{self.url}/classify", {"texts": [str(row["text"])], "key": uuid.uuid4().hex}
                )
            except (urllib.error.URLError, OSError):
                with self._lock:
                    self.stats.failed += 1
                time.sleep(0.2)
                continue
            with self._lock:
                self.stats.requests += 1
                self.stats.arms[answer["arm"]] += 1
                self.stats.versions[answer["model_version"]] += 1
                if rng.random() < self.feedback_share:
                    due = time.monotonic() + self.delay
                    heapq.heappush(self._pending, (due, answer["request_id"], str(row["label"])))
            self._send_due()

    def _send_due(self) -> None:
        while True:
            with self._lock:
                if not self._pending or self._pending[0][0] > time.monotonic():
                    return
                _, request_id, label = heapq.heappop(self._pending)
            try:
                _post(f"{self.url}/feedback", {"request_id": request_id, "label": label})
                with self._lock:
                    self.stats.feedback += 1
            except (urllib.error.URLError, OSError):
                pass  # the service restarted and forgot the request: that feedback is lost

    def start(self) -> "Replay":
        for _ in range(self.threads):
            worker = threading.Thread(target=self._client, args=(self._rng.random(),), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> ReplayStats:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=60)
        return self.stats
