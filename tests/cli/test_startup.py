"""What the command does before any command runs: loading only what it needs."""

from __future__ import annotations

import gc
import subprocess
import sys

import memorygraph
from memorygraph.cli.startup import collection_paused


def test_collection_is_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    frozen_before = gc.get_freeze_count()
    try:
        with collection_paused():
            assert not gc.isenabled()
            kept = [object() for _ in range(10)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen_before + len(kept)
    finally:
        gc.unfreeze()


def test_a_paused_collector_stays_paused() -> None:
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def test_importing_the_package_loads_none_of_its_modules() -> None:
    code = (
        "import sys, memorygraph\n"
        "print(sorted(m for m in sys.modules if m.startswith('memorygraph.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_every_public_name_resolves() -> None:
    for name in memorygraph.__all__:
        assert getattr(memorygraph, name) is not None, name
