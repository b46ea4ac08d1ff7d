"""Objects alive when a long operation starts stay out of full collections until the
last such operation ends, and are handed back to the collector after it."""

from __future__ import annotations

import gc
import threading

from memorygraph.heap import long_lived_frozen


def test_objects_are_frozen_while_any_operation_runs_and_handed_back_after() -> None:
    gc.unfreeze()
    kept = [object() for _ in range(10)]
    assert gc.get_freeze_count() == 0
    with long_lived_frozen():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with long_lived_frozen():  # a second operation at the same time
            assert gc.get_freeze_count() >= frozen
        assert gc.get_freeze_count() >= frozen, "the first operation is still running"
    assert gc.get_freeze_count() == 0
    assert len(kept) == 10


def test_operations_in_threads_share_one_freeze() -> None:
    gc.unfreeze()
    inside = threading.Event()
    release = threading.Event()

    def operation() -> None:
        with long_lived_frozen():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=operation)
    worker.start()
    assert inside.wait(5)
    with long_lived_frozen():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() > 0, "the thread's operation still runs"
    release.set()
    worker.join(5)
    assert gc.get_freeze_count() == 0
