"""bento/batcher.py with a stand-in forward (a function of the texts, timed by events): idle
requests run at once, requests that arrive during a forward share the next one, the batch
and queue bounds hold, a failing forward fails only its own requests, the CPU share is
split over a forward's texts."""

import asyncio
import threading

import numpy as np
import pytest

from bento.batcher import Batcher, Overloaded


class Forward:
    """Records each call's (key, tier, texts); blocks while `gate` is clear."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[str]]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail_on: str | None = None

    def __call__(self, key: str, tier: str, texts: list[str]) -> np.ndarray:
        self.gate.wait(5)
        self.calls.append((key, tier, list(texts)))
        if self.fail_on in texts:
            raise RuntimeError("model broke")
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def run(coro):
    return asyncio.run(coro)


def test_an_idle_request_is_its_own_forward_at_once():
    forward = Forward()

    async def main():
        batcher = Batcher(forward)
        probs, cpu = await batcher.score("m:v1", "fast", ["abc"])
        batcher.close()
        return probs, cpu

    probs, cpu = run(main())
    assert forward.calls == [("m:v1", "fast", ["abc"])]
    assert probs.tolist() == [[3.0, 1.0]] and cpu.shape == (1,)


def test_requests_arriving_during_a_forward_share_the_next_one():
    forward = Forward()

    async def main():
        batcher = Batcher(forward, max_batch=8)
        forward.gate.clear()
        first = asyncio.ensure_future(batcher.score("m:v1", "fast", ["a"]))
        await asyncio.sleep(0.05)  # the first forward is running (blocked)
        rest = [
            asyncio.ensure_future(batcher.score("m:v1", "fast", [f"t{i}", "x"])) for i in range(6)
        ]
        other_tier = asyncio.ensure_future(batcher.score("m:v1", "accurate", ["y"]))
        await asyncio.sleep(0.05)
        forward.gate.set()
        results = await asyncio.gather(first, *rest, other_tier)
        batcher.close()
        return results, batcher.stats

    results, stats = run(main())
    sizes = [len(texts) for _, _, texts in forward.calls]
    # 1 alone, then 12 texts of the same tier split at max_batch=8 (whole requests), the
    # other tier its own forward
    assert forward.calls[0][2] == ["a"]
    assert sorted(sizes[1:]) == [1, 4, 8] and stats.forwards == 4 and stats.texts == 14
    for r, (probs, _) in zip(range(1, 7), results[1:7], strict=True):
        assert probs.tolist() == [[2.0, 1.0], [1.0, 1.0]], r
    assert results[7][0].tolist() == [[1.0, 1.0]]


def test_past_the_queue_bound_a_request_is_refused_at_once():
    forward = Forward()

    async def main():
        batcher = Batcher(forward, max_batch=4, max_queue=5)
        forward.gate.clear()
        running = asyncio.ensure_future(batcher.score("m", "fast", ["a", "b", "c"]))
        await asyncio.sleep(0.05)
        with pytest.raises(Overloaded):
            await batcher.score("m", "fast", ["d", "e", "f"])  # 3 + 3 > 5
        waiting = asyncio.ensure_future(batcher.score("m", "fast", ["g", "h"]))
        forward.gate.set()
        await asyncio.gather(running, waiting)
        assert batcher.queued_texts == 0
        batcher.close()

    run(main())


def test_a_failing_forward_fails_only_its_requests():
    forward = Forward()
    forward.fail_on = "boom"

    async def main():
        batcher = Batcher(forward)
        with pytest.raises(RuntimeError, match="model broke"):
            await batcher.score("m", "fast", ["boom"])
        probs, _ = await batcher.score("m", "fast", ["fine"])
        batcher.close()
        return probs

    assert run(main()).tolist() == [[4.0, 1.0]]


def test_the_forward_cpu_is_shared_over_its_texts_and_reported():
    seen = []

    def busy(key, tier, texts):
        sum(i * i for i in range(300_000))  # real CPU, so process_time moves
        return np.ones((len(texts), 2))

    async def main():
        batcher = Batcher(busy, on_forward=lambda *a: seen.append(a))
        _, cpu = await batcher.score("m", "fast", ["a", "b", "c", "d"])
        batcher.close()
        return cpu

    cpu = run(main())
    ((key, tier, n, total),) = seen
    assert (key, tier, n) == ("m", "fast", 4) and total > 0
    assert np.allclose(cpu, total / 4)
