"""Micro-batching in the serving process: texts of concurrent requests share one forward.

Why our own and not BentoML's adaptive batcher (issue 28): that batcher learns a wait from
past batches and, after a burst, kept a lone request waiting ~80-240 ms for company that
never came (measured: 14 ms before a 32-client burst, 93 ms 35 s after it). It also needs
a second process (front -> worker over HTTP), which cost more than the forward on 2 cores.

The rule here has no clock: one forward thread; when it is free it takes *everything* queued
(up to `max_batch` texts per model and tier) and runs it. An idle request therefore runs at
once (its latency is one forward), and under load the queue that builds while a forward runs
is the next batch - batches grow with load and shrink when it ends, with nothing to unlearn.

Past `max_queue` queued texts a new request is refused at once (`Overloaded`: the service
answers 503 + Retry-After) instead of queueing without bound.
"""

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

# (model key, tier, texts) -> probabilities [n, classes]; runs in the forward thread.
Forward = Callable[[str, str, list[str]], np.ndarray]


class Overloaded(RuntimeError):
    """The queue is full: shed the request (503), it never reaches a model."""


@dataclass
class _Pending:
    key: str
    tier: str
    texts: list[str]
    future: asyncio.Future[tuple[np.ndarray, np.ndarray]]


@dataclass
class BatchStats:
    forwards: int = 0
    texts: int = 0


class Batcher:
    def __init__(
        self,
        forward: Forward,
        max_batch: int = 64,
        max_queue: int = 1024,
        on_forward: Callable[[str, str, int, float], None] | None = None,
    ) -> None:
        """`on_forward(key, tier, n_texts, cpu_seconds)` is called after each forward (metrics)."""
        self.forward = forward
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.on_forward = on_forward
        self.stats = BatchStats()
        self._queue: list[_Pending] = []
        self._queued_texts = 0
        self._wake: asyncio.Event | None = None
        self._runner: asyncio.Task[None] | None = None
        # One thread: forwards never overlap (each already uses every core through torch /
        # onnxruntime's own threads; two at once would only fight over them).
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="forward")

    @property
    def queued_texts(self) -> int:
        return self._queued_texts

    async def score(
        self, key: str, tier: str, texts: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities [n, classes] and each text's share of its forward's CPU seconds."""
        if self._queued_texts + len(texts) > self.max_queue:
            raise Overloaded(f"{self._queued_texts} texts queued (bound {self.max_queue})")
        loop = asyncio.get_running_loop()
        if self._runner is None or self._runner.done():
            self._wake = asyncio.Event()
            self._runner = loop.create_task(self._run(), name="batcher")
        pending = _Pending(key, tier, list(texts), loop.create_future())
        self._queue.append(pending)
        self._queued_texts += len(pending.texts)
        assert self._wake is not None
        self._wake.set()
        return await pending.future

    def _take(self) -> list[tuple[str, str, list[_Pending]]]:
        """Everything queued, grouped by (model, tier), each group at most max_batch texts
        (a request larger than that still goes whole: its texts are not split)."""
        groups: dict[tuple[str, str], list[_Pending]] = defaultdict(list)
        sizes: dict[tuple[str, str], int] = defaultdict(int)
        left: list[_Pending] = []
        for p in self._queue:
            g = (p.key, p.tier)
            if groups[g] and sizes[g] + len(p.texts) > self.max_batch:
                left.append(p)  # next round, in arrival order
                continue
            groups[g].append(p)
            sizes[g] += len(p.texts)
        self._queue = left
        return [(k, t, ps) for (k, t), ps in groups.items() if ps]

    async def _run(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            for key, tier, batch in self._take():
                texts = [t for p in batch for t in p.texts]
                try:
                    probs, cpu = await loop.run_in_executor(
                        self._thread, self._timed, key, tier, texts
                    )
                except Exception as exc:  # the batch's requests fail; the loop goes on
                    for p in batch:
                        if not p.future.done():
                            p.future.set_exception(exc)
                    continue
                finally:
                    self._queued_texts -= len(texts)
                self.stats.forwards += 1
                self.stats.texts += len(texts)
                if self.on_forward is not None:
                    self.on_forward(key, tier, len(texts), cpu)
                share = np.full(len(texts), cpu / len(texts))
                start = 0
                for p in batch:
                    end = start + len(p.texts)
                    if not p.future.done():  # a cancelled request's answer is dropped
                        p.future.set_result((probs[start:end], share[start:end]))
                    start = end

    def _timed(self, key: str, tier: str, texts: list[str]) -> tuple[np.ndarray, float]:
        # process_time: the CPU of every thread of the process during the forward (the
        # model's own thread pool included; the event loop's share is small next to it).
        cpu = time.process_time()
        probs = np.asarray(self.forward(key, tier, texts), dtype=np.float32)
        if probs.shape[0] != len(texts):
            raise RuntimeError(f"{key}/{tier} returned {probs.shape[0]} rows for {len(texts)}")
        return probs, time.process_time() - cpu

    def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
        self._thread.shutdown(wait=False, cancel_futures=True)
