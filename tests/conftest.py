"""Test-wide settings. Engine fixtures (started once per session, stopped at the end even
when tests fail) live in tests/_servers/fixtures.py."""

pytest_plugins = ["tests._servers.fixtures", "tests._upstream.fixtures"]
