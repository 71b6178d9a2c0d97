"""A bounded LRU cache of predictions, keyed by model version + tier policy + normalised text.

The model version is part of the key, so a promoted or rolled-back model never serves an
answer another version computed; the text is normalised the way ingestion defines identity
(data.schema.normalise_text), so "Great film!" and "great  film!" share an entry.
"""

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

from data.schema import row_id

V = TypeVar("V")


class PredictionCache(Generic[V]):
    """Thread-safe LRU with hit/miss counters; `max_entries=0` disables it."""

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must be >= 0")
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[str, str], V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key(model_key: str, text: str) -> tuple[str, str]:
        return model_key, row_id(text)

    def get(self, model_key: str, text: str) -> V | None:
        k = self.key(model_key, text)
        with self._lock:
            value = self._items.get(k)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(k)
            self.hits += 1
            return value

    def put(self, model_key: str, text: str, value: V) -> None:
        if not self.max_entries:
            return
        k = self.key(model_key, text)
        with self._lock:
            self._items[k] = value
            self._items.move_to_end(k)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
