"""Test-wide settings. Engine fixtures live in tests/_servers/fixtures.py."""
